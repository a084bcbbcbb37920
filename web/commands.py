"""The web layer's commands of `swarm`: the web app and its accounts (web/cli.py assembles the program).

    swarm serve [--port 5000] [--host 127.0.0.1]
    swarm user create --email E --name N --role funder|actor|verifier|analyst|admin [--password P]   (else prompted)
    swarm user reset-password --email E [--base-url URL]    (prints a one-time reset link)
    swarm token create --email E [--name N] | token list --email E | token revoke ID
    swarm doctor                    (a deployment's configuration checked: web/doctor.py)

`serve` runs the web app on werkzeug's development server. On a database with no rounds at all it first
imports the repository's fixtures/water-sdg6.json as an open demo round and creates a demo analyst account
whose password it prints once; a database that has any round is left as it is.
"""
from __future__ import annotations

import secrets
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import generate_password_hash

from market import services
from market.cli import database_or_exit, engine_or_exit
from market.db import make_sessionmaker
from market.errors import MarketDomainError
from market.models import Role, Round
from solver.cli_common import EXIT_INVALID, fail
from solver.loading import MarketError, load_market

import web

DEMO_MARKET = Path(web.__file__).resolve().parents[1] / "fixtures" / "water-sdg6.json"
DEMO_ANALYST = "analyst@demo.swarm"


def seed_demo(sessions: sessionmaker[Session], market_file: Path = DEMO_MARKET) -> tuple[int, str] | None:
    """On a database without rounds: the demo round and a demo analyst (round id, password); else None."""
    with sessions.begin() as session:
        if session.execute(select(Round.id).limit(1)).first() is not None:
            return None
        market = load_market(str(market_file))
        round_id = services.import_market(session, None, market).id
        password = None
        if services.user_by_email(session, DEMO_ANALYST) is None:
            password = secrets.token_urlsafe(12)
            services.create_user(session, None, DEMO_ANALYST, "Demo analyst", Role.ANALYST.value,
                                 generate_password_hash(password))
        return round_id, password or ""


@click.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=5000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              envvar="SWARM_LOG_FORMAT", help="Request log lines as text or JSON (env SWARM_LOG_FORMAT).")
def serve(port: int, host: str, log_format: str) -> None:
    """Run the web app (development server; production: gunicorn -c deploy/gunicorn.conf.py, docs/deploy.md)."""
    import logging

    from werkzeug.serving import run_simple

    from web import create_app
    from web.logs import configure, hide_reset_tokens

    configure(log_format)
    hide_reset_tokens(logging.getLogger("werkzeug"))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)     # the app's own access line replaces werkzeug's

    with engine_or_exit() as (engine, url):
        seeded = None
        if DEMO_MARKET.exists():
            try:
                seeded = seed_demo(make_sessionmaker(engine))
            except (MarketError, MarketDomainError) as exc:
                click.echo(f"warning: the demo round was not imported: {exc}", err=True)
    if seeded is not None:
        round_id, password = seeded
        click.echo(f"Imported {DEMO_MARKET.name} as the open demo round {round_id}.")
        if password:
            click.echo(f"Demo analyst: {DEMO_ANALYST} / {password}  (shown once; more accounts: "
                       "swarm user create --role analyst ...)")
    click.echo(f"Swarm Market on http://{host}:{port}/ : sign up as a funder or an actor; "
               "analysts log in with an account made by `swarm user create --role analyst`.")
    app = create_app({"DATABASE_URL": url})
    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.command("doctor")
def doctor() -> None:
    """Check this deployment's configuration (its environment): one line per check; exit 1 on a FAIL."""
    from web.doctor import checks
    found = checks()
    for check in found:
        click.echo(f"{check.level.value:<4}  {check.name:<11}  {check.detail}")
    if not all(check.ok for check in found):
        raise SystemExit(1)


@click.group("user")
def user() -> None:
    """User accounts."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when not given.")
def user_create(email: str, name: str, role: str, password: str) -> None:
    """Create an account (any role: analysts and admins are made only here)."""
    weak = services.passwords.weakness(password, email, name)
    if weak:
        fail(f"password: {weak}", EXIT_INVALID)
    with database_or_exit() as sessions, sessions.begin() as session:
        created = services.create_user(session, None, email, name, role, generate_password_hash(password))
        line = f"created {created.role} {created.email} (user {created.id})"
    click.echo(line)


@user.command("reset-password")
@click.option("--email", required=True)
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True,
              help="Where the web app is reached, for the link.")
def user_reset_password(email: str, base_url: str) -> None:
    """Print a one-time link that sets a new password for the account (for an admin to pass on)."""
    with database_or_exit() as sessions, sessions.begin() as session:
        found = services.request_password_reset(session, email, "cli")
        if found is None:
            raise click.ClickException(f"no account {email!r}")
        hours = services.credentials.RESET_LIFETIME.total_seconds() / 3600
        line = f"{base_url.rstrip('/')}/reset/{found[1]}"
    click.echo(f"password reset link for {email} (works once, for {hours:g} h):", err=True)
    click.echo(line)


@click.group("token")
def token() -> None:
    """Personal API tokens (only their sha256 is stored; a new token is printed once)."""


def _user_id(session: Session, email: str) -> int:
    found = services.user_by_email(session, email)
    if found is None:
        raise click.ClickException(f"no account {email!r}")
    return found.id


@token.command("create")
@click.option("--email", required=True, help="The account the token acts as.")
@click.option("--name", default="", help="What the token is for.")
def token_create(email: str, name: str) -> None:
    """Make a token; the last line printed is the token itself."""
    with database_or_exit() as sessions, sessions.begin() as session:
        row, secret = services.create_token(session, None, _user_id(session, email), name)
        line = f"created API token {row.id} ({row.prefix}...) for {email}; it is shown only now:"
    click.echo(line, err=True)
    click.echo(secret)


@token.command("list")
@click.option("--email", required=True)
def token_list(email: str) -> None:
    """An account's tokens: id, prefix, name, created, last used, revoked."""
    with database_or_exit() as sessions, sessions.begin() as session:
        lines = [f"{t.id}\t{t.prefix}...\t{t.name or '-'}\tcreated {t.created_at:%Y-%m-%d %H:%M}\t"
                 f"{'used ' + format(t.last_used_at, '%Y-%m-%d %H:%M') if t.last_used_at else 'never used'}\t"
                 f"{'revoked' if t.revoked_at else 'active'}"
                 for t in services.list_tokens(session, None, _user_id(session, email))]
    click.echo("\n".join(lines) if lines else f"{email} has no API tokens")


@token.command("revoke")
@click.argument("token_id", type=click.IntRange(1, 2**63 - 1))
def token_revoke(token_id: int) -> None:
    """Revoke a token by its id (see `swarm token list`)."""
    with database_or_exit() as sessions, sessions.begin() as session:
        row = services.revoke_token(session, None, token_id)
        line = f"revoked API token {row.id} ({row.prefix}...)"
    click.echo(line)
