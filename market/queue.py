"""Where a queued job's id goes. This module: the interface, and RQ on Redis (production: `swarm worker`
processes run the jobs). market.worker: a worker thread in this process (the embedded default) and the
caller itself (`inline`: the command line's foreground clearing, and tests).

The database holds every job's state (market.services.jobs); a queue only carries ids, so losing one (a
restart, Redis emptied) loses no job: workers pick queued jobs up from the database again (market.worker).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

import redis
from rq import Queue
from rq.job import Job as RqJob
from sqlalchemy.orm import Session, sessionmaker

from .errors import QueueUnavailable
from .models import Job, User
from .services import repair
from .services.jobs import retry_job, submit_clearing

QUEUE_NAME = "swarm-clearing"
# RQ kills a job's work horse this long after the job's own time limit (the solver stops itself at the limit;
# this is the bound for a solver or a step that does not).
HARD_LIMIT_GRACE = 120


class JobQueue(Protocol):
    description: str

    def ping(self) -> None:
        """Raise QueueUnavailable unless a job enqueued now would reach a worker."""

    def enqueue(self, job_id: int, time_limit: float | None) -> None:
        """Hand the job to a worker (raise QueueUnavailable if it cannot be)."""


def rq_job_id(job_id: int) -> str:
    return f"swarm-job-{job_id}"


def shown(url: str) -> str:
    """The queue's URL without its password."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class RedisQueue:
    """RQ on Redis: `swarm worker` runs what is enqueued here."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.description = f"RQ on {shown(url)}"
        self.connection = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)

    def ping(self) -> None:
        try:
            self.connection.ping()
        except redis.RedisError as exc:
            raise QueueUnavailable(f"the job queue ({self.description}) cannot be reached ({type(exc).__name__}): "
                                   "nothing was queued; try again when it is back") from None

    def enqueue(self, job_id: int, time_limit: float | None) -> None:
        timeout = -1 if time_limit is None else int(time_limit) + HARD_LIMIT_GRACE
        try:
            Queue(QUEUE_NAME, connection=self.connection).enqueue(
                "market.worker.run_queued", job_id, job_id=rq_job_id(job_id), job_timeout=timeout,
                result_ttl=24 * 3600, failure_ttl=7 * 24 * 3600, description=f"clearing job {job_id}")
        except redis.RedisError as exc:
            raise QueueUnavailable(f"the job queue ({self.description}) cannot be reached ({type(exc).__name__}): "
                                   "the job stays queued and runs once a worker sees it") from None

    def knows(self, job_id: int) -> bool:
        return bool(RqJob.exists(rq_job_id(job_id), connection=self.connection))


# Called with the new job inside the transaction that writes it, before the queue has it: the API stores its
# Idempotency-Key answer there, so that a retry racing the first request finds it as soon as the job exists.
WithJob = Callable[[Session, Job], None]


def submit(sessions: sessionmaker[Session], queue: JobQueue, user: User | None, round_id: int,
           with_job: WithJob | None = None, **options: Any) -> int:
    """Queue a clearing of the round and hand it to `queue`; the job's id. Asks the queue first, so that
    with Redis away nothing is written (QueueUnavailable, 503). `options`: services.jobs.submit_clearing's
    (backend, time_limit, gap, explain, retry_of). An inline queue runs the job before this returns."""
    queue.ping()
    with sessions.begin() as session:
        job = submit_clearing(session, user, round_id, **options)
        if with_job is not None:
            with_job(session, job)
        job_id, time_limit = job.id, job.time_limit
    queue.enqueue(job_id, time_limit)
    return job_id


def submit_repair(sessions: sessionmaker[Session], queue: JobQueue, user: User | None, failure_id: int,
                  **options: Any) -> int:
    """Queue a repair clearing of an award failure (issue 18) and hand it to `queue`; the job's id."""
    queue.ping()
    with sessions.begin() as session:
        job = repair.submit_repair(session, user, failure_id, **options)
        job_id, time_limit = job.id, job.time_limit
    queue.enqueue(job_id, time_limit)
    return job_id


def retry(sessions: sessionmaker[Session], queue: JobQueue, user: User | None, job_id: int,
          with_job: WithJob | None = None) -> int:
    """A new job with a failed or cancelled job's options, handed to `queue`; its id."""
    queue.ping()
    with sessions.begin() as session:
        job = retry_job(session, user, job_id)
        if with_job is not None:
            with_job(session, job)
        new_id, time_limit = job.id, job.time_limit
    queue.enqueue(new_id, time_limit)
    return new_id
