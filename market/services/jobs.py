"""Clearing jobs: a clearing is asked for here (a row in `jobs`), run by a worker (market.worker), and
followed, cancelled or retried by id. The database is the truth about a job: the queue (a thread, or RQ on
Redis) only carries job ids to workers, so a job survives a restart of the web server or of Redis.

States: queued -> running -> succeeded | failed | cancelled (queued -> cancelled too). A worker claims a
queued job with one conditional UPDATE, so two workers never run the same job; it then beats every
HEARTBEAT_SECONDS, writing the solver's progress and reading whether the job was cancelled. A running job
with no beat for STALE_SECONDS lost its worker (killed, machine gone): `reap_stale` marks it failed. The
round changes only in `finish_clearing`, one transaction that records the run and marks the job succeeded
if the job is still the worker's own, so a job that died or was reaped left the round as it was.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from solver.allocation import Allocation
from solver.backends import BACKENDS

from ..errors import InvalidInput, JobActive, NotFound, WrongState
from ..models import ACTIVE_JOB_STATES, Bid, Challenge, Job, JobState, User, utcnow
from .clearing import audit_who, record_run, require_clearable
from .common import STAFF, audit, by_id, lock_round, require_role

HEARTBEAT_SECONDS = 1.0
STALE_SECONDS = 30.0
ACTIVE = tuple(s.value for s in ACTIVE_JOB_STATES)
FINISHED = (JobState.SUCCEEDED.value, JobState.FAILED.value, JobState.CANCELLED.value)
MAX_TIME_LIMIT = 3600.0


@dataclass(frozen=True)
class Limits:
    """The time limit (seconds, whole clearing) and relative gap a clearing of this size gets by default."""
    time_limit: float
    gap: float | None


def default_limits(challenges: int, bids: int) -> Limits:
    """Rounds of up to 50 challenges clear to proven optimality in seconds; a few hundred in a minute or two;
    beyond that an analyst waits at most ten minutes for an allocation within 0.01% of the best."""
    if challenges <= 50 and bids <= 2000:
        return Limits(60.0, None)
    if challenges <= 300:
        return Limits(180.0, None)
    return Limits(600.0, 1e-4)


def limits_for_round(session: Session, round_id: int) -> Limits:
    challenges = session.scalar(select(func.count()).select_from(Challenge).where(Challenge.round_id == round_id))
    bids = session.scalar(select(func.count()).select_from(Bid).where(Bid.round_id == round_id,
                                                                     Bid.withdrawn.is_(False)))
    return default_limits(int(challenges or 0), int(bids or 0))


def submit_clearing(session: Session, user: User | None, round_id: int, *, backend: str = "cbc",
                    time_limit: float | None = None, gap: float | None = None, explain: bool = True,
                    retry_of: int | None = None) -> Job:
    """Queue a clearing of a closed (or cleared) round. The caller hands the job's id to a queue after the
    commit. Refused (JobActive, 409) while another clearing of the round is queued or running."""
    require_role(user, STAFF, "clear rounds")
    problems = _check_options(backend, time_limit, gap)
    if problems:
        raise InvalidInput(problems)
    rnd = lock_round(session, round_id)
    require_clearable(session, rnd)
    job = add_job(session, user, round_id, backend=backend, explain=explain, retry_of=retry_of,
                  time_limit=time_limit, gap=gap)
    audit(session, user, "clear-queued", "job", job.id, round_id, backend=backend, time_limit=job.time_limit,
          gap=job.gap, retry_of=retry_of)
    return job


def add_job(session: Session, user: User | None, round_id: int, *, time_limit: float | None, gap: float | None,
            **columns: Any) -> Job:
    """A queued job of the round (a clearing, or a repair: `columns`), with the default limits for its size
    where none are given; JobActive while another job of the round is queued or running."""
    _refuse_second(session, round_id)
    defaults = limits_for_round(session, round_id)
    job = Job(round_id=round_id, created_by=audit_who(user), user_id=None if user is None else user.id,
              time_limit=defaults.time_limit if time_limit is None else time_limit,
              gap=defaults.gap if gap is None and time_limit is None else gap, **columns)
    try:
        with session.begin_nested():            # the unique index is the guarantee; the check above the message
            session.add(job)
            session.flush()
    except IntegrityError:
        _refuse_second(session, round_id)
        raise
    return job


def _check_options(backend: Any, time_limit: Any, gap: Any) -> dict[str, str]:
    problems = {}
    if backend not in BACKENDS:
        problems["solver"] = f"unknown solver {backend!r}: choose one of {', '.join(BACKENDS)}"
    if time_limit is not None and not (isinstance(time_limit, (int, float)) and 0 < time_limit <= MAX_TIME_LIMIT):
        problems["time_limit"] = f"must be a number of seconds above 0 and at most {MAX_TIME_LIMIT:g}"
    if gap is not None and not (isinstance(gap, (int, float)) and 0 <= gap < 1):
        problems["gap"] = "must be a relative gap from 0 (proven best) up to, not including, 1"
    return problems


def _refuse_second(session: Session, round_id: int) -> None:
    active = session.scalar(select(Job).where(Job.round_id == round_id, Job.state.in_(ACTIVE)))
    if active is not None:
        raise JobActive(f"round {round_id} is already being cleared: job {active.id} is {active.state}; "
                        f"wait for it or cancel it first")


# ---------------------------------------------------------------- reading

def get_job(session: Session, user: User | None, job_id: Any) -> Job:
    """A job, for analysts and admins (a job shows the solver's figures, which no funder or actor sees)."""
    require_role(user, STAFF, "see clearing jobs")
    job = by_id(session, Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id!r}")
    reap_stale(session, job.id)
    return job


def round_jobs(session: Session, user: User | None, round_id: int, limit: int = 20) -> list[Job]:
    require_role(user, STAFF, "see clearing jobs")
    reap_stale(session)
    return list(session.scalars(select(Job).where(Job.round_id == round_id).order_by(Job.id.desc()).limit(limit)))


def active_job(session: Session, round_id: int) -> Job | None:
    return session.scalar(select(Job).where(Job.round_id == round_id, Job.state.in_(ACTIVE)))


def queued_ids(session: Session) -> list[int]:
    """Queued jobs, oldest first (what a worker should run next)."""
    return list(session.scalars(select(Job.id).where(Job.state == JobState.QUEUED.value).order_by(Job.id)))


def elapsed(job: Job, now: datetime | None = None) -> float | None:
    """Seconds the job has run (so far, or in all)."""
    if job.started_at is None:
        return None
    end = job.finished_at or now or utcnow()
    return max((_aware(end) - _aware(job.started_at)).total_seconds(), 0.0)


def _aware(stamp: datetime) -> datetime:
    """SQLite gives back naive datetimes for what was stored as UTC."""
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


# ---------------------------------------------------------------- the analyst's actions

def cancel_job(session: Session, user: User | None, job_id: Any) -> Job:
    """A queued job is cancelled at once; a running one is asked to stop (its worker stops the solver within a
    heartbeat or two and marks it cancelled). A finished job cannot be cancelled."""
    require_role(user, STAFF, "cancel clearing jobs")
    job = by_id(session, Job, job_id, lock=True)
    if job is None:
        raise NotFound(f"no job {job_id!r}")
    if job.state in FINISHED:
        raise WrongState(f"job {job.id} has {job.state}; only a queued or running job can be cancelled")
    if job.state == JobState.QUEUED:
        _finish(job, JobState.CANCELLED, "cancelled before it started")
    job.cancel_requested = True
    audit(session, user, "job-cancel", "job", job.id, job.round_id, state=job.state)
    return job


def retry_job(session: Session, user: User | None, job_id: Any) -> Job:
    """A new job with the failed (or cancelled) one's options."""
    require_role(user, STAFF, "retry clearing jobs")
    old = by_id(session, Job, job_id)
    if old is None:
        raise NotFound(f"no job {job_id!r}")
    reap_stale(session, old.id)
    if old.state not in (JobState.FAILED, JobState.CANCELLED):
        raise WrongState(f"job {old.id} is {old.state}; only a failed or cancelled job can be retried")
    if old.kind != "clear":
        raise WrongState(f"job {old.id} is a {old.kind}: run it again from its failure's page (or `swarm repair "
                         f"run {old.failure_id}`)")
    return submit_clearing(session, user, old.round_id, backend=old.backend, time_limit=old.time_limit,
                           gap=old.gap, explain=old.explain, retry_of=old.id)


# ---------------------------------------------------------------- what workers write

def claim(session: Session, job_id: int, worker: str) -> Job | None:
    """Take a queued job for `worker`; None if it is not queued (run, cancelled, or taken by another)."""
    now = utcnow()
    taken = session.execute(update(Job).where(Job.id == job_id, Job.state == JobState.QUEUED.value,
                                              Job.cancel_requested.is_(False))
                            .values(state=JobState.RUNNING.value, started_at=now, heartbeat_at=now, worker=worker,
                                    stage=None, detail=None)
                            .execution_options(synchronize_session=False))
    if taken.rowcount != 1:    # type: ignore[attr-defined]
        return None
    return session.get_one(Job, job_id, populate_existing=True)


@dataclass(frozen=True)
class Progress:
    stage: str | None = None
    detail: str | None = None
    incumbent: float | None = None
    bound: float | None = None
    rel_gap: float | None = None


def beat(session: Session, job_id: int, worker: str, progress: Progress) -> bool:
    """The worker is alive: record its progress. True if it should stop (cancelled, or no longer its job)."""
    done = session.execute(update(Job).where(Job.id == job_id, Job.state == JobState.RUNNING.value,
                                             Job.worker == worker)
                           .values(heartbeat_at=utcnow(), stage=progress.stage, detail=_cut(progress.detail, 200),
                                   incumbent=_finite(progress.incumbent), bound=_finite(progress.bound),
                                   rel_gap=_finite(progress.rel_gap))
                           .execution_options(synchronize_session=False))
    if done.rowcount != 1:     # type: ignore[attr-defined]
        return True
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def finish_clearing(session: Session, job_id: int, worker: str, user: User | None, document: dict[str, Any],
                    fingerprint: str, allocation: Allocation) -> Job | None:
    """Record the run and mark the job succeeded, in one transaction; None (and nothing written) if the job is
    no longer this worker's running job (reaped as stale, or cancelled just now)."""
    job = _own_running(session, job_id, worker)
    if job is None:
        return None
    run = record_run(session, user, job.round_id, document, fingerprint, allocation)
    job.run_id = run.id
    _finish(job, JobState.SUCCEEDED, None)
    return job


def finish_failed(session: Session, job_id: int, worker: str | None, reason: str,
                  state: JobState = JobState.FAILED) -> Job | None:
    """Mark the job failed (or cancelled) with the reason, if it is still running (and `worker`'s)."""
    job = _own_running(session, job_id, worker)
    if job is None:
        return None
    _finish(job, state, reason)
    audit(session, None, "clear-failed" if state == JobState.FAILED else "clear-cancelled", "job", job.id,
          job.round_id, reason=reason, worker=job.worker)
    return job


def reap_stale(session: Session, job_id: int | None = None, stale: float | None = None) -> list[int]:
    """Mark failed each running job (or just `job_id`) whose worker has not beaten for `stale` seconds."""
    stale = STALE_SECONDS if stale is None else stale
    limit = utcnow() - timedelta(seconds=stale)
    query = select(Job.id).where(Job.state == JobState.RUNNING.value, Job.heartbeat_at < limit)
    if job_id is not None:
        query = query.where(Job.id == job_id)
    reaped = []
    for found in session.scalars(query).all():
        job = finish_failed(session, found, None,
                            f"its worker stopped mid-solve (no sign of life for {stale:g} seconds): "
                            "the round is unchanged; retry the job")
        if job is not None:
            reaped.append(found)
    return reaped


def _own_running(session: Session, job_id: int, worker: str | None) -> Job | None:
    job = by_id(session, Job, job_id, lock=True)
    if job is None or job.state != JobState.RUNNING or (worker is not None and job.worker != worker):
        return None
    return job


def _finish(job: Job, state: JobState, reason: str | None) -> None:
    job.state = state.value
    job.reason = reason
    job.finished_at = utcnow()


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _cut(text: str | None, length: int) -> str | None:
    return None if text is None else text[:length]
