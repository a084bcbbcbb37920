"""The market's commands of `swarm`: the database and rounds (web/cli.py assembles the program).

    swarm db upgrade | db current
    swarm import MARKET            -> the new round's id as the last line
    swarm export ROUND [-o FILE]
    swarm rounds
    (clear, jobs, job, worker: market/cli_jobs.py)

The database is SWARM_DATABASE_URL, else instance/swarm.sqlite3 here. A brand-new, empty SQLite
database is set up on first use; any other database that is not at the latest migration is refused
with "run `swarm db upgrade`". Exit codes: 0 done, 2 invalid input or unknown round, 1 other failures.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from solver.cli_common import EXIT_FAILED, EXIT_INVALID, fail, load_or_exit, write_output
from solver.money import format_money_grouped

from . import migrate, services
from .db import database_url, make_engine, make_sessionmaker
from .errors import ClearingFailed, Conflict, MarketDomainError
from .models import Bid, Pledge


def _first_line(error: BaseException | None) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def _engine() -> Iterator[tuple[Engine, str]]:
    """The database's engine (disposed after) and URL, whatever its revision; exit 1 if the URL is unusable."""
    url = database_url()
    try:
        engine = make_engine(url)
    except Exception as exc:  # a malformed URL, a missing driver
        fail(f"cannot use the database {url!r}: {exc}")
    try:
        yield engine, url
    finally:
        engine.dispose()


@contextmanager
def _reachable_engine() -> Iterator[tuple[Engine, str]]:
    """As `_engine`, for the db commands: a database that cannot be reached is one line and exit 1."""
    with _engine() as (engine, url):
        try:
            yield engine, url
        except OperationalError as exc:
            fail(f"cannot reach the database at {_shown(url)}: {_first_line(exc.orig)}")


@contextmanager
def engine_or_exit() -> Iterator[tuple[Engine, str]]:
    """The database's engine (disposed after) and URL, at the latest migration: a brand-new, empty SQLite
    database is set up first; any other not at the latest migration is refused (exit 2; 1 if unreachable)."""
    with _engine() as (engine, url):
        try:
            if migrate.prepare(engine, url):       # the rule the web app shares
                click.echo(f"set up a new database at {_shown(url)}", err=True)
        except migrate.NotReady as exc:
            fail(str(exc), EXIT_FAILED if exc.unreachable else EXIT_INVALID)
        yield engine, url


@contextmanager
def database_or_exit() -> Iterator[sessionmaker[Session]]:
    """Sessions on a database at the latest migration; domain errors become one-line messages."""
    with engine_or_exit() as (engine, _):
        try:
            yield make_sessionmaker(engine)
        except (ClearingFailed, Conflict) as exc:
            fail(str(exc))
        except MarketDomainError as exc:
            fail(str(exc), EXIT_INVALID)


@click.group()
def db() -> None:
    """The database: SWARM_DATABASE_URL, else instance/swarm.sqlite3 here."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply the migrations (to the latest by default)."""
    with _reachable_engine() as (engine, url):
        migrate.upgrade(engine, revision)
        click.echo(f"database {_shown(url)} is at revision {migrate.current(engine)}")


@db.command("current")
def db_current() -> None:
    """Show the database's revision and the latest one."""
    with _reachable_engine() as (engine, url):
        current = migrate.current(engine)
    head = migrate.head()
    note = "up to date" if current == head else "run `swarm db upgrade`"
    click.echo(f"database {_shown(url)}: revision {current or '(none)'}, latest {head} ({note})")


@click.command("import")
@click.argument("market_file", metavar="MARKET")
def import_(market_file: str) -> None:
    """Create an open round from a market file; the last line printed is the new round's id."""
    market = load_or_exit(market_file)
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            rnd = services.import_market(session, None, market)
            round_id = rnd.id
    pledged = sum(p.amount for p in market.pledges)
    click.echo(f"imported {market_file} as round {round_id} \"{market.name}\" (open): {len(market.challenges)} "
               f"challenges, {len(market.pledges)} pledges ({format_money_grouped(pledged)} {market.currency}), "
               f"{len(market.bids)} bids")
    click.echo(str(round_id))


@click.command("export")
@click.argument("round_id", metavar="ROUND", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write (default: standard output).")
def export(round_id: int, output: str | None) -> None:
    """Write a round as a market file (swarm-market/1, or 1.1 when a pledge or bid uses a 1.1 key)."""
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            document = services.export_round(session, None, round_id)
    if write_output("-" if output is None else output, json.dumps(document, indent=2, ensure_ascii=False) + "\n"):
        click.echo(f"round {round_id} written to {output}")


@click.command("rounds")
def rounds() -> None:
    """List the rounds: id, status, pledges, bids, name."""
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            pledges = dict(session.execute(select(Pledge.round_id, func.count()).where(Pledge.withdrawn.is_(False))
                                           .group_by(Pledge.round_id)).all())
            bids = dict(session.execute(select(Bid.round_id, func.count()).where(Bid.withdrawn.is_(False))
                                        .group_by(Bid.round_id)).all())
            for rnd in services.list_rounds(session):
                click.echo(f"{rnd.id:>5}  {rnd.status:<8} {pledges.get(rnd.id, 0):>5} pledges {bids.get(rnd.id, 0):>5} "
                           f"bids  {rnd.name}")


if __name__ == "__main__":
    # `python -m market.cli` ran `swarm` before web/cli.py assembled it: refuse it loudly rather than exit 0
    # having done nothing.
    sys.exit("market/cli.py only defines commands; run them through `swarm` (python -m web.cli)")
