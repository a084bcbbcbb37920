"""`swarm clear` as a job (progress on stderr, refused while a job runs, Ctrl-C cancels), `swarm clear --detach`
with `swarm worker`, and `swarm jobs`, `job show`, `job cancel`, `job retry`."""
from __future__ import annotations

import io
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from rich.console import Console
from sqlalchemy import func, select

from market.cli_progress import JobProgress
from market.models import Job, JobState, Round
from market.services.jobs import Progress, beat, cancel_job, claim, submit_clearing
from solver import progress
from tests.orphans import NEEDS_SIGNALS, busy_market, cbc_under, gone
from tests.paths import ROOT
from tests.redis_server import redis_server
from tests.swarm import run, run_on

from .helpers import closed_round, import_round, state

STAGE_LINE = re.compile(r"^\[ *\d+\.\d s\] (.+)$")


def job_row(db, job_id):
    with db.sessions.begin() as session:
        return session.get_one(Job, job_id)


def job_count(db):
    with db.sessions.begin() as session:
        return session.scalar(select(func.count()).select_from(Job))


def round_status(db, round_id):
    with db.sessions.begin() as session:
        return session.get_one(Round, round_id).status


def queued_job(db, round_id):
    with db.sessions.begin() as session:
        return submit_clearing(session, None, round_id).id


def unchanged(before, after):
    """The round as a clearing could change it (a cancelled job adds audit rows of its own)."""
    return {k: v for k, v in before.items() if k != "audit"} == {k: v for k, v in after.items() if k != "audit"}


def test_clear_shows_each_stage_in_order_on_stderr_and_the_summary_on_stdout(db):
    round_id = closed_round(db)
    result = run_on(db.url, "clear", round_id)
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == f"job 1: clearing round {round_id} with cbc, time limit 60 s, gap none (Ctrl-C cancels)"
    shown = [STAGE_LINE.match(line).group(1) for line in lines[1:]]     # every other line is a stage's: its
    stages = [name for i, name in enumerate(s.split(":")[0] for s in shown)   # name, then its figures as they
              if i == 0 or shown[i - 1].split(":")[0] != name]                  # come ("value phase: incumbent")
    assert stages == [s for s in progress.STAGES if s in stages]                        # in the engine's order
    assert any(s.startswith(f"{progress.VALUE}: incumbent ") and "gap" in s for s in shown)
    assert {progress.MODEL, progress.VALUE, progress.COST, progress.ROUNDING, progress.REASONS} <= set(stages)
    out = result.stdout.splitlines()
    assert out[0].startswith("small water: optimal (cbc") and "completed 2 of 2 challenges" in result.stdout
    assert out[-1] == f"run 1 recorded as the result of round {round_id}"
    job = job_row(db, 1)
    assert (job.state, job.run_id, job.time_limit, job.gap) == (JobState.SUCCEEDED, 1, 60.0, None)


def test_clear_passes_its_options_to_the_job(db):
    round_id = closed_round(db)
    result = run_on(db.url, "clear", round_id, "--solver", "highs", "--time-limit", 30, "--gap", 0.01, "--no-explain")
    assert result.exit_code == 0, result.output
    job = job_row(db, 1)
    assert (job.backend, job.time_limit, job.gap, job.explain, job.state) == ("highs", 30.0, 0.01, False, "succeeded")


def test_a_second_clear_while_a_job_is_active_is_refused_naming_the_job(db):
    round_id = closed_round(db)
    before = state(db, round_id)
    job_id = queued_job(db, round_id)
    for extra in ([], ["--no-explain"]):
        result = run_on(db.url, "clear", round_id, *extra)
        assert result.exit_code == 1
        assert result.output == (f"error: round {round_id} is already being cleared: job {job_id} is queued; "
                                 "wait for it or cancel it first\n")
    assert job_row(db, job_id).state == JobState.QUEUED
    assert unchanged(before, state(db, round_id))


@NEEDS_SIGNALS
def test_ctrl_c_cancels_the_job_kills_cbc_and_leaves_the_round_as_it_was(db):
    round_id = closed_round(db, json.loads(busy_market()))
    before = state(db, round_id)
    process = subprocess.Popen([sys.executable, "-m", "web.cli", "clear", str(round_id), "--solver", "cbc"], cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT), "SWARM_DATABASE_URL": db.url},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        cbc = cbc_under(process, within=60)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait(30)
    assert process.returncode == 130, err
    assert gone(cbc.pid), "CBC outlived the clearing cancelled by Ctrl-C"
    assert err.splitlines()[-1] == f"cancelled: job 1 stopped by Ctrl-C; nothing was recorded, round {round_id} stays closed"
    assert "Traceback" not in err and "recorded as the result" not in out
    job = job_row(db, 1)
    assert job.state == JobState.CANCELLED and job.reason.startswith("cancelled (interrupted) during the "), job.reason
    assert unchanged(before, state(db, round_id))


def test_detach_needs_a_redis_queue_and_worker_explains_the_embedded_default(db, monkeypatch):
    monkeypatch.delenv("SWARM_QUEUE_URL", raising=False)
    round_id = closed_round(db)
    result = run_on(db.url, "clear", round_id, "--detach")
    assert result.exit_code == 2
    assert result.output == ("error: --detach queues the job for `swarm worker` processes, through Redis: set "
                             "SWARM_QUEUE_URL=redis://HOST:6379/0 (without --detach the job runs here, in the "
                             "foreground)\n")
    for setting in ("", "thread"):
        result = run("worker", "--burst", env={"SWARM_DATABASE_URL": db.url, "SWARM_QUEUE_URL": setting})
        assert result.exit_code == 2
        assert result.output.startswith("error: `swarm worker` runs clearing jobs queued on Redis: set "
                                        "SWARM_QUEUE_URL=redis://HOST:6379/0")
        assert "the web app runs clearing jobs on a worker thread of its own" in result.output
    assert job_count(db) == 0                                                       # nothing was queued


def test_detach_when_redis_is_unreachable_queues_nothing_and_leaves_the_round_open(db):
    round_id = import_round(db)
    result = run("clear", round_id, "--detach", env={"SWARM_DATABASE_URL": db.url,
                                                                "SWARM_QUEUE_URL": "redis://127.0.0.1:9/0"})
    assert result.exit_code == 1
    assert result.output.startswith("error: the job queue (RQ on redis://127.0.0.1:9/0) cannot be reached")
    assert job_count(db) == 0 and round_status(db, round_id) == "open"


def test_a_detached_clearing_is_run_by_swarm_worker_burst(db, tmp_path):
    with redis_server(tmp_path) as url:
        round_id = closed_round(db)
        env = {"SWARM_DATABASE_URL": db.url, "SWARM_QUEUE_URL": url}
        result = run("clear", round_id, "--detach", env=env)
        assert result.exit_code == 0, result.output
        assert result.stdout == "1\n"
        assert result.stderr == ("job 1 queued on RQ on " + url + " for `swarm worker`; `swarm job show 1` follows it\n")
        assert job_row(db, 1).state == JobState.QUEUED and round_status(db, round_id) == "closed"
        worker = subprocess.run([sys.executable, "-m", "web.cli", "worker", "--burst"], cwd=ROOT, capture_output=True,
                                text=True, timeout=30, env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    assert worker.returncode == 0, worker.stderr
    assert f"job 1: round {round_id} cleared, run 1" in worker.stderr              # logged at INFO
    job = job_row(db, 1)
    assert (job.state, job.run_id) == (JobState.SUCCEEDED, 1) and job.worker.startswith("rq@")
    assert round_status(db, round_id) == "cleared"


@NEEDS_SIGNALS
def test_an_idle_swarm_worker_runs_niced_and_stops_on_the_first_sigterm(db, tmp_path):
    """A service manager stops `swarm worker` with one SIGTERM, also when no job runs (RQ marks a stop asked
    for only during a job: the worker used to start again); `--nice` lowers its priority for CBC to inherit."""
    with redis_server(tmp_path) as url:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SWARM_DATABASE_URL": db.url, "SWARM_QUEUE_URL": url}
        process = subprocess.Popen([sys.executable, "-m", "web.cli", "worker", "--nice", "5"], cwd=ROOT, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True)
        reader.start()
        try:
            seen = []
            while not any("Listening on" in line for line in seen):
                seen.append(lines.get(timeout=30))
            assert os.getpriority(os.PRIO_PROCESS, process.pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 5)
            time.sleep(1)                                   # idle in RQ's wait for a job
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0
        finally:
            process.kill()
            process.wait(30)
            reader.join(5)
            process.stderr.close()
    logged = "".join(seen) + "".join(lines.queue)
    assert f"swarm worker on {url}, niceness " in logged and "warm shut down requested" in logged
    assert logged.count("started with PID") == 1                    # not started again after the SIGTERM


def test_jobs_show_cancel_and_retry(db):
    round_id = closed_round(db)
    job_id = queued_job(db, round_id)
    for args in (["jobs"], ["jobs", round_id]):
        result = run_on(db.url, *args)
        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[0].split() == ["job", "round", "state", "stage", "elapsed", "incumbent,",
                                                         "bound,", "gap", "reason"]
        assert result.output.splitlines()[1].split() == [str(job_id), str(round_id), "queued", "-", "-", "-"]
    shown = run_on(db.url, "job", "show", job_id).output.splitlines()
    assert shown[0] == f"job {job_id}: clearing of round {round_id}, queued"
    assert shown[1] == "  solver cbc, time limit 60 s, gap none, reasons yes"

    assert run_on(db.url, "job", "cancel", job_id).output == f"job {job_id} cancelled before it started\n"
    assert job_row(db, job_id).state == JobState.CANCELLED
    again = run_on(db.url, "job", "cancel", job_id)
    assert (again.exit_code, again.output) == (
        2, f"error: job {job_id} has cancelled; only a queued or running job can be cancelled\n")

    retried = run_on(db.url, "job", "retry", job_id)                  # in the foreground, as `swarm clear`
    assert retried.exit_code == 0, retried.output
    assert retried.stderr.splitlines()[0].startswith(f"job 2: clearing round {round_id} with cbc")
    assert retried.stdout.splitlines()[-1] == f"run 1 recorded as the result of round {round_id}"
    assert round_status(db, round_id) == "cleared"
    shown = run_on(db.url, "job", "show", 2).output
    assert f"(a retry of job {job_id})" in shown and "  recorded run 1" in shown and ", succeeded" in shown
    listed = run_on(db.url, "jobs", round_id).output.splitlines()
    assert [line.split()[:3] for line in listed[1:]] == [["2", str(round_id), "succeeded"],
                                                         [str(job_id), str(round_id), "cancelled"]]
    assert listed[2].endswith("cancelled before it started")
    refused = run_on(db.url, "job", "retry", 2)
    assert (refused.exit_code, refused.output) == (
        2, "error: job 2 is succeeded; only a failed or cancelled job can be retried\n")


def test_unknown_jobs_and_rounds_exit_2(db):
    for args in (["job", "show", 99], ["job", "cancel", 99], ["job", "retry", 99], ["job", "show", 2**70]):
        result = run_on(db.url, *args)
        assert (result.exit_code, result.output) == (2, f"error: no job {args[-1]}\n"), args
    result = run_on(db.url, "jobs", 99)
    assert (result.exit_code, result.output) == (2, "error: no round 99\n")
    assert run_on(db.url, "jobs").output == "no clearing jobs\n"


def test_plain_progress_gives_a_stages_figures_as_it_ends_and_not_at_every_report(capsys):
    with JobProgress(live=False) as shown:
        shown.stage(progress.VALUE, "part 1 of 2")
        shown.search(90.0, 120.0)                          # the first report is shown
        shown.search(100.0, 110.0)                         # a report within FIGURES_EVERY is held...
        shown.stage(progress.COST, None)                   # ...until the stage ends
        shown.search(5000.5, 4000.0)
    lines = [STAGE_LINE.match(line).group(1) for line in capsys.readouterr().err.splitlines()]
    assert lines == ["value phase: part 1 of 2",
                     "value phase: incumbent 90, bound 120, gap 33.33%",
                     "value phase: incumbent 100, bound 110, gap 10.00%",
                     "cost phase",
                     "cost phase: incumbent 5,000.50, bound 4,000, gap 20.01%"]


def test_on_a_terminal_each_stage_stays_as_a_line_with_its_time_and_figures():
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    with JobProgress(console=console) as shown:
        assert shown.live
        shown.stage(progress.MODEL, None)
        shown.stage(progress.VALUE, None)
        shown.search(100.0, 125.0)
        shown.stage(progress.COST, None)
    text = screen.getvalue()
    assert re.search(r"  model \(\d+\.\d s\)", text)
    assert re.search(r"  value phase \(\d+\.\d s, incumbent 100, bound 125, gap 25\.00%\)", text)
    assert re.search(r"  cost phase \(\d+\.\d s\)", text)


def test_ctrl_c_is_a_request_to_stop_the_solver_reads():
    shown = JobProgress(live=False)
    assert not shown.stop_requested()
    shown.interrupted.set()
    with pytest.raises(progress.Cancelled), progress.following(shown):
        progress.stage(progress.VALUE)


def test_a_running_job_shows_its_stage_and_figures_and_is_asked_to_stop(db):
    round_id = closed_round(db)
    job_id = queued_job(db, round_id)
    with db.sessions.begin() as session:
        claim(session, job_id, "elsewhere")
        beat(session, job_id, "elsewhere", Progress(stage=progress.VALUE, detail="part 1 of 2", incumbent=100.0,
                                                    bound=110.0, rel_gap=0.1))
    row = run_on(db.url, "jobs").output.splitlines()[1]
    assert row.split()[:4] == [str(job_id), str(round_id), "running", "value"]
    assert "incumbent 100, bound 110, gap 10.00%" in row
    shown = run_on(db.url, "job", "show", job_id).output
    assert "  stage: value phase (part 1 of 2)\n" in shown and "  search: incumbent 100, bound 110, gap 10.00%\n" in shown
    assert run_on(db.url, "job", "cancel", job_id).output == (
        f"job {job_id}: asked to stop; its worker stops the solver within a few seconds (`swarm job show {job_id}`)\n")
    assert "  cancelling: its worker stops the solver within a few seconds" in run_on(db.url, "job", "show", job_id).output


def test_a_job_cancelled_elsewhere_ends_the_foreground_clear_with_exit_1(db, monkeypatch):
    from market.services import clearing

    def cancelled_meanwhile(market, options):
        with db.sessions.begin() as session:                   # as `swarm job cancel 1` in another terminal
            cancel_job(session, None, 1)
        for _ in range(600):                                   # the next heartbeat brings the word (bounded)
            progress.stage(progress.VALUE)
            time.sleep(0.05)
        raise AssertionError("the cancel never reached the clearing")

    monkeypatch.setattr(clearing, "clear", cancelled_meanwhile)
    round_id = closed_round(db)
    before = state(db, round_id)
    result = run_on(db.url, "clear", round_id)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == ("error: job 1 was cancelled (cancelled during the value phase); "
                                              "nothing was recorded")
    assert job_row(db, 1).state == JobState.CANCELLED and unchanged(before, state(db, round_id))
