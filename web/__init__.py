"""The Flask front end of Swarm Market: funders pledge, actors bid, analysts clear.

    create_app(config: Mapping | None = None) -> Flask

Config keys (all optional): DATABASE_URL (default: `market.db.database_url()`, i.e. SWARM_DATABASE_URL or
instance/swarm.sqlite3 under the current folder), SECRET_KEY (default: SWARM_SECRET_KEY, else a random key
kept in instance/secret_key), INSTANCE_PATH, and any Flask / Flask-WTF setting (WTF_CSRF_ENABLED...).
Session cookies are HttpOnly and SameSite=Lax; behind HTTPS set SWARM_SECURE_COOKIES=1 to mark them Secure
(and send HSTS). Every response carries the security headers of `web.headers` (CSP with a per-request script
nonce, no framing, nosniff, referrer policy; no-store on the pages that show secrets). `web.limits` limits
logins, sign-ups, solves, clearings and new API tokens (config SWARM_LIMIT_*, RATELIMIT_*; storage in memory,
or Redis with SWARM_RATELIMIT_STORAGE_URL when several workers serve).
A login lasts while it is used (SESSION_IDLE_TIMEOUT, default 2 h without a request) and at most
SESSION_LIFETIME (12 h); both are `datetime.timedelta`s (web.auth). Password-reset links are mailed through
MAIL_SERVER (with MAIL_PORT, MAIL_SENDER, MAIL_USERNAME, MAIL_PASSWORD, MAIL_USE_TLS; the SWARM_MAIL_* variables
set them) and, with no MAIL_SERVER, written to the server log for the admin to pass on (web.account). With a
MAIL_SERVER a new self-service account confirms its email by a mailed link before its first login (web.auth).
Nothing connects at import or in `create_app`; the first request checks the database, and a brand-new
SQLite file is migrated then (the same rule as the command line: `market.migrate.prepare`).

Blueprints: `auth` (sign up, log in, log out), `account` (change the password; forgotten passwords),
`challenges` (rounds, challenges, gap signals, outcomes, results with the Sankey of money), `pledges` (funders),
`bids` (actors), `analyst` (challenges, rounds, clearing jobs and runs, downloads), `tokens` (personal API tokens);
and the JSON API under /api/v1 (`web.api`, token-authenticated, CSRF-exempt, its own JSON errors). Views parse
a form, call a `market.services` function inside `with sessions.begin() as session:` and render; `web.errors`
maps `market.errors` to 400/403/404/409 (503: the job queue cannot be reached).

Operations: `GET /healthz` and `GET /readyz` for a load balancer (web.health); a request id on every log
line and one access line per request, text or JSON (web.logs); SWARM_PROXY_COUNT=N (config PROXY_COUNT)
trusts N proxies' X-Forwarded-For/-Proto/-Host (werkzeug's ProxyFix; off by default).

Development: `swarm serve [--port 5000] [--host 127.0.0.1]` (werkzeug's server; on a database without
rounds it imports fixtures/water-sdg6.json as an open demo round once). Production (docs/deploy.md):
PostgreSQL, Redis, `swarm worker`s, and on each web node

    gunicorn -c deploy/gunicorn.conf.py

(`pip install -e '.[production]'` brings gunicorn; put it behind a TLS-terminating proxy.)
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from market.db import database_url

from .extensions import csrf, login_manager


MAIL_SETTINGS = ("MAIL_SERVER", "MAIL_PORT", "MAIL_SENDER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_USE_TLS")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    config = dict(config or {})
    instance = Path(config.get("INSTANCE_PATH") or Path.cwd() / "instance").resolve()
    app = Flask(__name__, instance_path=str(instance), instance_relative_config=True)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
        SESSION_COOKIE_SECURE=os.environ.get("SWARM_SECURE_COOKIES", "") == "1",
        REMEMBER_COOKIE_SECURE=os.environ.get("SWARM_SECURE_COOKIES", "") == "1",
        SESSION_IDLE_TIMEOUT=timedelta(hours=2),
        SESSION_LIFETIME=timedelta(hours=12),
        # Where clearing jobs run (web.queue): "thread", "inline" or a redis:// URL for `swarm worker`s.
        JOB_QUEUE=os.environ.get("SWARM_QUEUE_URL", "").strip() or "thread",
        # Trust X-Forwarded-For/-Proto/-Host from this many proxies in front (werkzeug's ProxyFix); 0: off.
        PROXY_COUNT=_proxy_count(os.environ.get("SWARM_PROXY_COUNT", "")),
    )
    app.config.update({key: os.environ[f"SWARM_{key}"] for key in MAIL_SETTINGS if os.environ.get(f"SWARM_{key}")})
    app.config.update(config)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = database_url()
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get("SWARM_SECRET_KEY", "").strip() or _instance_secret(instance)

    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    from . import db, headers, health, logs, queue
    logs.init_app(app)          # first: the request id and the clock of the access line
    headers.init_app(app)       # next: its nonce is made before any other hook may refuse the request
    db.init_app(app)
    queue.init_app(app)
    from . import evidence
    evidence.raise_upload_limits(app)
    csrf.init_app(app)
    login_manager.init_app(app)

    from . import (account, analyst, auth, bids, challenges, errors, failures, filters, inbox, milestones,
                   pledges, statements, tenders)
    filters.init_app(app)
    errors.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(challenges.bp)
    app.register_blueprint(pledges.bp)
    app.register_blueprint(bids.bp)
    app.register_blueprint(analyst.bp)
    app.register_blueprint(milestones.bp)
    app.register_blueprint(statements.bp)
    app.register_blueprint(failures.bp)
    app.register_blueprint(tenders.bp)
    inbox.init_app(app)
    evidence.init_app(app)
    from . import api, tokens   # the JSON API (token auth, CSRF-exempt) and the page that makes its tokens
    app.register_blueprint(tokens.bp)
    api.init_app(app)
    from . import limits        # wraps views of the blueprints above: after them
    limits.init_app(app)
    return app


def _proxy_count(setting: str) -> int:
    if not setting.strip():
        return 0
    if not setting.strip().isdigit():
        raise ValueError(f"SWARM_PROXY_COUNT={setting!r}: the number of proxies in front that set X-Forwarded-*, "
                         "e.g. 1 (0: none)")
    return int(setting)


def _instance_secret(instance: Path) -> str:
    """A random key made once and kept in the instance folder, so sessions survive restarts."""
    path = instance / "secret_key"
    try:
        return path.read_text(encoding="utf-8").strip() or _new_secret(path)
    except FileNotFoundError:
        return _new_secret(path)


def _new_secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key
