"""`swarm doctor` (web/doctor.py): each check of a deployment's environment says OK, WARN or FAIL with
what to do, no password is ever printed, and the command exits 1 on any FAIL."""
from __future__ import annotations

import os
import uuid

import pytest
import redis
from click.testing import CliRunner

from market import migrate
from market.db import make_engine
from web import doctor
from web.cli import main

KEY = "k" * 40
REDIS = os.environ.get("SWARM_TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
UNREACHABLE_PG = "postgresql+psycopg://swarm:pg-secret@127.0.0.1:1/nowhere"


@pytest.fixture
def migrated(tmp_path):
    url = f"sqlite:///{tmp_path / 'swarm.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def redis_url():
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS}: {exc}")
    return REDIS


def levels(found):
    return [(c.name, c.level.value) for c in found]


def by_name(found, name):
    return [c for c in found if c.name == name]


def test_a_production_environment_passes(migrated, redis_url):
    from rq import Worker

    from market.queue import QUEUE_NAME
    connection = redis.Redis.from_url(redis_url)
    worker = Worker([QUEUE_NAME], connection=connection, name=f"doctor-test-{uuid.uuid4().hex[:8]}")
    worker.register_birth()
    try:
        found = doctor.checks({"SWARM_DATABASE_URL": migrated, "SWARM_SECRET_KEY": KEY, "SWARM_SECURE_COOKIES": "1",
                               "SWARM_QUEUE_URL": redis_url, "SWARM_RATELIMIT_STORAGE_URL": redis_url,
                               "SWARM_MAIL_SERVER": "smtp.example.org", "SWARM_MAIL_PORT": "587"})
    finally:
        worker.register_death()
    assert levels(found) == [("database", "WARN"), ("database", "OK"), ("secret key", "OK"), ("cookies", "OK"),
                             ("queue", "OK"), ("workers", "OK"), ("rate limits", "OK"), ("mail", "OK"),
                             ("solvers", "OK"), ("solvers", "OK")]
    assert by_name(found, "database")[0].detail.startswith("SQLite (sqlite:///")
    assert by_name(found, "database")[1].detail.startswith(f"reachable, at migration {migrate.head()}")
    assert "1 `swarm worker` process registered" in by_name(found, "workers")[0].detail


def test_an_empty_environment_says_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    found = doctor.checks({})
    assert levels(found)[:6] == [("database", "WARN"), ("secret key", "FAIL"), ("cookies", "FAIL"), ("queue", "WARN"),
                                 ("rate limits", "WARN"), ("mail", "WARN")]
    assert "instance folder" in by_name(found, "secret key")[0].detail
    assert "worker thread in each web process" in by_name(found, "queue")[0].detail


def test_faults_are_failures_and_hide_passwords(migrated):
    found = doctor.checks({"SWARM_DATABASE_URL": UNREACHABLE_PG, "SWARM_SECRET_KEY": "short",
                           "SWARM_SECURE_COOKIES": "yes", "SWARM_QUEUE_URL": "redis://:redis-secret@127.0.0.1:1/0"})
    named = {c.name: c for c in found}
    assert named["database"].level == "FAIL" and named["database"].detail.startswith("unreachable (OperationalError)")
    assert "swarm:***@127.0.0.1:1/nowhere" in named["database"].detail
    assert named["secret key"].level == "FAIL" and "has 5 characters: use at least 32" in named["secret key"].detail
    assert named["queue"].level == "FAIL" and named["queue"].detail.startswith("Redis unreachable (ConnectionError)")
    assert "workers" not in named
    assert named["rate limits"].level == "FAIL", "a Redis queue means several processes: memory:// limits are per process"
    text = "\n".join(c.detail for c in found)
    assert "pg-secret" not in text and "redis-secret" not in text


def test_a_database_behind_the_code_fails(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine, "0004")
    engine.dispose()
    [_, check] = doctor.database(url)
    assert check.level == "FAIL" and check.detail.startswith(f"at migration 0004, not {migrate.head()}: run `swarm db upgrade`")


def test_no_worker_registered_is_a_warning(redis_url):
    [reached, workers] = doctor.queue(redis_url)
    assert reached.level == "OK"
    assert workers.level in ("WARN", "OK")      # the shared Redis may have a colleague's worker on this DB
    if workers.level == "WARN":
        assert workers.detail == "no `swarm worker` is registered: queued clearings wait for one"


def test_missing_solvers(monkeypatch):
    monkeypatch.setattr(doctor.backends, "available", lambda backend: False)
    assert levels(doctor.solvers()) == [("solvers", "FAIL"), ("solvers", "WARN")]


@pytest.mark.parametrize("secure, code", [("1", 0), ("", 1)])
def test_the_command_prints_a_line_per_check_and_exits_1_on_a_failure(migrated, monkeypatch, secure, code):
    for name in ("SWARM_QUEUE_URL", "SWARM_RATELIMIT_STORAGE_URL", "SWARM_MAIL_SERVER"):
        monkeypatch.delenv(name, raising=False)
    env = {"SWARM_DATABASE_URL": migrated, "SWARM_SECRET_KEY": KEY, "SWARM_SECURE_COOKIES": secure}
    result = CliRunner().invoke(main, ["doctor"], env=env)
    assert result.exit_code == code, result.output
    lines = result.output.splitlines()
    assert len(lines) == 9 and all(line.split()[0] in ("OK", "WARN", "FAIL") for line in lines)
    assert any(line.startswith("OK    secret key   SWARM_SECRET_KEY set (40 characters)") for line in lines)
