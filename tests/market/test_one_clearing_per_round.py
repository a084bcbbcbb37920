"""One clearing of a round at a time, on SQLite and PostgreSQL: concurrent submissions give one job, and the
database itself (the partial unique index uq_jobs_active_round) refuses a second queued or running job even
from code that skips the services' check."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from market.errors import JobActive
from market.models import Job, JobState
from market.services import jobs

from .helpers import closed_round
from .test_concurrency import THREADS, run_threads


def count_jobs(db, round_id: int) -> int:  # type: ignore[no-untyped-def]
    with db.sessions.begin() as session:
        return session.scalar(select(func.count()).select_from(Job).where(Job.round_id == round_id)) or 0


def test_concurrent_submissions_give_one_job(db):
    analyst = db.user("analyst@example.org", "analyst")
    round_id = closed_round(db)
    outcomes: list[str] = []
    lock = threading.Lock()

    def body(n: int) -> None:
        try:
            with db.sessions.begin() as session:
                job = jobs.submit_clearing(session, analyst, round_id, time_limit=30)
                outcome = f"job {job.id}"
        except JobActive as exc:
            assert f"round {round_id} is already being cleared: job " in str(exc)
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    run_threads(THREADS, body)
    assert sorted(outcomes) == ["job 1"] + ["refused"] * (THREADS - 1), outcomes
    assert count_jobs(db, round_id) == 1


@pytest.mark.parametrize("second", [JobState.QUEUED, JobState.RUNNING])
def test_the_database_refuses_a_second_active_job(db, second):
    """Past the services' check (a writer that forgot it): the index refuses; finished jobs do not count."""
    round_id = closed_round(db)
    with db.sessions.begin() as session:
        session.add_all([Job(round_id=round_id, created_by="x", state=JobState.FAILED.value),
                         Job(round_id=round_id, created_by="x", state=JobState.SUCCEEDED.value),
                         Job(round_id=round_id, created_by="x", state=JobState.RUNNING.value)])
    with pytest.raises(IntegrityError, match="uq_jobs_active_round|UNIQUE constraint failed: jobs.round_id"):
        with db.sessions.begin() as session:
            session.add(Job(round_id=round_id, created_by="y", state=second.value))
    assert count_jobs(db, round_id) == 3


def test_a_finished_job_lets_the_round_be_cleared_again(db):
    analyst = db.user("analyst@example.org", "analyst")
    round_id = closed_round(db)
    with db.sessions.begin() as session:
        first = jobs.submit_clearing(session, analyst, round_id).id
    with pytest.raises(JobActive, match=f"job {first} is queued"):
        with db.sessions.begin() as session:
            jobs.submit_clearing(session, analyst, round_id)
    with db.sessions.begin() as session:
        assert jobs.cancel_job(session, analyst, first).state == JobState.CANCELLED
    with db.sessions.begin() as session:
        assert jobs.retry_job(session, analyst, first).retry_of == first
    assert count_jobs(db, round_id) == 2
