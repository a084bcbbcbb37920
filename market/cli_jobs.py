"""The clearing-job commands of `swarm` (web/cli.py assembles the program):

    swarm clear ROUND [--solver cbc|highs] [--time-limit S] [--gap G] [--no-explain] [--detach]
    swarm jobs [ROUND]
    swarm job show ID | job cancel ID | job retry ID [--detach]
    swarm worker [--burst] [--nice N]

A clearing is a job (market.services.jobs). `swarm clear` runs it here, in the foreground, showing its
progress on stderr (market.cli_progress) and its summary on stdout; Ctrl-C cancels it (exit 130). With
`--detach` it only queues it for `swarm worker` processes, through RQ on Redis (SWARM_QUEUE_URL). Exit codes
as for every command: 0 done, 2 input that cannot be used, 1 other failures (a job that failed or was
cancelled, a round already being cleared, the queue unreachable).
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from datetime import UTC
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

import click
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from solver.allocation import Allocation
from solver.cli import EXIT_INFEASIBLE, summary
from solver.cli_common import EXIT_INVALID, fail, gap_option, no_explain_option, solver_option
from solver.market import Market

from . import outbox, services
from .cli import database_or_exit
from .cli_progress import JobProgress, figures
from .errors import NotFound, QueueUnavailable
from .models import Job, JobState, Round, RoundStatus
from .queue import JobQueue, RedisQueue, retry, shown, submit
from .services import jobs
from .services.clearing import INFEASIBLE
from .services.common import by_id
from .worker import run_job, work, worker_name

EXIT_INTERRUPTED = 130          # as a shell reports a command stopped by Ctrl-C (128 + SIGINT)
QUEUE_ENV = "SWARM_QUEUE_URL"
# `swarm worker` runs this much nicer than it was started: CBC takes a whole core for a clearing's length, and
# on a machine it shares with the web server (docs/benchmarks.md, "Load") pages then waited for it; niced,
# the solver gets the cores the web leaves idle and is unslowed on a machine of its own.
DEFAULT_NICENESS = 10


def redis_url() -> str | None:
    """SWARM_QUEUE_URL when it names Redis (the only queue that outlives this command), else None."""
    url = os.environ.get(QUEUE_ENV, "").strip()
    return url if url.startswith(("redis://", "rediss://", "unix://")) else None


# ---------------------------------------------------------------- running a job in the foreground

@contextmanager
def _ctrl_c_cancels(display: JobProgress) -> Iterator[None]:
    """Ctrl-C asks the clearing to stop (the flag its listener reads, for a solver busy in native code)
    and interrupts what Python waits for (a CBC process, which is then killed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupted(signum: int, frame: object) -> None:
        display.interrupted.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Foreground:
    """A JobQueue that runs the job in this process at once, its progress on the terminal."""
    description = "this command, in the foreground"

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.worker = worker_name("cli")
        self.job_id: int | None = None
        self.state: str | None = None
        self.result: tuple[Market, Allocation] | None = None
        self.display = JobProgress()

    def ping(self) -> None:
        return None

    def enqueue(self, job_id: int, time_limit: float | None) -> None:
        self.job_id = job_id
        with self.sessions.begin() as session:
            job = session.get_one(Job, job_id)
            click.echo(f"job {job.id}: clearing round {job.round_id} with {job.backend}, {_limits(job)} "
                       "(Ctrl-C cancels)", err=True)
        with self.display, _ctrl_c_cancels(self.display):
            self.state = run_job(self.sessions, job_id, self.worker, also=self.display, cleared=self._keep)

    def _keep(self, market: Market, allocation: Allocation) -> None:
        self.result = (market, allocation)


def _limits(job: Job) -> str:
    gap = "none" if job.gap is None else f"{job.gap:g}"
    limit = "none" if job.time_limit is None else f"{job.time_limit:g} s"
    return f"time limit {limit}, gap {gap}"


def _run_here(sessions: sessionmaker[Session], hand_over: Callable[[JobQueue], int]) -> None:
    """Create the job through `hand_over` with a Foreground queue, which runs it; then say how it ended
    (the summary on stdout), or exit 1 (failed, cancelled elsewhere) or 130 (Ctrl-C)."""
    here = Foreground(sessions)
    try:
        hand_over(here)
    except KeyboardInterrupt:
        _interrupted(sessions, here)
    if here.display.interrupted.is_set() and here.state == JobState.CANCELLED:
        _interrupted(sessions, here)          # the solver saw the flag before Python saw the signal
    assert here.job_id is not None
    with sessions.begin() as session:
        job = session.get_one(Job, here.job_id)
        state, reason, round_id, run_id = job.state, job.reason, job.round_id, job.run_id
    if state == JobState.SUCCEEDED and here.result is not None:
        click.echo(summary(*here.result))
        if here.result[1].status == INFEASIBLE:
            # Recorded for its reasons, but not the round's result: the round stays as it was (swarm solve's code).
            click.echo(f"run {run_id} recorded, not as the result: no allocation accepts every fixed bid; "
                       f"round {round_id} stays as it was")
            sys.exit(EXIT_INFEASIBLE)
        click.echo(f"run {run_id} recorded as the result of round {round_id}")
        return
    if state == JobState.CANCELLED:
        fail(f"job {here.job_id} was cancelled ({reason}); nothing was recorded")
    if state == JobState.FAILED:
        fail(reason or f"job {here.job_id} failed")
    fail(f"job {here.job_id} is {state}, run by another worker: `swarm job show {here.job_id}` follows it")


def _interrupted(sessions: sessionmaker[Session], here: Foreground) -> NoReturn:
    """After Ctrl-C: the job ends cancelled whatever it was doing (queued, or running and not yet marked),
    and the command exits 130 saying that nothing was recorded."""
    if here.job_id is None:
        click.echo("interrupted: no job was created", err=True)
        sys.exit(EXIT_INTERRUPTED)
    with sessions.begin() as session:
        job = session.get_one(Job, here.job_id)
        if job.state == JobState.QUEUED:
            jobs.cancel_job(session, None, job.id)
        elif job.state == JobState.RUNNING and job.worker == here.worker:
            jobs.finish_failed(session, job.id, here.worker, "cancelled (interrupted)", JobState.CANCELLED)
        state, round_id = job.state, job.round_id
        status = session.get_one(Round, round_id).status
    if state == JobState.CANCELLED:
        said = f"cancelled: job {here.job_id} stopped by Ctrl-C"
    else:                                       # it ended just before (succeeded: then it was recorded)
        said = f"interrupted: job {here.job_id} is {state}"
    recorded = "the run was recorded" if state == JobState.SUCCEEDED else "nothing was recorded"
    click.echo(f"{said}; {recorded}, round {round_id} stays {status}", err=True)
    sys.exit(EXIT_INTERRUPTED)


def _redis_queue() -> RedisQueue:
    """For --detach: the queue on Redis, reachable (asked before anything is written: a round to clear is not
    closed for a job that cannot be queued)."""
    url = redis_url()
    if url is None:
        fail(f"--detach queues the job for `swarm worker` processes, through Redis: set "
             f"{QUEUE_ENV}=redis://HOST:6379/0 (without --detach the job runs here, in the foreground)", EXIT_INVALID)
    try:
        queue = RedisQueue(url)
    except ValueError as exc:                   # redis-py's word on a malformed URL
        fail(f"{QUEUE_ENV}: {exc}", EXIT_INVALID)
    try:
        queue.ping()
    except QueueUnavailable as exc:
        fail(str(exc))
    return queue


def _detached(hand_over: Callable[[JobQueue], int], queue: RedisQueue) -> None:
    """Create the job through `hand_over` with the Redis queue; its id as the last line."""
    try:
        job_id = hand_over(queue)
    except QueueUnavailable as exc:
        fail(str(exc))
    click.echo(f"job {job_id} queued on {queue.description} for `swarm worker`; `swarm job show {job_id}` "
               "follows it", err=True)
    click.echo(str(job_id))


def _close_if_open(sessions: sessionmaker[Session], round_id: int) -> None:
    with sessions.begin() as session:
        rnd = by_id(session, Round, round_id)
        was_open = rnd is not None and rnd.status == RoundStatus.OPEN
        if was_open:
            services.close_round(session, None, round_id)
    if was_open:
        click.echo(f"round {round_id} closed")


# ---------------------------------------------------------------- the commands

@click.command("clear")
@click.argument("round_id", metavar="ROUND", type=int)
@solver_option
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), help="Seconds for the whole clearing, "
              "reasons included (as swarm solve); by default as suits the round's size.")
@gap_option
@no_explain_option
@click.option("--detach", is_flag=True, help="Only queue the job for `swarm worker` (needs SWARM_QUEUE_URL=redis://"
              "...) and print its id.")
def clear_(round_id: int, backend: str, time_limit: float | None, gap: float | None, no_explain: bool,
           detach: bool) -> None:
    """Clear a round (closing it first if it is open) as a job: run it here showing its progress, record the
    run and print the summary; Ctrl-C cancels it."""
    detached = _redis_queue() if detach else None
    with database_or_exit() as sessions:
        _close_if_open(sessions, round_id)

        def hand_over(queue: JobQueue) -> int:
            return submit(sessions, queue, None, round_id, backend=backend, time_limit=time_limit, gap=gap,
                          explain=not no_explain)
        if detached is None:
            _run_here(sessions, hand_over)
        else:
            _detached(hand_over, detached)


def _figures_of(job: Job) -> str:
    return figures(job.incumbent, job.bound, job.rel_gap) or "-"


def _elapsed_of(job: Job) -> str:
    seconds = jobs.elapsed(job)
    return "-" if seconds is None else f"{seconds:.1f} s"


@click.command("jobs")
@click.argument("round_id", metavar="ROUND", type=int, required=False)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="How many, newest first.")
def jobs_(round_id: int | None, limit: int) -> None:
    """List clearing jobs, newest first: id, round, state, stage, elapsed, incumbent/bound/gap, reason."""
    with database_or_exit() as sessions, sessions.begin() as session:
        if round_id is None:
            jobs.reap_stale(session)
            found = list(session.scalars(select(Job).order_by(Job.id.desc()).limit(limit)))
        else:
            if by_id(session, Round, round_id) is None:
                raise NotFound(f"no round {round_id}")
            found = jobs.round_jobs(session, None, round_id, limit)
        rows = [(str(j.id), str(j.round_id), j.state, j.stage or "-", _elapsed_of(j), _figures_of(j), j.reason or "")
                for j in found]
    if not rows:
        click.echo("no clearing jobs")
        return
    head = ("job", "round", "state", "stage", "elapsed", "incumbent, bound, gap", "reason")
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head) - 1)]
    for row in [head, *rows]:
        cells = [cell.rjust(w) if i in (0, 1, 4) else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        click.echo(("  ".join(cells) + "  " + row[-1]).rstrip())


@click.group("job")
def job() -> None:
    """One clearing job: show, cancel, retry."""


@job.command("show")
@click.argument("job_id", metavar="ID", type=int)
def job_show(job_id: int) -> None:
    """A job's state, options, progress and outcome."""
    with database_or_exit() as sessions, sessions.begin() as session:
        found = jobs.get_job(session, None, job_id)
        lines = _described(found)
    click.echo("\n".join(lines))


def _stamp(job: Job, name: str) -> str:
    value = getattr(job, name)
    if value is None:
        return "-"
    return (value if value.tzinfo is None else value.astimezone(UTC)).strftime("%Y-%m-%d %H:%M:%S UTC")


def _described(job: Job) -> list[str]:
    lines = [f"job {job.id}: clearing of round {job.round_id}, {job.state}",
             f"  solver {job.backend}, {_limits(job)}, reasons {'yes' if job.explain else 'no'}",
             f"  asked by {job.created_by} at {_stamp(job, 'created_at')}"
             + (f" (a retry of job {job.retry_of})" if job.retry_of is not None else ""),
             f"  started {_stamp(job, 'started_at')}, finished {_stamp(job, 'finished_at')}, elapsed "
             f"{_elapsed_of(job)}" + (f", on {job.worker}" if job.worker else "")]
    if job.stage is not None:
        lines.append(f"  stage: {job.stage}" + (f" ({job.detail})" if job.detail else ""))
    if job.incumbent is not None or job.bound is not None:
        lines.append(f"  search: {_figures_of(job)}")
    if job.cancel_requested and job.state not in jobs.FINISHED:
        lines.append("  cancelling: its worker stops the solver within a few seconds")
    if job.run_id is not None:
        lines.append(f"  recorded run {job.run_id}")
    if job.reason:
        lines.append(f"  reason: {job.reason}")
    return lines


@job.command("cancel")
@click.argument("job_id", metavar="ID", type=int)
def job_cancel(job_id: int) -> None:
    """Cancel a queued job, or ask a running one to stop (its worker stops the solver within seconds)."""
    with database_or_exit() as sessions, sessions.begin() as session:
        found = jobs.cancel_job(session, None, job_id)
        line = (f"job {found.id} cancelled before it started" if found.state == JobState.CANCELLED else
                f"job {found.id}: asked to stop; its worker stops the solver within a few seconds "
                f"(`swarm job show {found.id}`)")
    click.echo(line)


@job.command("retry")
@click.argument("job_id", metavar="ID", type=int)
@click.option("--detach", is_flag=True, help="Only queue the new job for `swarm worker` (needs SWARM_QUEUE_URL=redis"
              "://...) and print its id.")
def job_retry(job_id: int, detach: bool) -> None:
    """Run a failed or cancelled job again, as a new job with its options (here, as `swarm clear` does)."""
    detached = _redis_queue() if detach else None
    with database_or_exit() as sessions:
        def hand_over(queue: JobQueue) -> int:
            return retry(sessions, queue, None, job_id)
        if detached is None:
            _run_here(sessions, hand_over)
        else:
            _detached(hand_over, detached)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs waiting now, then stop.")
@click.option("--nice", "niceness", type=click.IntRange(0, 19), default=DEFAULT_NICENESS, show_default=True,
              help="Lower the worker's CPU priority by this much (its work horses and CBC inherit it), so that a "
                   "clearing yields the CPU to the web server and PostgreSQL on a shared machine; 0 keeps it.")
def worker(burst: bool, niceness: int) -> None:
    """Run clearing jobs from the queue on Redis (RQ; SWARM_QUEUE_URL), until stopped: SIGTERM or Ctrl-C lets
    the job running end first. Logs to stderr."""
    url = redis_url()
    if url is None:
        fail(f"`swarm worker` runs clearing jobs queued on Redis: set {QUEUE_ENV}=redis://HOST:6379/0 here and for "
             "the web app. Without it (the embedded default) the web app runs clearing jobs on a worker thread of "
             "its own and `swarm clear` runs them in the foreground, so there is no worker to start", EXIT_INVALID)
    logging.getLogger().setLevel(logging.INFO)
    now = os.nice(niceness)
    with database_or_exit() as sessions:
        logging.getLogger(__name__).info("swarm worker on %s%s, niceness %d", shown(url), " (burst)" if burst else "",
                                         now)
        work(sessions, url, burst)      # its sweeper thread also sends the outbox's e-mails
        outbox.send_pending(sessions, outbox.sender_from_env())


@click.command("outbox")
def outbox_() -> None:
    """Send the e-mails waiting in the outbox now (through SMTP when SWARM_MAIL_SERVER is set, else to the
    log), as the worker does on its own; prints how many were sent and how many still wait."""
    with database_or_exit() as sessions:
        sent = outbox.send_pending(sessions, outbox.sender_from_env(), limit=10_000)
        with sessions.begin() as session:
            waiting = outbox.waiting(session)
    click.echo(f"sent {sent}; {waiting} waiting" + (" (they failed: see the log)" if waiting else ""))
