"""The database: declarative base, engines and sessions. Nothing connects at import.

The URL comes from `SWARM_DATABASE_URL`; without it an SQLite file in `instance/swarm.sqlite3`
under the current directory. SQLite connections get foreign keys, WAL and a busy timeout, and
every transaction starts with BEGIN IMMEDIATE so concurrent writers queue instead of deadlocking.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

ENV_URL = "SWARM_DATABASE_URL"
DEFAULT_PATH = Path("instance") / "swarm.sqlite3"

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def database_url() -> str:
    """SWARM_DATABASE_URL, else an SQLite file in ./instance (the folder is created)."""
    url = os.environ.get(ENV_URL, "").strip()
    if url:
        return url
    DEFAULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_PATH.resolve()}"


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    url = url or database_url()
    if url.startswith("sqlite"):
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("timeout", 60)          # pysqlite's busy timeout, seconds
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _sqlite_hooks(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_hooks(engine: Engine) -> None:
    """The pysqlite recipe from SQLAlchemy's docs: own the BEGIN, make it IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None          # pysqlite emits no BEGIN of its own
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
