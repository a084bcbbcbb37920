"""A migrated PostgreSQL schema of its own for a test or a test worker, on SWARM_TEST_DATABASE_URL.

`migrated_schema(prefix)` creates the schema, migrates it, yields a URL whose search_path points at it,
and drops it afterwards; without the variable, or with the server unreachable, the test is skipped
with the reason.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from market import migrate
from market.db import make_engine

PG_ENV = "SWARM_TEST_DATABASE_URL"


@contextmanager
def migrated_schema(prefix: str) -> Iterator[str]:
    base = os.environ.get(PG_ENV, "").strip()
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # unreachable, refused, no such database
        admin.dispose()
        pytest.skip(f"PostgreSQL at {make_url(base).render_as_string(hide_password=True)} is unreachable: "
                    f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
