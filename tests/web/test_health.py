"""/healthz and /readyz: no login, no limit, no database for liveness; readiness says what is wrong (the
database unreachable or behind, the queue's Redis away) with 503, and never a URL or a password."""
from __future__ import annotations

import os

import pytest
import redis

from market import migrate
from market.db import make_engine
from tests.web_fixtures import make_app
from web import db as web_db

UNREACHABLE_PG = "postgresql+psycopg://swarm:pg-secret@127.0.0.1:1/nowhere"
UNREACHABLE_REDIS = "redis://:redis-secret@127.0.0.1:1/0"
REDIS = os.environ.get("SWARM_TEST_REDIS_URL", "redis://127.0.0.1:6379/3")


def no_secrets(body: bytes) -> None:
    for secret in (b"pg-secret", b"redis-secret", b"postgresql", b"redis://", b"127.0.0.1"):
        assert secret not in body, body


def test_healthz_answers_without_a_database(tmp_path, web_template):
    app = make_app(tmp_path, web_template, DATABASE_URL=UNREACHABLE_PG)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in response.headers
    assert app.extensions["swarm_db"]["sessions"] is None, "the liveness probe touched the database"


def test_ready_on_a_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.data
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": {"ok": True, "detail": f"reachable, at migration {migrate.head()}"}}


def test_not_ready_when_the_database_is_unreachable(tmp_path, web_template):
    app = make_app(tmp_path, web_template, DATABASE_URL=UNREACHABLE_PG)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "not ready", "checks": {"database": {"ok": False, "detail": "unreachable"}}}
    no_secrets(response.data)


def test_not_ready_when_the_database_is_behind(tmp_path, web_template):
    path = tmp_path / "old.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine, "0004")
    engine.dispose()
    app = make_app(tmp_path, web_template, DATABASE_URL=f"sqlite:///{path}")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == {
        "ok": False, "detail": "not at the latest migration: run `swarm db upgrade`"}
    no_secrets(response.data)


def test_not_ready_when_a_migration_was_undone_after_start(app):
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    migrate_down = web_db.engine(app)
    from alembic import command
    with migrate_down.begin() as connection:
        command.downgrade(migrate.alembic_config(connection=connection), "0004")
    body = client.get("/readyz").get_json()
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["detail"] == f"at migration 0004, not {migrate.head()}: run `swarm db upgrade`"


def test_not_ready_when_the_queues_redis_is_away(tmp_path, web_template):
    app = make_app(tmp_path, web_template, JOB_QUEUE=UNREACHABLE_REDIS)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"]["ok"] is True
    assert checks["queue"] == {"ok": False, "detail": "Redis unreachable (ConnectionError): clearings cannot be queued"}
    no_secrets(response.data)


def test_ready_with_the_queues_redis(tmp_path, web_template):
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS}: {exc}")
    app = make_app(tmp_path, web_template, JOB_QUEUE=REDIS)
    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.data
    assert response.get_json()["checks"]["queue"] == {"ok": True, "detail": "Redis answers"}


def test_probes_are_not_rate_limited(tmp_path, web_template):
    app = make_app(tmp_path, web_template, RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2 per minute")
    client = app.test_client()
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
    assert [client.get("/").status_code for _ in range(3)][-1] == 429, "the default limit did not apply at all"
