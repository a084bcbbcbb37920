"""The database or Redis away, in-process and fast (tests/faults/ does the same with real servers stopped under
gunicorn): a database that cannot be reached, or a connection that breaks under a request, is a 503 with
Retry-After (the site's own page, the API's JSON error), never a 500, and names no URL; a commit whose answer
was lost is answered by the retry with the same Idempotency-Key, never done twice; the rate limits' Redis
away lets everything through that it guards (counted in memory meanwhile); the clearing thread says in one
line that the database is away."""
from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from market import services
from market.models import Pledge
from market.worker import ThreadWorker
from tests.api.helpers import Api, assert_error, token_for
from tests.servers import wait_until
from tests.small_market import market_doc
from tests.web_fixtures import Accounts, import_doc, make_app
from web import db as web_db
from web.api import views

UNREACHABLE_PG = "postgresql+psycopg://swarm:pg-secret@127.0.0.1:1/nowhere"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def broken(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


def no_url(body: bytes) -> None:
    for secret in (b"pg-secret", b"postgresql", b"127.0.0.1", b"nowhere"):
        assert secret not in body, body


def test_a_page_with_the_database_unreachable_is_a_503_page(tmp_path, web_template, caplog):
    app = make_app(tmp_path, web_template, DATABASE_URL=UNREACHABLE_PG)
    with caplog.at_level(logging.WARNING, logger="web.errors"):
        r = app.test_client().get("/")
    page = r.data.decode()
    assert r.status_code == 503 and r.mimetype == "text/html" and r.headers["Retry-After"] == "10"
    assert "<h1>Database unavailable</h1>" in page and "check whether it was saved" in page
    no_url(r.data)
    assert [rec.getMessage() for rec in caplog.records] == ["the database is unreachable (NotReady): answered 503"]
    assert not any(rec.exc_info for rec in caplog.records)


def test_the_api_with_the_database_unreachable_is_a_503_json_error(tmp_path, web_template):
    app = make_app(tmp_path, web_template, DATABASE_URL=UNREACHABLE_PG)
    r = Api(app, "swm_anything").get("/rounds")
    body = assert_error(r, 503, "")
    assert "same Idempotency-Key" in body["errors"][""][0] and r.headers["Retry-After"] == "10"
    no_url(r.data)


def test_a_connection_broken_under_a_request_is_a_503(app, monkeypatch):
    funder = Api(app, token_for(app, Accounts(app).create("funder@example.org", "funder")))
    round_id = import_doc(app, market_doc())
    monkeypatch.setattr(services, "visible_pledges", broken)
    assert_error(funder.get(f"/rounds/{round_id}/pledges"), 503, "")
    monkeypatch.setattr("web.challenges.reads.rounds", broken)
    r = app.test_client().get("/")
    assert r.status_code == 503 and "<h1>Database unavailable</h1>" in r.data.decode()


def test_a_signed_in_page_whose_user_cannot_be_read_is_a_503_for_nobody_signed_in(app, monkeypatch):
    client = Accounts(app).client_for("analyst@example.org", "analyst")
    assert "Log out" in client.get("/").data.decode()
    monkeypatch.setattr(services, "session_user", broken)
    r = client.get("/analyst/")
    page = r.data.decode()
    assert r.status_code == 503 and "<h1>Database unavailable</h1>" in page
    assert "Log in" in page and "Log out" not in page


def test_a_pledge_whose_commit_answer_was_lost_is_answered_by_the_retry_not_made_twice(app, monkeypatch):
    """The commit reaches the database, then the connection breaks before the app hears back: the client
    gets a 503 though the pledge was made. Sent again with the same Idempotency-Key it is answered as it
    was made (201, Idempotent-Replayed), and the round holds it once."""
    funder = Api(app, token_for(app, Accounts(app).create("funder@example.org", "funder")))
    round_id = import_doc(app, market_doc())
    real_json = views._json
    calls = []

    def answer_lost(body: Any, status: int) -> Any:         # after the commit, before the answer
        if not calls:
            calls.append(status)
            broken()
        return real_json(body, status)
    monkeypatch.setattr(views, "_json", answer_lost)
    key = {"Idempotency-Key": "pledge-7"}
    first = funder.post(f"/rounds/{round_id}/pledges", json={"amount": "25.00"}, headers=key)
    assert_error(first, 503, "") and calls == [201]
    retry = funder.post(f"/rounds/{round_id}/pledges", json={"amount": "25.00"}, headers=key)
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    with web_db.sessions(app).begin() as session:
        made = session.scalars(select(Pledge.key).where(Pledge.round_id == round_id, Pledge.amount_cents == 2500))
        assert list(made) == [retry.get_json()["id"]]
        assert session.scalar(select(func.count()).select_from(Pledge).where(Pledge.round_id == round_id)) == 4


@pytest.fixture
def limited_app(tmp_path, web_template):
    """Rate limits on, counted in a Redis that cannot be reached, and the job queue there too."""
    application = make_app(tmp_path, web_template, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=UNREACHABLE_REDIS,
                           JOB_QUEUE=UNREACHABLE_REDIS, SWARM_LIMIT_LOGIN="2 per minute")
    yield application
    web_db.dispose(application)


def test_the_rate_limits_redis_away_lets_logins_through_and_counts_in_memory(limited_app):
    accounts = Accounts(limited_app)
    accounts.create("analyst@example.org", "analyst")
    client = limited_app.test_client()
    assert accounts.login(client, "analyst@example.org").status_code == 302
    other = limited_app.test_client()
    codes = [accounts.login(other, "analyst@example.org", "wrong").status_code for _ in range(3)]
    assert 429 not in codes[:2] and codes[2] == 429, codes          # "2 per minute" of failed logins, in memory


def test_clearing_with_redis_away_is_a_503_on_the_form_and_the_api(limited_app):
    accounts = Accounts(limited_app)
    round_id = import_doc(limited_app, market_doc())
    analyst = Api(limited_app, token_for(limited_app, accounts.create("api@example.org", "analyst")))
    body = assert_error(analyst.post(f"/rounds/{round_id}/clear"), 503, "")
    assert "nothing was queued" in body["errors"][""][0]
    r = accounts.client_for("analyst@example.org", "analyst").post(f"/analyst/rounds/{round_id}/clear")
    assert r.status_code == 503 and "The job queue is unavailable" in r.data.decode() and r.headers["Retry-After"]


def said(caplog):
    return [r for r in caplog.records if r.name == "market.worker"]


def test_the_clearing_thread_says_in_one_line_that_the_database_is_away(app, caplog, monkeypatch):
    worker = ThreadWorker(web_db.sessions(app), poll=0.05)
    monkeypatch.setattr(worker, "run_pending", broken)
    with caplog.at_level(logging.WARNING, logger="market.worker"):
        worker.start()
        try:
            wait_until(lambda: said(caplog), 5, "the clearing thread's warning")
        finally:
            worker.stop()
    records = said(caplog)          # not the migrations' lines, when this test is the first to open the app's database
    assert all(not r.exc_info and r.levelname == "WARNING" for r in records)
    assert records[0].getMessage() == ("the clearing worker thread cannot reach the database (Exception); "
                                              "trying again in 0.05 s")
