"""Redis (the job queue's and the rate limits' one) killed under a running gunicorn and `swarm worker` while a
clearing runs and another waits in the queue, then started again empty on the same port. Meanwhile clearing a
round says the queue is unavailable (503 with Retry-After, JSON on the API, the site's page on the form) and
writes nothing, while everything else works: pages, pledges, a login (rate-limited: counted in memory
meanwhile), following a job; /readyz says the queue is away. The running clearing finishes and is recorded,
`swarm worker` waits for Redis without dying, and once Redis is back the job that waited (which the empty
Redis no longer holds) runs, as does a new clearing."""
from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.orphans import busy_market
from tests.servers import Gunicorn, RedisServer, SwarmWorker, app_environment, running, wait_until

from .helpers import (Browser, api, assert_api_error, assert_error_page, call, import_closed, job_ended, job_state,
                      seeded_postgres)

pytestmark = pytest.mark.faults


def test_redis_stopped_refuses_clearings_only_and_queued_jobs_run_when_it_is_back(tmp_path: Path):
    with seeded_postgres() as (_, seeded), running(RedisServer(tmp_path)) as redis:
        redis.start()
        environment = app_environment(seeded.url, SWARM_QUEUE_URL=redis.url(0),
                                      SWARM_RATELIMIT_STORAGE_URL=redis.url(1))
        busy_round = import_closed(seeded.url, json.loads(busy_market()))
        waiting_round, other_round = seeded.closed_rounds
        with running(Gunicorn(tmp_path, environment, workers=2, threads=4)) as web, \
                running(SwarmWorker(tmp_path, environment)) as worker:
            web.start()
            worker.start().listening()
            analyst = Browser(web.base)
            analyst.login(seeded.analyst_email)
            running_job = api(web.base, seeded.analyst, "POST", f"/rounds/{busy_round}/clear?time_limit=5").json()["id"]
            wait_until(lambda: job_state(web.base, seeded.analyst, running_job)["state"] == "running", 30,
                       "the busy clearing running")
            # queued behind it (one worker): Redis holds its id, the database its row
            queued = api(web.base, seeded.analyst, "POST", f"/rounds/{waiting_round}/clear?time_limit=20")
            assert queued.status == 202, queued.body
            waiting_job = queued.json()["id"]

            redis.stop(signal.SIGKILL)
            assert call(web.base, "GET", "/healthz").status == 200
            ready = call(web.base, "GET", "/readyz")
            checks = ready.json()["checks"]
            assert ready.status == 503 and checks["database"]["ok"] and not checks["queue"]["ok"], checks

            # clearing: 503, nothing written (the round has no job)
            refused = api(web.base, seeded.analyst, "POST", f"/rounds/{other_round}/clear")
            body = assert_api_error(refused, 503)
            assert "cannot be reached" in body["errors"][""][0] and refused.headers.get("retry-after"), body
            form = analyst.post(f"/analyst/rounds/{other_round}/clear", {"solver": "cbc", "time_limit": "20", "gap": ""},
                                csrf_from=f"/analyst/rounds/{other_round}")
            assert "nothing was queued" in assert_error_page(form, 503, "The job queue is unavailable")
            assert api(web.base, seeded.analyst, "GET", f"/rounds/{other_round}/jobs").json() == []

            # everything else: pages, a pledge, a login (rate-limited: counted in memory), following the jobs
            assert call(web.base, "GET", "/").status == 200
            assert analyst.get(f"/analyst/rounds/{other_round}").status == 200
            pledged = api(web.base, seeded.funder, "POST", f"/rounds/{seeded.open_round}/pledges", {"amount": "12.50"})
            assert pledged.status == 201, pledged.body
            Browser(web.base).login(seeded.analyst_email)
            assert job_state(web.base, seeded.analyst, waiting_job)["state"] == "queued"
            assert job_state(web.base, seeded.analyst, running_job)["state"] == "running"
            time.sleep(2)                                   # the worker meets the outage meanwhile
            assert worker.alive(), worker.log.read_text()[-2000:]

            redis.start()                                   # empty, on the same port
            done = job_ended(web.base, seeded.analyst, running_job, 60)
            assert done["state"] == "succeeded", done
            done = job_ended(web.base, seeded.analyst, waiting_job, 60)
            assert done["state"] == "succeeded", done
            assert "enqueued again (queued in the database, unknown to Redis)" in worker.log.read_text()
            again = api(web.base, seeded.analyst, "POST", f"/rounds/{other_round}/clear?time_limit=20")
            assert again.status == 202, again.body
            assert job_ended(web.base, seeded.analyst, again.json()["id"], 60)["state"] == "succeeded"
            assert call(web.base, "GET", "/readyz").status == 200
            assert worker.alive()
            worker.process.send_signal(signal.SIGTERM)      # and it still stops when asked (idle: at once)
            assert worker.process.wait(10) == 0
        assert "Traceback" not in web.log.read_text(), web.log.read_text()[-3000:]
