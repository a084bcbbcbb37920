"""Database fixtures: every `db` test runs on SQLite and on PostgreSQL.

SQLite: a temporary file per test (threads share it), copied from one migrated template per worker.
PostgreSQL: SWARM_TEST_DATABASE_URL (CI: the local server), one schema per xdist worker, migrated
once and emptied before each test; skipped, with the reason, when the URL is unset or unreachable.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from market import migrate
from market.db import make_engine, make_sessionmaker
from market.models import User
from tests.ledger_guard import assert_ledgers_whole
from tests.pg import migrated_schema



@dataclass
class Database:
    kind: str
    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    def user(self, email: str, role: str, name: str | None = None) -> User:
        with self.sessions.begin() as session:
            user = User(email=email, name=name or email.split("@")[0], role=role)
            session.add(user)
        return user


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "swarm.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()                 # the last connection closing checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def pg_url(worker_id: str) -> str:
    """A migrated schema of its own for this xdist worker, dropped at the end."""
    with migrated_schema(f"swarm_test_{worker_id}") as url:
        yield url


def _empty_pg(engine: Engine) -> None:
    """Between tests only: the schema's owner lifts the audit log's append-only trigger for the TRUNCATE."""
    with engine.begin() as connection:
        tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
        if tables:
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate"))
            connection.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
            connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        path = tmp_path / "swarm.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
    else:
        url = request.getfixturevalue("pg_url")
        engine = make_engine(url, pool_size=10, max_overflow=10)
        _empty_pg(engine)
    database = Database(request.param, url, engine, make_sessionmaker(engine))
    yield database
    try:
        assert_ledgers_whole(request, database.sessions)
    finally:
        engine.dispose()


