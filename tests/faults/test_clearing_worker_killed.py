"""The clearing worker killed mid-solve, while CBC runs a round big enough to keep it busy, in both ways it
dies: its work horse killed (SIGKILL; out of memory looks the same), and the whole `swarm worker` with its
horse and CBC killed at once (a machine lost). Each time the round is left as it was, no CBC outlives its
worker, the job ends failed with the reason (at once for a horse, through the heartbeat reaper for a lost
machine), and the retry asked through the API then succeeds on a new worker."""
from __future__ import annotations

import json
import time
from pathlib import Path

import psutil
import pytest

from market.db import make_engine, make_sessionmaker
from market.services import jobs
from tests.market.helpers import state
from tests.orphans import NEEDS_SIGNALS, busy_market, cbcs_under, gone
from tests.servers import Gunicorn, RedisServer, SwarmWorker, app_environment, running, wait_until

from .helpers import api, import_closed, job_ended, job_state, seeded_postgres

pytestmark = [pytest.mark.faults, NEEDS_SIGNALS]

TIME_LIMIT = 6          # seconds for the whole clearing, reasons included: the retry ends within it


class Database:
    """What tests.market.helpers.state reads: the database's sessions."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessions = make_sessionmaker(self.engine)


def round_state(db: Database, round_id: int) -> dict:
    """Everything a clearing may change in the round (the audit log, which records the jobs, aside)."""
    found = state(db, round_id)
    found.pop("audit")
    return found


def cbc_of(worker: SwarmWorker) -> tuple[psutil.Process, psutil.Process]:
    """The work horse running now, and its CBC once it runs."""
    horse = worker.horse()
    cbc = wait_until(lambda: cbcs_under(horse.pid), 60, "CBC running under the work horse")[0]
    return horse, cbc


def test_the_clearing_worker_killed_mid_solve_leaves_the_round_and_the_retry_succeeds(tmp_path: Path):
    with seeded_postgres() as (_, seeded), running(RedisServer(tmp_path)) as redis:
        redis.start()
        environment = app_environment(seeded.url, SWARM_QUEUE_URL=redis.url(0))
        round_id = import_closed(seeded.url, json.loads(busy_market()))
        db = Database(seeded.url)
        before = round_state(db, round_id)
        with running(Gunicorn(tmp_path, environment, workers=2, threads=4)) as web, \
                running(SwarmWorker(tmp_path, environment)) as first, \
                running(SwarmWorker(tmp_path, environment)) as second:
            web.start()
            first.start().listening()

            # 1. the work horse killed: RQ's worker sees it die and fails the job at once
            asked = api(web.base, seeded.analyst, "POST", f"/rounds/{round_id}/clear?time_limit={TIME_LIMIT}")
            assert asked.status == 202, asked.body
            job = asked.json()["id"]
            horse, cbc = cbc_of(first)
            horse.kill()
            failed = job_ended(web.base, seeded.analyst, job, 30)
            assert failed["state"] == "failed", failed
            assert "killed (signal 9) mid-solve" in failed["reason"] and "round is unchanged" in failed["reason"]
            assert gone(cbc.pid), "CBC outlived its work horse"
            assert round_state(db, round_id) == before
            assert first.alive()

            # 2. the retry, and the whole worker killed with it (horse and CBC too): a machine lost
            retried = api(web.base, seeded.analyst, "POST", f"/jobs/{job}/retry")
            assert retried.status == 202, retried.body
            lost = retried.json()["id"]
            _, cbc = cbc_of(first)
            first.kill()
            assert gone(cbc.pid)
            assert job_state(web.base, seeded.analyst, lost)["state"] == "running"   # nobody says otherwise yet
            # the reaper every worker's sweeper runs (every 5 s, for jobs silent STALE_SECONDS = 30 s) fails it;
            # called here with 2 s to keep the test short
            time.sleep(2 + jobs.HEARTBEAT_SECONDS)
            with db.sessions.begin() as session:
                assert jobs.reap_stale(session, stale=2) == [lost]
            failed = job_state(web.base, seeded.analyst, lost)
            assert failed["state"] == "failed" and "round is unchanged" in failed["reason"], failed
            assert round_state(db, round_id) == before

            # 3. the retry of the lost job, on a worker started since: it succeeds
            second.start().listening()
            again = api(web.base, seeded.analyst, "POST", f"/jobs/{lost}/retry")
            assert again.status == 202, again.body
            done = job_ended(web.base, seeded.analyst, again.json()["id"], TIME_LIMIT + 60)
            assert done["state"] == "succeeded", done
            cleared = api(web.base, seeded.analyst, "GET", f"/rounds/{round_id}")
            assert cleared.json()["status"] == "cleared"
            assert len(api(web.base, seeded.analyst, "GET", f"/rounds/{round_id}/runs").json()) == 1
        db.engine.dispose()
