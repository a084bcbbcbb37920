"""Clearing jobs in the database (market.services.jobs) and how workers run them (market.worker), on SQLite
and PostgreSQL: one active job per round, claims, heartbeats, cancel, stale workers, restarts."""
from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from market import queue as job_queue
from market import services
from market.errors import Forbidden, InvalidInput, JobActive, NotFound, QueueUnavailable, WrongState
from market.models import Job, Round, utcnow
from market.services import jobs
from market.worker import InlineQueue, JobFollower, ThreadWorker, run_job
from solver import progress
from tests.market.helpers import closed_round, import_round
from tests.market.helpers import state as full_state


def state(db: Any, round_id: int) -> dict[str, Any]:
    """What a clearing may touch, but the audit log (queueing, cancelling and failing are audited)."""
    return {k: v for k, v in full_state(db, round_id).items() if k != "audit"}


def submit(db: Any, round_id: int, **options: Any) -> int:
    with db.sessions.begin() as session:
        return jobs.submit_clearing(session, None, round_id, **options).id


def job(db: Any, job_id: int) -> Job:
    with db.sessions.begin() as session:
        return session.get_one(Job, job_id)


def test_a_job_takes_the_rounds_default_limits_and_runs_to_a_recorded_run(db):
    round_id = closed_round(db)
    job_id = submit(db, round_id)
    queued = job(db, job_id)
    assert (queued.state, queued.time_limit, queued.gap) == ("queued", 60.0, None)
    assert run_job(db.sessions, job_id, "w1") == "succeeded"
    done = job(db, job_id)
    assert done.state == "succeeded" and done.run_id is not None and done.reason is None
    assert done.stage == "reasons"                 # the last stage reported, however short the job
    assert done.started_at is not None and done.finished_at is not None
    with db.sessions.begin() as session:
        assert session.get_one(Round, round_id).status == "cleared"
        assert services.result_run(session, round_id).id == done.run_id


def test_a_second_clearing_of_a_round_is_refused_while_one_is_queued_or_running(db):
    round_id = closed_round(db)
    first = submit(db, round_id)
    with pytest.raises(JobActive, match=f"job {first} is queued"):
        submit(db, round_id)
    with db.sessions.begin() as session:
        jobs.claim(session, first, "w1")
    with pytest.raises(JobActive, match=f"job {first} is running"):
        submit(db, round_id)
    with db.sessions.begin() as session:
        jobs.finish_failed(session, first, "w1", "test")
    assert submit(db, round_id) > first            # a finished job does not count


def test_the_database_itself_refuses_two_active_jobs_of_a_round(db):
    """The partial unique index, not the service's check, is the guarantee (two processes at once)."""
    round_id = closed_round(db)
    submit(db, round_id)
    with pytest.raises(IntegrityError), db.sessions.begin() as session:
        session.add(Job(round_id=round_id, created_by="cli", state="running"))
    with db.sessions.begin() as session:           # other rounds, and finished jobs, are not limited
        session.add(Job(round_id=round_id, created_by="cli", state="failed"))
        session.add(Job(round_id=round_id, created_by="cli", state="succeeded"))


def test_concurrent_submissions_give_one_job(db):
    round_id = closed_round(db)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def one() -> None:
        barrier.wait()
        try:
            submit(db, round_id)
            outcomes.append("queued")
        except JobActive:
            outcomes.append("refused")

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["queued", "refused", "refused", "refused"]


@pytest.mark.parametrize("options, field", [({"backend": "gurobi"}, "solver"), ({"time_limit": 0}, "time_limit"),
                                            ({"time_limit": 1e9}, "time_limit"), ({"gap": 1.0}, "gap"),
                                            ({"gap": -0.1}, "gap")])
def test_bad_options_are_refused_by_field_and_nothing_is_written(db, options, field):
    round_id = closed_round(db)
    with pytest.raises(InvalidInput) as refused:
        submit(db, round_id, **options)
    assert field in refused.value.fields
    with db.sessions.begin() as session:
        assert jobs.active_job(session, round_id) is None


def test_only_a_closed_or_cleared_round_is_queued_and_only_staff_may(db):
    open_round = import_round(db)
    with pytest.raises(WrongState, match="close it first"):
        submit(db, open_round)
    funder = db.user("f@example.org", "funder")
    with pytest.raises(Forbidden), db.sessions.begin() as session:
        jobs.submit_clearing(session, funder, closed_round(db))
    with pytest.raises(Forbidden), db.sessions.begin() as session:
        jobs.get_job(session, funder, 1)


def test_a_claim_is_taken_once(db):
    job_id = submit(db, closed_round(db))
    with db.sessions.begin() as session:
        assert jobs.claim(session, job_id, "w1") is not None
    with db.sessions.begin() as session:
        assert jobs.claim(session, job_id, "w2") is None
    assert run_job(db.sessions, job_id, "w2") is None      # not w2's: nothing done
    assert job(db, job_id).worker == "w1"


def test_cancelling_a_queued_job_ends_it_and_a_worker_never_starts_it(db):
    round_id = closed_round(db)
    before = state(db, round_id)
    job_id = submit(db, round_id)
    with db.sessions.begin() as session:
        jobs.cancel_job(session, None, job_id)
    assert job(db, job_id).state == "cancelled"
    assert run_job(db.sessions, job_id, "w1") is None
    assert state(db, round_id) == before
    with pytest.raises(WrongState, match="only a queued or running job"), db.sessions.begin() as session:
        jobs.cancel_job(session, None, job_id)


class StopAt:
    """A listener asking to stop once the clearing reaches `stage`."""

    def __init__(self, stage: str) -> None:
        self.at, self.seen = stage, []

    def stage(self, name: str, detail: str | None) -> None:
        self.seen.append(name)

    def search(self, incumbent: float | None, bound: float | None) -> None:
        pass

    def stop_requested(self) -> bool:
        return self.at in self.seen


def test_a_job_stopped_mid_solve_ends_cancelled_with_the_round_unchanged(db):
    round_id = closed_round(db)
    before = state(db, round_id)
    job_id = submit(db, round_id)
    listener = StopAt(progress.VALUE)
    assert run_job(db.sessions, job_id, "w1", also=listener) == "cancelled"
    done = job(db, job_id)
    assert done.state == "cancelled" and "value phase" in done.reason and done.run_id is None
    assert state(db, round_id) == before
    assert listener.seen[0] == progress.MODEL


def test_a_heartbeat_writes_progress_and_reads_the_cancel(db):
    job_id = submit(db, closed_round(db))
    with db.sessions.begin() as session:
        jobs.claim(session, job_id, "w1")
    follower = JobFollower(db.sessions, job_id, "w1")
    follower.stage(progress.VALUE, "part 1 of 2")
    follower.search(90.0, 100.0)
    follower.beat_once()
    seen = job(db, job_id)
    assert (seen.stage, seen.detail, seen.incumbent, seen.bound) == ("value phase", "part 1 of 2", 90.0, 100.0)
    assert seen.rel_gap == pytest.approx(10 / 90)
    assert not follower.stop_requested()
    with db.sessions.begin() as session:
        jobs.cancel_job(session, None, job_id)
    follower.beat_once()
    assert follower.stop_requested()


def test_a_running_job_whose_worker_fell_silent_is_failed_and_can_be_retried(db):
    round_id = closed_round(db)
    before = state(db, round_id)
    job_id = submit(db, round_id, time_limit=30.0, gap=0.01, backend="highs")
    with db.sessions.begin() as session:
        jobs.claim(session, job_id, "dead")
        session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=utcnow() - timedelta(minutes=5)))
    with db.sessions.begin() as session:
        seen = jobs.get_job(session, None, job_id)          # reading reaps
        assert seen.state == "failed" and "worker stopped mid-solve" in seen.reason
    assert state(db, round_id) == before
    with db.sessions.begin() as session:
        again = jobs.retry_job(session, None, job_id)
        assert (again.retry_of, again.backend, again.time_limit, again.gap) == (job_id, "highs", 30.0, 0.01)
        again_id = again.id
    assert run_job(db.sessions, again_id, "w2") == "succeeded"
    with pytest.raises(WrongState, match="only a failed or cancelled job"), db.sessions.begin() as session:
        jobs.retry_job(session, None, again_id)


def test_a_reaped_job_records_nothing_when_its_worker_comes_back(db):
    """A worker that was only slow (reaped meanwhile) finds the job no longer its own: the round stays."""
    round_id = closed_round(db)
    job_id = submit(db, round_id)
    with db.sessions.begin() as session:
        jobs.claim(session, job_id, "slow")
        document, fingerprint = services.clearing.snapshot_for_clearing(session, None, round_id)
    from solver.clearing import ClearOptions
    _, allocation = services.clearing.solve(document, round_id, ClearOptions())
    with db.sessions.begin() as session:
        jobs.reap_stale(session, stale=-1)
    before = state(db, round_id)
    with db.sessions.begin() as session:
        assert jobs.finish_clearing(session, job_id, "slow", None, document, fingerprint, allocation) is None
    assert state(db, round_id) == before


def test_a_failing_clearing_ends_the_job_failed_with_the_reason(db):
    round_id = closed_round(db)
    job_id = submit(db, round_id)
    with db.sessions.begin() as session:           # the round reopened after the job was queued
        session.get_one(Round, round_id).status = "open"
    assert run_job(db.sessions, job_id, "w1") == "failed"
    assert "only a closed or cleared round can be cleared" in job(db, job_id).reason


def test_the_thread_worker_runs_jobs_left_queued_by_a_stopped_process(db):
    """The job survives a restart: the database holds it, a new worker thread finds and runs it."""
    round_id = closed_round(db)
    job_id = submit(db, round_id)                  # queued; the process that queued it is gone
    worker = ThreadWorker(db.sessions, poll=0.05)
    try:
        worker.start()
        for _ in range(600):
            if job(db, job_id).state not in ("queued", "running"):
                break
            threading.Event().wait(0.05)
    finally:
        worker.stop()
    assert job(db, job_id).state == "succeeded"


def test_submit_asks_the_queue_first_and_writes_nothing_when_it_is_away(db):
    class Away:
        description = "away"

        def ping(self) -> None:
            raise QueueUnavailable("the job queue (away) cannot be reached")

        def enqueue(self, job_id: int, time_limit: float | None) -> None:
            raise AssertionError("not to be called")

    round_id = closed_round(db)
    with pytest.raises(QueueUnavailable):
        job_queue.submit(db.sessions, Away(), None, round_id)
    with db.sessions.begin() as session:
        assert jobs.active_job(session, round_id) is None
    job_id = job_queue.submit(db.sessions, InlineQueue(db.sessions), None, round_id)
    assert job(db, job_id).state == "succeeded"


def test_an_unknown_job_is_not_found(db):
    with pytest.raises(NotFound), db.sessions.begin() as session:
        jobs.get_job(session, None, 12345)
    with pytest.raises(NotFound), db.sessions.begin() as session:
        jobs.cancel_job(session, None, "x")


@pytest.mark.parametrize("challenges, bids, expected", [(10, 100, (60.0, None)), (200, 5000, (180.0, None)),
                                                        (1000, 13000, (600.0, 1e-4))])
def test_default_limits_grow_with_the_round(challenges, bids, expected):
    limits = jobs.default_limits(challenges, bids)
    assert (limits.time_limit, limits.gap) == expected
