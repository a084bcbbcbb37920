"""Jobs through RQ on Redis (market.queue.RedisQueue, market.worker.work): enqueued jobs run in a work horse
against the database, a job Redis lost is enqueued again from the database, a killed horse fails its job.
Redis: SWARM_TEST_REDIS_URL (default redis://127.0.0.1:6379/9, a database number of its own, emptied first);
skipped, with the reason, when it is unreachable."""
from __future__ import annotations

import os
import signal
from typing import Any

import pytest
import redis

from market import queue as job_queue
from market.models import Job
from market.queue import RedisQueue
from market.services import jobs
from market.worker import Sweeper, horse_killed, work
from tests.market.helpers import closed_round

REDIS_URL = os.environ.get("SWARM_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


@pytest.fixture
def rq_queue() -> RedisQueue:
    queue = RedisQueue(REDIS_URL)
    try:
        queue.connection.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL} ({exc}): the RQ tests need one")
    queue.connection.flushdb()
    yield queue
    queue.connection.flushdb()


def state_of(db: Any, job_id: int) -> Job:
    with db.sessions.begin() as session:
        return session.get_one(Job, job_id)


def test_a_job_enqueued_on_redis_runs_in_a_burst_worker(db, rq_queue, monkeypatch):
    monkeypatch.setenv("SWARM_DATABASE_URL", db.url)          # the work horse's database, as `swarm worker`'s
    round_id = closed_round(db)
    job_id = job_queue.submit(db.sessions, rq_queue, None, round_id)
    assert rq_queue.knows(job_id) and state_of(db, job_id).state == "queued"
    work(db.sessions, REDIS_URL, burst=True, sweep_every=60)
    done = state_of(db, job_id)
    assert done.state == "succeeded" and done.run_id is not None and done.worker.startswith("rq@")


def test_the_sweeper_enqueues_again_the_queued_jobs_redis_lost(db, rq_queue):
    round_id = closed_round(db)
    job_id = job_queue.submit(db.sessions, rq_queue, None, round_id)
    sweeper = Sweeper(db.sessions, rq_queue)
    assert sweeper.sweep() == []                              # Redis knows it
    rq_queue.connection.flushdb()                             # Redis restarted empty
    assert sweeper.sweep() == [job_id]
    assert rq_queue.knows(job_id)


def test_a_killed_work_horse_fails_its_job_with_the_signal_and_the_round_is_retried(db):
    round_id = closed_round(db)
    with db.sessions.begin() as session:
        job_id = jobs.submit_clearing(session, None, round_id).id
        jobs.claim(session, job_id, "rq@host:1")

    class RqJob:
        args = (job_id,)

    horse_killed(db.sessions)(RqJob(), 4242, signal.SIGKILL, None)   # waitpid's status for a SIGKILL
    failed = state_of(db, job_id)
    assert failed.state == "failed" and "killed (signal 9)" in failed.reason and "round is unchanged" in failed.reason
    with db.sessions.begin() as session:
        assert jobs.retry_job(session, None, job_id).retry_of == job_id


def test_an_unreachable_redis_is_queue_unavailable_and_nothing_is_written(db):
    from market.errors import QueueUnavailable
    round_id = closed_round(db)
    with pytest.raises(QueueUnavailable, match="cannot be reached"):
        job_queue.submit(db.sessions, RedisQueue("redis://127.0.0.1:1/0"), None, round_id)
    with db.sessions.begin() as session:
        assert jobs.active_job(session, round_id) is None
