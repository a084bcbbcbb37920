"""Migrations from code: `swarm db upgrade` works from an installed package, no alembic.ini."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection=connection), revision)


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_empty(engine: Engine) -> bool:
    """No tables at all: a brand-new database."""
    with engine.connect() as connection:
        return not inspect(connection).get_table_names()


class NotReady(Exception):
    """The database is unreachable (`unreachable`), or not at the latest migration and not a brand-new
    SQLite file."""

    def __init__(self, message: str, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


def prepare(engine: Engine, url: str) -> bool:
    """Make sure the database is usable: a brand-new, empty SQLite database is migrated (returns True);
    one at the latest revision is left alone (False); anything else raises NotReady with what to do."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    shown = make_url(url).render_as_string(hide_password=True)
    try:
        revision = current(engine)
        if revision is None and url.startswith("sqlite") and is_empty(engine):
            upgrade(engine)
            return True
    except OperationalError as exc:
        lines = str(exc.orig).strip().splitlines()
        first = lines[0] if lines else type(exc.orig).__name__
        raise NotReady(f"cannot reach the database at {shown}: {first}", unreachable=True) from None
    if revision != head():
        state = "is not set up" if revision is None else f"is at revision {revision}, not {head()}"
        raise NotReady(f"the database at {shown} {state}: run `swarm db upgrade`")
    return False
