"""The analyst's clearing jobs on the web: the job page in each state (its figures, its buttons, following
the job while it runs), cancel and retry, one clearing of a round at a time, a real job on the worker
thread, cancelling a running one, the queue away (503, nothing written), and staff only."""
from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from market import services
from market.models import ClearingRun, Job, JobState, Round
from tests.job_rows import job_in, wait_for
from tests.orphans import busy_market
from tests.small_market import market_doc
from tests.web_fixtures import Accounts, import_doc, make_app
from web import db as web_db
from web import queue as web_queue

NOT_REPORTED = "not reported yet"


@pytest.fixture
def analyst(accounts):
    return accounts.client_for("analyst@example.org", "analyst")


def closed(app: Flask, doc: dict | None = None) -> int:
    round_id = import_doc(app, doc or market_doc())
    with web_db.sessions(app).begin() as session:
        services.close_round(session, None, round_id)
    return round_id


def page_of(client, job_id: int) -> str:
    response = client.get(f"/analyst/jobs/{job_id}")
    assert response.status_code == 200, response.data
    return html.unescape(response.data.decode())


def counts(app: Flask, round_id: int) -> dict[str, object]:
    with web_db.sessions(app).begin() as session:
        return {"status": session.get_one(Round, round_id).status,
                "jobs": session.scalar(select(func.count()).select_from(Job).where(Job.round_id == round_id)),
                "runs": session.scalar(select(func.count()).select_from(ClearingRun)
                                       .where(ClearingRun.round_id == round_id))}


# ---------------------------------------------------------------- the page in each state

def test_a_queued_job_page_follows_it_and_can_be_cancelled(app, analyst):
    round_id = closed(app)
    job_id = job_in(app, round_id, JobState.QUEUED)
    page = page_of(analyst, job_id)
    assert "queued" in page and "waiting for a worker" in page and "not started" in page
    assert page.count(NOT_REPORTED) == 3                                # incumbent, bound, gap
    assert "cbc, time limit 60 s" in page and "analyst@example.org" in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    response = analyst.get(f"/analyst/jobs/{job_id}")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
    assert nonce and f'<script nonce="{nonce.group(1)}" src="/static/job.js"></script>' in response.data.decode()
    assert f'data-poll="/analyst/jobs/{job_id}.json"' in page
    assert response.headers["Cache-Control"] == "no-store"                      # the solver's figures
    assert analyst.get(f"/analyst/jobs/{job_id}.json").headers["Cache-Control"] == "no-store"
    round_page = html.unescape(analyst.get(f"/analyst/rounds/{round_id}").data.decode())
    assert f'Job {job_id} is queued: <a href="/analyst/jobs/{job_id}">follow it</a>' in round_page
    assert f'action="/analyst/jobs/{job_id}/cancel"' in page and "/retry" not in page
    assert "See the results" not in page


def test_a_running_job_page_shows_the_solvers_figures(app, analyst):
    round_id = closed(app)
    job_id = job_in(app, round_id, JobState.RUNNING)
    page = page_of(analyst, job_id)
    assert "running" in page and "value phase" in page and "part 2 of 3" in page
    assert "12,345.5" in page and "13,000" in page and "5.3%" in page and NOT_REPORTED not in page
    assert re.search(r'data-field="elapsed">1[2-9]\.\d s<', page), page        # started 12.5 s ago
    assert "http-equiv=\"refresh\"" in page and f'action="/analyst/jobs/{job_id}/cancel"' in page
    figures = analyst.get(f"/analyst/jobs/{job_id}.json").get_json()
    assert figures["state"] == "running" and figures["active"] is True
    assert figures["incumbent"] == 12345.5 and figures["bound"] == 13000.0 and figures["gap"] == 0.053
    assert figures["shown"]["incumbent"] == "12,345.5" and figures["shown"]["gap"] == "5.3%"
    assert figures["shown"]["stage"] == "value phase" and figures["elapsed_seconds"] >= 12.5


@pytest.mark.parametrize("state", [JobState.FAILED, JobState.CANCELLED])
def test_a_failed_or_cancelled_job_page_says_why_and_offers_a_retry(app, analyst, state):
    round_id = closed(app)
    job_id = job_in(app, round_id, state)
    page = page_of(analyst, job_id)
    reason = "the cbc solver failed (RuntimeError: status 13)" if state == JobState.FAILED else \
        "cancelled during the cost phase"
    assert state.value in page and reason in page and "10.0 s" in page        # elapsed: start to end
    assert f'action="/analyst/jobs/{job_id}/retry"' in page and "/cancel" not in page
    assert "refresh" not in page and "job.js" not in page                      # nothing to follow
    assert analyst.get(f"/analyst/jobs/{job_id}.json").get_json()["active"] is False


def test_a_succeeded_job_page_links_the_results(app, analyst):
    round_id = closed(app)
    r = analyst.post(f"/analyst/rounds/{round_id}/clear", data={"solver": "highs", "time_limit": "30"})
    assert r.status_code == 302 and r.headers["Location"] == "/analyst/jobs/1"
    page = page_of(analyst, 1)
    assert "succeeded" in page and f'href="/rounds/{round_id}/results"' in page and "run #1" in page
    assert "highs, time limit 30 s" in page
    assert "/cancel" not in page and "/retry" not in page and "refresh" not in page
    assert counts(app, round_id) == {"status": "cleared", "jobs": 1, "runs": 1}
    listed = analyst.get(f"/analyst/rounds/{round_id}").data.decode()
    assert 'href="/analyst/jobs/1"' in listed and "succeeded" in listed


# ---------------------------------------------------------------- cancel, retry, one at a time

def test_cancel_a_queued_job_then_retry_it(app, analyst):
    round_id = closed(app)
    job_id = job_in(app, round_id, JobState.QUEUED)
    r = analyst.post(f"/analyst/jobs/{job_id}/cancel")
    assert r.status_code == 302 and r.headers["Location"] == f"/analyst/jobs/{job_id}"
    page = page_of(analyst, job_id)
    assert f"Job {job_id} cancelled." in page and "cancelled before it started" in page
    assert analyst.post(f"/analyst/jobs/{job_id}/cancel").status_code == 409   # it has ended
    assert counts(app, round_id)["status"] == "closed"
    r = analyst.post(f"/analyst/jobs/{job_id}/retry")                           # runs inline here
    assert r.status_code == 302 and r.headers["Location"] == f"/analyst/jobs/{job_id + 1}"
    page = page_of(analyst, job_id + 1)
    assert "succeeded" in page and f'href="/analyst/jobs/{job_id}">job {job_id}' in page      # retry of
    assert analyst.post(f"/analyst/jobs/{job_id + 1}/retry").status_code == 409   # it did not fail
    assert counts(app, round_id) == {"status": "cleared", "jobs": 2, "runs": 1}


def test_cancelling_a_running_job_asks_its_worker_to_stop(app, analyst):
    round_id = closed(app)
    job_id = job_in(app, round_id, JobState.RUNNING)
    page = html.unescape(analyst.post(f"/analyst/jobs/{job_id}/cancel", follow_redirects=True).data.decode())
    assert "asked to stop" in page and "running (cancel asked)" in page
    with web_db.sessions(app).begin() as session:
        assert session.get_one(Job, job_id).cancel_requested


@pytest.mark.parametrize("active", [JobState.QUEUED, JobState.RUNNING])
def test_a_second_clearing_while_one_is_active_links_to_it(app, analyst, active):
    round_id = closed(app)
    job_id = job_in(app, round_id, active)
    r = analyst.post(f"/analyst/rounds/{round_id}/clear")
    assert r.status_code == 302 and r.headers["Location"] == f"/analyst/rounds/{round_id}"
    page = analyst.get(r.headers["Location"]).data.decode()
    assert (f"round {round_id} is already being cleared: job {job_id} is {active.value}" in html.unescape(page))
    assert f'<a href="/analyst/jobs/{job_id}">See job {job_id}</a>' in page
    assert counts(app, round_id) == {"status": "closed", "jobs": 1, "runs": 0}
    failed = job_in(app, round_id, JobState.FAILED)
    r = analyst.post(f"/analyst/jobs/{failed}/retry")                 # a retry is a second clearing too
    assert r.status_code == 302 and r.headers["Location"] == f"/analyst/rounds/{round_id}"
    assert counts(app, round_id)["jobs"] == 2


def test_a_job_that_does_not_exist_is_a_404(analyst):
    assert analyst.get("/analyst/jobs/99").status_code == 404
    assert analyst.get("/analyst/jobs/99.json").status_code == 404
    assert analyst.post("/analyst/jobs/99/cancel").status_code == 404
    assert analyst.post("/analyst/jobs/99/retry").status_code == 404
    assert analyst.get("/analyst/jobs/99999999999999999999").status_code == 404


# ---------------------------------------------------------------- staff only

@pytest.mark.parametrize("role", ["funder", "actor"])
def test_funders_and_actors_see_no_job(app, accounts, role):
    round_id = closed(app)
    job_id = job_in(app, round_id, JobState.RUNNING)
    other = accounts.client_for(f"{role}@example.org", role)
    for method, path in (("get", f"/analyst/jobs/{job_id}"), ("get", f"/analyst/jobs/{job_id}.json"),
                         ("post", f"/analyst/jobs/{job_id}/cancel"), ("post", f"/analyst/jobs/{job_id}/retry"),
                         ("post", f"/analyst/rounds/{round_id}/clear"), ("get", f"/analyst/rounds/{round_id}")):
        response = getattr(other, method)(path)
        assert response.status_code == 403, (path, response.status_code)
        assert b"12345" not in response.data and b"value phase" not in response.data
    for path in (f"/rounds/{round_id}", f"/rounds/{round_id}/results", "/"):      # the public pages
        body = other.get(path).data.decode()
        assert "/analyst/jobs/" not in body and "12,345" not in body
    assert app.test_client().get(f"/analyst/jobs/{job_id}").status_code == 302      # to the login
    with web_db.sessions(app).begin() as session:
        assert not session.get_one(Job, job_id).cancel_requested


# ---------------------------------------------------------------- the queue away

@pytest.fixture
def app_without_queue(tmp_path: Path, web_template: Path) -> Iterator[Flask]:
    """Redis on a port where nothing listens."""
    application = make_app(tmp_path, web_template, JOB_QUEUE="redis://127.0.0.1:1/0")
    yield application
    web_db.dispose(application)


def test_the_queue_away_is_a_503_and_nothing_changes(app_without_queue):
    app = app_without_queue
    analyst = Accounts(app).client_for("analyst@example.org", "analyst")
    round_id = import_doc(app, market_doc())                           # open: clearing would close it first
    r = analyst.post(f"/analyst/rounds/{round_id}/clear")
    page = html.unescape(r.data.decode())
    assert r.status_code == 503 and "The job queue is unavailable" in page and "nothing was queued" in page
    assert "redis://127.0.0.1:1/0" in page
    assert counts(app, round_id) == {"status": "open", "jobs": 0, "runs": 0}
    failed = job_in(app, round_id, JobState.FAILED)
    assert analyst.post(f"/analyst/jobs/{failed}/retry").status_code == 503
    assert counts(app, round_id) == {"status": "open", "jobs": 1, "runs": 0}
    assert analyst.get(f"/analyst/jobs/{failed}").status_code == 200          # the rest works on


# ---------------------------------------------------------------- a real worker thread

@pytest.fixture
def thread_app(tmp_path: Path, web_template: Path) -> Iterator[Flask]:
    application = make_app(tmp_path, web_template, JOB_QUEUE="thread")
    yield application
    web_queue.stop(application)
    web_db.dispose(application)


def test_on_the_worker_thread_a_job_goes_queued_running_succeeded(thread_app):
    app = thread_app
    analyst = Accounts(app).client_for("analyst@example.org", "analyst")
    round_id = import_doc(app, market_doc())
    r = analyst.post(f"/analyst/rounds/{round_id}/clear")
    assert r.status_code == 302 and r.headers["Location"] == "/analyst/jobs/1"
    seen = wait_for(lambda: analyst.get("/analyst/jobs/1.json").get_json(), lambda job: not job["active"])
    states = [s["state"] for s in seen]
    assert states[-1] == "succeeded", seen[-1]
    order = ["queued", "running", "succeeded"]
    assert [order.index(s) for s in states] == sorted(order.index(s) for s in states)     # never backwards
    assert seen[-1]["run_id"] == 1 and seen[-1]["started_at"] and seen[-1]["finished_at"]
    assert counts(app, round_id) == {"status": "cleared", "jobs": 1, "runs": 1}


def test_cancelling_a_running_job_ends_it_cancelled_with_the_round_unchanged(thread_app):
    app = thread_app
    analyst = Accounts(app).client_for("analyst@example.org", "analyst")
    round_id = closed(app, json.loads(busy_market()))
    # The limit bounds the test should the solver only stop between its steps.
    r = analyst.post(f"/analyst/rounds/{round_id}/clear", data={"time_limit": "15"})
    job_url = r.headers["Location"]
    wait_for(lambda: analyst.get(job_url + ".json").get_json(), lambda job: job["state"] == "running")
    assert analyst.post(job_url + "/cancel").status_code == 302
    seen = wait_for(lambda: analyst.get(job_url + ".json").get_json(), lambda job: not job["active"])
    assert seen[-1]["state"] == "cancelled" and seen[-1]["reason"].startswith("cancelled during"), seen[-1]
    assert seen[-1]["run_id"] is None
    assert counts(app, round_id) == {"status": "closed", "jobs": 1, "runs": 0}
    assert "Retry" in page_of(analyst, int(job_url.rsplit("/", 1)[1]))
