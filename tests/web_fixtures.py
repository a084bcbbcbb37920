"""Web fixtures, loaded as a pytest plugin by tests/conftest.py for the web and API tests: an app on a
fresh SQLite file per test (copied from one migrated template), a client, accounts and logging in.
CSRF and the rate limits are off here except where a test turns them on to see them refuse. Tests import
the helpers from here (make_app, app_on, Accounts, import_doc, and `run` for the `swarm` command); never a
conftest."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from market import migrate, services
from market.db import make_engine
from tests.ledger_guard import assert_ledgers_whole
from tests.pg import migrated_schema
from tests.small_market import draft_doc, import_market, market_doc
from web import create_app
from web import db as web_db
from web import queue as web_queue

PASSWORD = "correct horse"


@pytest.fixture(scope="session")
def web_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("web-template") / "swarm.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


def make_app(tmp_path: Path, template: Path, **config: Any) -> Flask:
    path = tmp_path / "swarm.sqlite3"
    if not path.exists():
        shutil.copyfile(template, path)
    settings = {"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "test", "TESTING": True,
                "WTF_CSRF_ENABLED": False, "INSTANCE_PATH": str(tmp_path / "instance"),
                "RATELIMIT_ENABLED": False,     # the limits' own tests (tests/web/test_limits.py) turn them on
                "JOB_QUEUE": "inline"}          # clearing jobs run in the request; tests/web/test_jobs.py: a thread
    settings.update(config)
    return create_app(settings)


@pytest.fixture
def app(request: pytest.FixtureRequest, tmp_path: Path, web_template: Path) -> Iterator[Flask]:
    application = make_app(tmp_path, web_template)
    yield application
    try:
        web_queue.stop(application)
        assert_ledgers_whole(request, web_db.sessions(application))
    finally:
        web_db.dispose(application)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Accounts:
    def __init__(self, app: Flask) -> None:
        self.app = app

    def create(self, email: str, role: str, name: str | None = None) -> int:
        with web_db.sessions(self.app).begin() as session:
            user = services.create_user(session, None, email, name or email.split("@")[0].title(), role,
                                        generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"))  # fast in tests
            return user.id

    def login(self, client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
        return client.post("/login", data={"email": email, "password": password})

    def logged_in(self, email: str) -> FlaskClient:
        """A new client logged in as an existing account."""
        c = self.app.test_client()
        self.login(c, email)
        return c

    def client_for(self, email: str, role: str) -> FlaskClient:
        """A new client logged in as a new account."""
        self.create(email, role)
        c = self.app.test_client()
        response = self.login(c, email)
        assert response.status_code == 302, response.data
        return c


@pytest.fixture
def accounts(app: Flask) -> Accounts:
    return Accounts(app)


def import_doc(app: Flask, doc: dict[str, Any] | None = None) -> int:
    return import_market(web_db.sessions(app), doc)


@pytest.fixture
def empty_round(app: Flask) -> int:
    """An open round with the small market's challenges and nobody in it yet."""
    return import_market(web_db.sessions(app), draft_doc())


def cleared(app: Flask, doc: dict[str, Any] | None = None) -> int:
    """A round of the small market (or `doc`), imported, closed and cleared."""
    round_id = import_doc(app, doc or market_doc())
    with web_db.sessions(app).begin() as session:
        services.close_round(session, None, round_id)
    services.clear_round(web_db.sessions(app), None, round_id)
    return round_id


def committed(app: Flask, accounts: Accounts) -> tuple[int, FlaskClient, int]:
    """The small market cleared and committed, with accounts f1, f2 (funders), a1, a2 (actors) linked to its
    participants, verifiers vera and other, and an analyst ana (its client is returned); and the id of a1's
    first delivery milestone."""
    from sqlalchemy import select

    from market.models import Milestone, RoundActor
    round_id = cleared(app)
    users = {key: accounts.create(f"{key}@example.org", role)
             for key, role in (("f1", "funder"), ("f2", "funder"), ("a1", "actor"), ("a2", "actor"),
                               ("vera", "verifier"), ("other", "verifier"))}
    with web_db.sessions(app).begin() as session:
        for key in ("f1", "f2", "a1", "a2"):
            services.link_participant(session, None, round_id, key, users[key])
    analyst = accounts.client_for("ana@example.org", "analyst")
    assert analyst.post(f"/analyst/rounds/{round_id}/commit").status_code == 302
    with web_db.sessions(app).begin() as session:
        milestone = session.scalar(select(Milestone.id).join(RoundActor, RoundActor.id == Milestone.actor_id)
                                   .where(RoundActor.key == "a1", Milestone.kind == "delivery")
                                   .order_by(Milestone.id))
    return round_id, analyst, milestone


@contextmanager
def app_on(database: str, tmp_path: Path, template: Path, **config: Any) -> Iterator[Flask]:
    """An app on a fresh SQLite file ("sqlite"), or on a PostgreSQL schema of its own ("postgresql", when
    SWARM_TEST_DATABASE_URL is set; else the test is skipped), disposed of afterwards."""
    with nullcontext(None) if database == "sqlite" else migrated_schema("swarm_web") as url:
        application = make_app(tmp_path, template, **({"DATABASE_URL": url} if url else {}), **config)
        try:
            yield application
        finally:
            web_db.dispose(application)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request: pytest.FixtureRequest, tmp_path: Path, web_template: Path) -> Iterator[Flask]:
    """The app on SQLite, and on PostgreSQL (a schema of its own) when SWARM_TEST_DATABASE_URL is set."""
    with app_on(request.param, tmp_path, web_template) as application:
        yield application
        assert_ledgers_whole(request, web_db.sessions(application))    # as the `app` fixture: money stays whole
