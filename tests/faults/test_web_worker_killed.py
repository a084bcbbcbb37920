"""A gunicorn worker killed (SIGKILL) twice during a burst of pledges sent through the JSON API with
Idempotency-Keys: the requests it was serving lose their connection, the client sends them again with the
same key, and the database ends with exactly the pledges that were answered 201: none lost, none twice."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.orphans import NEEDS_SIGNALS
from tests.servers import Gunicorn, app_environment, running, wait_until

from .helpers import PledgeBurst, seeded_postgres

pytestmark = [pytest.mark.faults, NEEDS_SIGNALS]


def test_a_worker_killed_during_a_burst_of_pledges_loses_none_and_doubles_none(tmp_path: Path):
    with seeded_postgres() as (_, seeded), \
            running(Gunicorn(tmp_path, app_environment(seeded.url), workers=2, threads=4)) as web:
        web.start()
        burst = PledgeBurst(web, seeded, count=240, clients=8).start()
        killed = []
        for share in (0.25, 0.6):
            burst.wait_done(share)
            victim = web.worker_pids()[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
            # the master starts another in its place
            wait_until(lambda gone=victim: gone not in web.worker_pids() and len(web.worker_pids()) == 2, 60,
                       "gunicorn replacing its killed worker")
        burst.join()
        print(burst.summary())

        burst.assert_exactly_once()
        statuses = burst.statuses()
        assert set(statuses) <= {201, None}, statuses          # no 500, no 503: only the killed worker's lost answers
        assert statuses.get(None, 0) >= 1, "no request was in flight in a killed worker: the fault was not met"
        assert not set(web.worker_pids()) & set(killed)
