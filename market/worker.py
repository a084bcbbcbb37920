"""Running clearing jobs: one job (`run_job`), a worker thread in the web process (the embedded default),
and `swarm worker` (RQ on Redis, with a sweeper that hands the database's queued jobs to the queue again
after Redis lost them, and marks jobs whose worker died failed).

A job runs in three steps, as `services.clear_round` does, but followed: a JobFollower receives the
solver's progress (solver.progress) and a heartbeat thread writes it to the job's row every
HEARTBEAT_SECONDS, reading back whether the analyst cancelled; the solver then stops at its next check
(a CBC process is killed). Nothing of the round changes until `finish_clearing` records the run.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import redis
from rq import Worker
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from solver import progress
from solver.allocation import Allocation
from solver.clearing import ClearOptions
from solver.market import Market

from . import outbox
from .errors import MarketDomainError
from .models import JobState, User
from .queue import JobQueue, RedisQueue, QUEUE_NAME
from .services.clearing import snapshot_for_clearing, solve
from .services.repair import REPAIR, finish_repair, snapshot_for_repair
from .services.jobs import (HEARTBEAT_SECONDS, Progress, beat, claim, finish_clearing, finish_failed, queued_ids,
                            reap_stale)

logger = logging.getLogger(__name__)


def worker_name(kind: str) -> str:
    return f"{kind}@{socket.gethostname()}:{os.getpid()}"


class JobFollower:
    """A solver.progress listener for one running job: keeps the latest progress in memory (the solver's
    threads only touch memory) and beats from a thread of its own."""

    def __init__(self, sessions: sessionmaker[Session], job_id: int, worker: str,
                 also: progress.Listener | None = None, every: float = HEARTBEAT_SECONDS) -> None:
        self.sessions, self.job_id, self.worker, self.also, self.every = sessions, job_id, worker, also, every
        self._lock = threading.Lock()
        self._progress = Progress()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    # solver.progress.Listener
    def stage(self, name: str, detail: str | None) -> None:
        with self._lock:
            self._progress = Progress(stage=name, detail=detail)
        if self.also is not None:
            self.also.stage(name, detail)

    def search(self, incumbent: float | None, bound: float | None) -> None:
        with self._lock:
            self._progress = replace(self._progress, incumbent=incumbent, bound=bound,
                                     rel_gap=progress.relative_gap(incumbent, bound))
        if self.also is not None:
            self.also.search(incumbent, bound)

    def stop_requested(self) -> bool:
        return self._stop.is_set() or (self.also is not None and self.also.stop_requested())

    # the heartbeat
    def start(self) -> None:
        self._thread = threading.Thread(target=self._beating, name=f"swarm-job-{self.job_id}-heartbeat", daemon=True)
        self._thread.start()

    def finish(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def last_beat(self) -> None:
        """Stop beating, and write the last progress (a job shorter than a beat would show none)."""
        self.finish()
        self.beat_once()

    def snapshot(self) -> Progress:
        with self._lock:
            return self._progress

    def _beating(self) -> None:
        while not self._done.wait(self.every):
            self.beat_once()

    def beat_once(self) -> None:
        try:
            with self.sessions.begin() as session:
                if beat(session, self.job_id, self.worker, self.snapshot()):
                    self._stop.set()
        except Exception as exc:        # the database away for a moment: the solve goes on; a long outage
            logger.warning("job %s: heartbeat failed: %s", self.job_id, exc)   # gets the job reaped as stale


def run_job(sessions: sessionmaker[Session], job_id: int, worker: str,
            also: progress.Listener | None = None,
            cleared: Callable[[Market, Allocation], None] | None = None) -> str | None:
    """Run one queued job to its end; its final state, or None if it was not this worker's to run.
    `cleared` is given what was recorded, once it is (the command line prints its summary)."""
    with sessions.begin() as session:
        job = claim(session, job_id, worker)
        if job is None:
            return None
        user = session.get(User, job.user_id) if job.user_id is not None else None
        options = ClearOptions(backend=job.backend, time_limit=job.time_limit, gap=job.gap, explain=job.explain)
        round_id = job.round_id
        failure_id = job.failure_id if job.kind == REPAIR else None
    logger.info("job %s: clearing round %s (%s, limit %s s, gap %s) on %s", job_id, round_id, options.backend,
                options.time_limit, options.gap, worker)
    follower = JobFollower(sessions, job_id, worker, also)
    follower.start()
    try:
        with progress.following(follower):
            with sessions.begin() as session:
                if failure_id is None:
                    document, fingerprint = snapshot_for_clearing(session, user, round_id)
                else:                   # a repair (issue 18): the failure's challenges as their own market
                    document, fingerprint = snapshot_for_repair(session, user, failure_id)
            market, allocation = solve(document, round_id, options)
        follower.last_beat()
        with sessions.begin() as session:
            if failure_id is None:
                done = finish_clearing(session, job_id, worker, user, document, fingerprint, allocation)
            else:
                done = finish_repair(session, job_id, worker, user, failure_id, document, fingerprint, allocation)
        if done is None:
            logger.warning("job %s: no longer this worker's (reaped or cancelled): nothing recorded", job_id)
            return None
        logger.info("job %s: round %s cleared, run %s", job_id, round_id, done.run_id)
        if cleared is not None:
            cleared(market, allocation)
        return JobState.SUCCEEDED.value
    except progress.Cancelled:
        return _end(follower, f"cancelled during the {follower.snapshot().stage or 'start'}", JobState.CANCELLED)
    except KeyboardInterrupt:           # Ctrl-C where the job runs in the foreground (`swarm clear`): the person
        _end(follower,                  # running it cancels it; RQ's work horses and threads never get one
             f"cancelled (interrupted) during the {follower.snapshot().stage or 'start'}", JobState.CANCELLED)
        raise
    except MarketDomainError as exc:
        return _end(follower, str(exc), JobState.FAILED)
    except BaseException as exc:        # a crash, a timeout signal, Ctrl-C: said on the job, then passed on
        logger.exception("job %s failed", job_id)
        _end(follower, f"the worker failed ({type(exc).__name__}: {exc}); the round is unchanged", JobState.FAILED)
        if not isinstance(exc, Exception):
            raise
        return JobState.FAILED.value
    finally:
        follower.finish()


def _end(follower: JobFollower, reason: str, state: JobState) -> str | None:
    job_id = follower.job_id
    try:
        follower.last_beat()
        with follower.sessions.begin() as session:
            job = finish_failed(session, job_id, follower.worker, reason, state)
    except Exception:
        logger.exception("job %s: could not record its end (%s); it will be reaped as stale", job_id, reason)
        return None
    logger.info("job %s %s: %s", job_id, state.value, reason)
    return None if job is None else state.value


# ---------------------------------------------------------------- the embedded queues

class InlineQueue:
    """Runs the job in the caller, at once (the command line in the foreground; tests)."""
    description = "inline"

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def ping(self) -> None:
        return None

    def enqueue(self, job_id: int, time_limit: float | None) -> None:
        run_job(self.sessions, job_id, worker_name("inline"))


class ThreadWorker:
    """The embedded default: one thread in this process runs the database's queued jobs, oldest first. It
    starts with the first job enqueued (or `start()`), picks up jobs left queued by a process that stopped,
    and reaps jobs whose worker died."""
    description = "a worker thread in the web process"
    # It also sends the outbox's e-mails (market/outbox.py) on each pass.

    def __init__(self, sessions: sessionmaker[Session], poll: float = 2.0) -> None:
        self.sessions = sessions
        self.poll = poll
        self.name = worker_name("thread")
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ping(self) -> None:
        return None

    def enqueue(self, job_id: int, time_limit: float | None) -> None:
        self.start()
        self._wake.set()

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stopping.clear()
                self._thread = threading.Thread(target=self._loop, name="swarm-clearing-worker", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        send = outbox.sender_from_env()
        while not self._stopping.is_set():
            try:
                self.run_pending()
                outbox.send_pending(self.sessions, send)        # notifications' e-mails, between jobs
            except (OperationalError, InterfaceError) as exc:     # the database away: one line, no traceback
                logger.warning("the clearing worker thread cannot reach the database (%s); trying again in %g s",
                               type(getattr(exc, "orig", None) or exc).__name__, self.poll)
            except Exception:
                logger.exception("the clearing worker thread failed; it goes on")
            self._wake.wait(self.poll)
            self._wake.clear()

    def run_pending(self) -> int:
        """Run every queued job; how many this thread ran."""
        with self.sessions.begin() as session:
            reap_stale(session)
            waiting = queued_ids(session)
        ran = 0
        for job_id in waiting:
            if self._stopping.is_set():
                break
            if run_job(self.sessions, job_id, self.name) is not None:
                ran += 1
        return ran


def queue_for(setting: str, sessions: sessionmaker[Session]) -> JobQueue:
    """"thread" (the default: a worker thread in this process), "inline", or a redis:// URL (RQ)."""
    setting = (setting or "thread").strip()
    if setting.startswith(("redis://", "rediss://", "unix://")):
        return RedisQueue(setting)
    if setting == "inline":
        return InlineQueue(sessions)
    if setting == "thread":
        return ThreadWorker(sessions)
    raise ValueError(f"unknown job queue {setting!r}: use thread, inline or a redis:// URL")


# ---------------------------------------------------------------- RQ: `swarm worker`

def run_queued(job_id: int) -> str | None:
    """RQ's job function, in the work horse: the database from SWARM_DATABASE_URL, as the worker's."""
    from .db import make_engine, make_sessionmaker
    engine = make_engine()
    try:
        return run_job(make_sessionmaker(engine), job_id, worker_name("rq"))
    finally:
        engine.dispose()


def _job_id_of(rq_job: Any) -> int | None:
    args = getattr(rq_job, "args", None) or ()
    return args[0] if args and isinstance(args[0], int) else None


class Sweeper:
    """Beside an RQ worker: every `every` seconds, reap jobs whose worker died, enqueue again the database's
    queued jobs that Redis does not know (Redis restarted empty, or was away when they were asked for), and send
    the outbox's e-mails (market/outbox.py)."""

    def __init__(self, sessions: sessionmaker[Session], queue: RedisQueue, every: float = 5.0) -> None:
        self.sessions, self.queue, self.every = sessions, queue, every
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="swarm-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(5)

    def _loop(self) -> None:
        send = outbox.sender_from_env()
        while True:
            try:
                self.sweep()
                outbox.send_pending(self.sessions, send)        # notifications' e-mails, on the same pass
            except Exception as exc:
                logger.warning("sweep failed (%s: %s); next in %g s", type(exc).__name__, exc, self.every)
            if self._done.wait(self.every):
                return

    def sweep(self) -> list[int]:
        """The jobs enqueued again."""
        from .models import Job
        with self.sessions.begin() as session:
            reap_stale(session)
            waiting = [(job_id, session.get_one(Job, job_id).time_limit) for job_id in queued_ids(session)]
        again = []
        for job_id, time_limit in waiting:
            if not self.queue.knows(job_id):
                self.queue.enqueue(job_id, time_limit)
                again.append(job_id)
        if again:
            logger.info("enqueued again (queued in the database, unknown to Redis): jobs %s", again)
        return again


def horse_killed(sessions: sessionmaker[Session]) -> Callable[[Any, int, int, Any], None]:
    """RQ calls this in the worker when a job's work horse died without finishing (killed, out of memory)."""
    def handler(rq_job: Any, retpid: int, ret_val: int, rusage: Any) -> None:
        job_id = _job_id_of(rq_job)
        if job_id is None:
            return
        how = f"signal {os.WTERMSIG(ret_val)}" if os.WIFSIGNALED(ret_val) else f"exit status {ret_val}"
        try:
            with sessions.begin() as session:
                finish_failed(session, job_id, None, f"the worker process running it was killed ({how}) mid-solve: "
                              "the round is unchanged; retry the job")
        except Exception:
            logger.exception("job %s: could not mark it failed; it will be reaped as stale", job_id)
    return handler


class _RqWorker(Worker):
    """RQ's worker, quitting promptly: redis-py 8's PubSubWorkerThread.stop() waits for its thread, which RQ
    lets wait up to 60 s for a message once the unsubscribe is answered, so a burst or a warm shutdown took up
    to a minute (seen with rq 2.12 and redis 8.2). The thread is a daemon: a second is enough."""

    def unsubscribe(self) -> None:
        if self.pubsub_thread:
            self.log.info("Worker %s: unsubscribing from channel %s", self.name, self.pubsub_channel_name)
            self.pubsub.unsubscribe()
            self.pubsub_thread.stop(timeout=1)
            self.pubsub.close()


def asked_to_stop(rq_worker: Worker) -> bool:
    """SIGTERM or Ctrl-C reached RQ's warm shutdown: stop, do not start another. RQ marks `_stop_requested`
    only when the signal comes during a job; an idle worker just leaves its loop, with the time of the request
    noted (a worker restarted after that would ignore every SIGTERM of a service manager)."""
    return bool(rq_worker._stop_requested or rq_worker._shutdown_requested_date is not None)


def work(sessions: sessionmaker[Session], url: str, burst: bool = False, sweep_every: float = 5.0) -> None:
    """`swarm worker`: run RQ jobs from Redis until stopped (SIGTERM or Ctrl-C: RQ's warm shutdown, the job
    running ends first). When Redis goes away RQ's worker quits; this one waits for Redis and starts another."""
    queue = RedisQueue(url)
    sweeper = Sweeper(sessions, queue, sweep_every)
    sweeper.start()
    try:
        while True:
            rq_worker = None
            try:
                queue.connection.ping()
                rq_worker = _RqWorker([QUEUE_NAME], connection=queue.connection, name=worker_name("rq-worker"),
                                     work_horse_killed_handler=horse_killed(sessions))
                rq_worker.work(burst=burst, logging_level="INFO", with_scheduler=False)
            except redis.RedisError as exc:
                logger.warning("the queue (%s) is unreachable (%s); trying again in 2 s", queue.description, exc)
            if burst or (rq_worker is not None and asked_to_stop(rq_worker)):
                break
            time.sleep(2)
    finally:
        sweeper.stop()
