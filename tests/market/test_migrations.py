"""Migrations: from an empty database they build exactly the models' schema, on both databases."""
from __future__ import annotations

import sqlite3

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from market import migrate
from market.db import Base, make_engine


def diff(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_upgraded_database_matches_the_models(db):
    assert migrate.current(db.engine) == migrate.head()
    assert diff(db.engine) == []
    tables = set(inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) | {"alembic_version"} == tables


def test_upgrade_from_empty_down_and_up_again(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    assert migrate.is_empty(engine) and migrate.current(engine) is None
    migrate.upgrade(engine)
    assert diff(engine) == [] and migrate.current(engine) == migrate.head()
    with engine.begin() as connection:
        command.downgrade(migrate.alembic_config(connection=connection), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    migrate.upgrade(engine)
    assert diff(engine) == []
    engine.dispose()


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(db):
    if db.kind != "sqlite":
        return
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_prepare_migrates_only_a_new_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    engine = make_engine(url)
    assert migrate.prepare(engine, url) is True
    assert migrate.prepare(engine, url) is False
    engine.dispose()
    path = tmp_path / "other.sqlite3"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    engine = make_engine(f"sqlite:///{path}")
    with pytest.raises(migrate.NotReady, match="is not set up: run `swarm db upgrade`"):
        migrate.prepare(engine, f"sqlite:///{path}")
    engine.dispose()


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET who = 'someone else'", "DELETE FROM audit_log"])
def test_the_database_refuses_to_change_or_delete_audit_rows(db, statement):
    """Enforced by the database itself (a trigger), not only by the ORM's before_flush guard."""
    from sqlalchemy import text
    with db.engine.begin() as connection:
        connection.execute(text("INSERT INTO audit_log (at, who, action, entity, details) "
                                "VALUES (CURRENT_TIMESTAMP, 'x', 'create', 'round', '{}')"))
    with pytest.raises(Exception, match="append-only"):
        with db.engine.begin() as connection:
            connection.execute(text(statement))
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT who FROM audit_log")).scalars().all() == ["x"]


def test_the_database_refuses_to_truncate_the_audit_log_on_postgresql(db):
    if db.kind != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    from sqlalchemy import text
    with pytest.raises(Exception, match="append-only"):
        with db.engine.begin() as connection:
            connection.execute(text("TRUNCATE audit_log"))


def test_upgrading_to_email_confirmation_keeps_every_existing_account_able_to_log_in(db):
    """0004 adds users.confirmed_at: the accounts already there are confirmed as of their creation."""
    from sqlalchemy import text
    with db.engine.begin() as connection:
        command.downgrade(migrate.alembic_config(connection=connection), "0003")
        connection.execute(text("INSERT INTO users (email, name, role, created_at) "
                                "VALUES ('old@example.org', 'Old', 'funder', '2026-01-02 03:04:05+00:00')"))
    migrate.upgrade(db.engine)
    with db.engine.connect() as connection:
        [(created, confirmed)] = connection.execute(text("SELECT created_at, confirmed_at FROM users")).all()
    assert confirmed is not None and confirmed == created
    assert diff(db.engine) == []


def test_upgrading_to_verification_keeps_every_row_of_the_tables_whose_checks_it_widens(db):
    """0010 widens CHECK constraints of users, ledger_entries and milestones: on SQLite by rewriting the
    schema (market/migrations/checks.py), not by copying the tables, which would cascade or be refused."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from market import services

    from .test_ledger import cleared_round
    round_id, analyst, _, _ = cleared_round(db)
    with db.sessions.begin() as session:
        services.commit_run(session, analyst, round_id)
    tables = ("users", "ledger_entries", "ledger_transactions", "milestones", "milestone_funding", "audit_log")

    def counts():
        with db.engine.connect() as connection:
            return {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in tables}

    before = counts()
    assert all(before.values())
    with db.engine.begin() as connection:
        command.downgrade(migrate.alembic_config(connection=connection), "0009")
    assert counts() == before
    migrate.upgrade(db.engine)
    assert counts() == before and diff(db.engine) == []
    with db.sessions.begin() as session:
        assert services.check_ledger(session, round_id) == []
    db.user("vera@example.org", "verifier")
    with pytest.raises(IntegrityError, match="ck_users_role"):
        db.user("eve@example.org", "superuser")
    if db.kind == "sqlite":
        with db.engine.connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalars().all() == ["ok"]
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
