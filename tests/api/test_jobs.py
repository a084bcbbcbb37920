"""Clearing jobs in the API: POST /rounds/{id}/clear answers 202 with the job and its Location; GET
/jobs/{id} in each state; the round's jobs; cancel and retry; a second clearing while one is active (409
naming the job); the queue away (503 with Retry-After, nothing written); staff only; Idempotency-Key."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from market import services
from market.errors import QueueUnavailable
from market.models import Job, JobState
from tests.job_rows import job_in
from tests.small_market import market_doc
from tests.web_fixtures import Accounts, import_doc, make_app
from web import db as web_db
from web import queue as web_queue

from .helpers import Users, assert_error

FIELDS = {"id", "round", "state", "stage", "detail", "elapsed_seconds", "incumbent", "bound", "gap", "backend",
          "time_limit", "requested_gap", "explain", "cancel_requested", "created_by", "created_at", "started_at",
          "finished_at", "reason", "run_id", "retry_of", "links"}


def closed(app, doc=None) -> int:  # type: ignore[no-untyped-def]
    round_id = import_doc(app, doc or market_doc())
    with web_db.sessions(app).begin() as session:
        services.close_round(session, None, round_id)
    return round_id


def job_count(app) -> int:  # type: ignore[no-untyped-def]
    with web_db.sessions(app).begin() as session:
        return session.scalar(select(func.count()).select_from(Job)) or 0


def test_clear_answers_202_with_the_job_and_its_location(app, analyst):
    rid = closed(app)
    r = analyst.post(f"/rounds/{rid}/clear?solver=highs&time_limit=45&gap=0.001&explain=false")
    assert r.status_code == 202, r.data
    queued = r.get_json()
    assert set(queued) == FIELDS and r.headers["Location"] == f"/api/v1/jobs/{queued['id']}"
    assert queued["state"] == "queued" and queued["round"] == rid          # as it was queued
    assert (queued["backend"], queued["time_limit"], queued["requested_gap"], queued["explain"]) == \
        ("highs", 45, 0.001, False)
    assert queued["created_by"] == "analyst@example.org" and queued["elapsed_seconds"] is None
    job = analyst.get(f"/jobs/{queued['id']}").get_json()                  # the inline queue ran it already
    assert job["state"] == "succeeded" and job["run_id"] == 1 and job["reason"] is None
    assert job["links"] == {"self": f"/api/v1/jobs/{job['id']}", "round": f"/api/v1/rounds/{rid}",
                            "run": f"/api/v1/rounds/{rid}/runs/1"}
    assert job["elapsed_seconds"] >= 0 and job["started_at"] and job["finished_at"]
    assert analyst.get(f"/rounds/{rid}").get_json()["status"] == "cleared"


def test_clear_defaults_suit_the_rounds_size(app, analyst):
    rid = closed(app)
    job = analyst.post(f"/rounds/{rid}/clear").get_json()
    assert (job["backend"], job["time_limit"], job["requested_gap"], job["explain"]) == ("cbc", 60, None, True)


@pytest.mark.parametrize("query, field", [("time_limit=0", "query.time_limit"),
                                          ("time_limit=3601", "query.time_limit"),
                                          ("gap=1", "query.gap"), ("gap=-0.1", "query.gap"),
                                          ("solver=gurobi", "query.solver")])
def test_clear_options_out_of_range_are_a_422(app, analyst, query, field):
    rid = closed(app)
    assert_error(analyst.post(f"/rounds/{rid}/clear?{query}"), 422, field)
    assert job_count(app) == 0


@pytest.mark.parametrize("state", [JobState.QUEUED, JobState.RUNNING, JobState.FAILED, JobState.CANCELLED])
def test_a_job_in_each_state(app, analyst, state):
    rid = closed(app)
    job_id = job_in(app, rid, state)
    job = analyst.get(f"/jobs/{job_id}").get_json()
    assert set(job) == FIELDS and job["state"] == state.value and job["round"] == rid
    assert "run" not in job["links"] and job["run_id"] is None
    if state == JobState.QUEUED:
        assert job["elapsed_seconds"] is None and job["started_at"] is None
        assert (job["stage"], job["incumbent"], job["bound"], job["gap"]) == (None, None, None, None)
    else:
        assert job["elapsed_seconds"] >= 10 and job["started_at"] is not None
    if state == JobState.RUNNING:
        assert (job["stage"], job["detail"], job["incumbent"], job["bound"], job["gap"]) == \
            ("value phase", "part 2 of 3", 12345.5, 13000.0, 0.053)
        assert job["finished_at"] is None
    if state in (JobState.FAILED, JobState.CANCELLED):
        assert job["reason"] and job["finished_at"] is not None


def test_the_rounds_jobs_newest_first(app, analyst):
    rid = closed(app)
    first = job_in(app, rid, JobState.FAILED)
    second = job_in(app, rid, JobState.QUEUED)
    other = closed(app)
    job_in(app, other, JobState.QUEUED)
    r = analyst.get(f"/rounds/{rid}/jobs")
    assert [j["id"] for j in r.get_json()] == [second, first] and "X-Pagination" in r.headers
    assert analyst.get(f"/rounds/{rid}/jobs?page_size=1").get_json()[0]["id"] == second
    assert_error(analyst.get("/rounds/999/jobs"), 404)
    assert_error(analyst.get("/jobs/999"), 404)


def test_cancel_then_retry(app, analyst):
    rid = closed(app)
    job_id = job_in(app, rid, JobState.QUEUED)
    r = analyst.post(f"/jobs/{job_id}/cancel")
    assert r.status_code == 200 and r.get_json()["state"] == "cancelled", r.data
    assert r.get_json()["reason"] == "cancelled before it started"
    assert "cancelled" in assert_error(analyst.post(f"/jobs/{job_id}/cancel"), 409)["errors"][""][0]
    r = analyst.post(f"/jobs/{job_id}/retry")
    assert r.status_code == 202, r.data
    retried = r.get_json()
    assert r.headers["Location"] == f"/api/v1/jobs/{retried['id']}" and retried["retry_of"] == job_id
    assert analyst.get(f"/jobs/{retried['id']}").get_json()["state"] == "succeeded"
    assert_error(analyst.post(f"/jobs/{retried['id']}/retry"), 409)          # it did not fail
    assert_error(analyst.post(f"/jobs/{retried['id']}/cancel"), 409)         # it has ended


def test_cancel_a_running_job_asks_it_to_stop(app, analyst):
    rid = closed(app)
    job_id = job_in(app, rid, JobState.RUNNING)
    job = analyst.post(f"/jobs/{job_id}/cancel").get_json()
    assert job["state"] == "running" and job["cancel_requested"] is True


@pytest.mark.parametrize("active", [JobState.QUEUED, JobState.RUNNING])
def test_a_second_clearing_while_one_is_active_is_a_409_naming_it(app, analyst, active):
    rid = closed(app)
    job_id = job_in(app, rid, active)
    body = assert_error(analyst.post(f"/rounds/{rid}/clear"), 409, "")
    assert body["errors"][""] == [f"round {rid} is already being cleared: job {job_id} is {active.value}; "
                                  "wait for it or cancel it first"]
    failed = job_in(app, rid, JobState.FAILED)
    assert f"job {job_id}" in assert_error(analyst.post(f"/jobs/{failed}/retry"), 409)["errors"][""][0]
    assert job_count(app) == 2


def test_a_draft_or_open_round_is_not_cleared(app, analyst, empty_round):
    assert "close it first" in assert_error(analyst.post(f"/rounds/{empty_round}/clear"), 409)["errors"][""][0]
    assert_error(analyst.post("/rounds/999/clear"), 404)
    assert job_count(app) == 0


@pytest.mark.parametrize("role", ["funder", "actor"])
def test_funders_and_actors_get_403_on_every_job_endpoint(app, users: Users, role):
    rid = closed(app)
    job_id = job_in(app, rid, JobState.RUNNING)
    failed = job_in(app, closed(app), JobState.FAILED)
    other = users(f"{role}@example.org", role)
    for method, path in (("get", f"/jobs/{job_id}"), ("get", f"/rounds/{rid}/jobs"),
                         ("post", f"/jobs/{job_id}/cancel"), ("post", f"/jobs/{failed}/retry"),
                         ("post", f"/rounds/{rid}/clear"), ("get", "/jobs/999")):
        body = assert_error(getattr(other, method)(path), 403)
        assert "12345" not in str(body), path
    assert job_count(app) == 2
    with web_db.sessions(app).begin() as session:
        assert not session.get_one(Job, job_id).cancel_requested


def test_idempotent_retry_replays_its_202(app, analyst):
    rid = closed(app)
    failed = job_in(app, rid, JobState.FAILED)
    first = analyst.post(f"/jobs/{failed}/retry", headers={"Idempotency-Key": "retry-1"})
    again = analyst.post(f"/jobs/{failed}/retry", headers={"Idempotency-Key": "retry-1"})
    assert first.status_code == again.status_code == 202 and again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"] and again.headers["Idempotent-Replayed"] == "true"
    assert job_count(app) == 2
    assert_error(analyst.post(f"/rounds/{rid}/clear", headers={"Idempotency-Key": "retry-1"}), 422,
                 "header.Idempotency-Key")                                  # the key of another request


class AwayQueue:
    description = "a queue that is away"

    def ping(self) -> None:
        raise QueueUnavailable("the job queue (a queue that is away) cannot be reached: nothing was queued")

    def enqueue(self, job_id: int, time_limit: float | None) -> None:
        raise AssertionError("enqueued though the queue is away")


def test_a_queue_that_cannot_be_reached_is_a_503_with_retry_after(app, analyst):
    rid = closed(app)
    failed = job_in(app, rid, JobState.FAILED)
    app.extensions["swarm_queue"]["queue"] = AwayQueue()
    for path in (f"/rounds/{rid}/clear", f"/jobs/{failed}/retry"):
        r = analyst.post(path, headers={"Idempotency-Key": f"k-{path}"})
        body = assert_error(r, 503, "")
        assert r.headers["Retry-After"] == "30" and "nothing was queued" in body["errors"][""][0]
    assert job_count(app) == 1
    assert analyst.get(f"/jobs/{failed}").status_code == 200                # reading goes on


def test_redis_on_a_closed_port_is_a_503_and_nothing_is_written(tmp_path: Path, web_template: Path):
    from .helpers import Api, token_for
    app = make_app(tmp_path, web_template, JOB_QUEUE="redis://127.0.0.1:1/0")
    try:
        analyst = Api(app, token_for(app, Accounts(app).create("analyst@example.org", "analyst")))
        rid = closed(app)
        r = analyst.post(f"/rounds/{rid}/clear")
        body = assert_error(r, 503, "")
        assert "RQ on redis://127.0.0.1:1/0" in body["errors"][""][0] and r.headers["Retry-After"] == "30"
        assert job_count(app) == 0 and analyst.get(f"/rounds/{rid}").get_json()["status"] == "closed"
    finally:
        web_queue.stop(app)
        web_db.dispose(app)


def test_the_spec_documents_the_job_operations(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    clear = spec["paths"]["/api/v1/rounds/{round_id}/clear"]["post"]
    assert {"202", "409", "503", "429"} <= set(clear["responses"]) and "201" not in clear["responses"]
    assert "Location" in clear["responses"]["202"]["headers"]
    assert {p["name"] for p in clear["parameters"]} >= {"solver", "time_limit", "gap", "explain", "Idempotency-Key"}
    for path, method in (("/api/v1/jobs/{job_id}", "get"), ("/api/v1/rounds/{round_id}/jobs", "get"),
                         ("/api/v1/jobs/{job_id}/cancel", "post"), ("/api/v1/jobs/{job_id}/retry", "post")):
        assert "403" in spec["paths"][path][method]["responses"], path
    assert "503" in spec["paths"]["/api/v1/jobs/{job_id}/retry"]["post"]["responses"]
    assert set(spec["components"]["schemas"]["JobOut"]["properties"]) == FIELDS


def test_concurrent_clears_with_one_key_queue_one_job(any_app):
    """Each request either queues the job and stores its answer in the same transaction, or finds that
    answer (after a 409 or the key's unique row refusing it) and replays it: one job, four equal 202s."""
    import threading

    from .helpers import Api, token_for
    token = token_for(any_app, Accounts(any_app).create("racer@example.org", "analyst"))
    rid = closed(any_app)
    barrier = threading.Barrier(4)
    results = []

    def send() -> None:
        api = Api(any_app, token)
        barrier.wait()
        results.append(api.post(f"/rounds/{rid}/clear", headers={"Idempotency-Key": "race"}))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert [r.status_code for r in results] == [202] * 4, [r.data for r in results]
    assert len({r.data for r in results}) == 1 and len({r.headers["Location"] for r in results}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in results) == 3
    assert job_count(any_app) == 1
