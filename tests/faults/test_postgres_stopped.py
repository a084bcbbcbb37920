"""PostgreSQL stopped during a burst of pledges, then started again under the same running gunicorn: while it
is away every request that needs it is answered 503 with Retry-After (the API's JSON error, the site's own
error page), none is dropped and none is a 500; /healthz stays 200 and /readyz says the database is
unreachable; once it is back the same workers serve again (no restart), and the pledges retried with their
Idempotency-Keys end exactly once each."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.servers import Gunicorn, app_environment, running

from .helpers import Browser, PledgeBurst, api, assert_api_error, assert_error_page, call, seeded_postgres

pytestmark = pytest.mark.faults

OUTAGE = 3.0            # seconds PostgreSQL stays away
RECOVERY = 5.0          # seconds from PostgreSQL accepting connections again to the app's first 201


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_stopped_during_writes_is_a_503_and_the_app_recovers_without_a_restart(tmp_path: Path, mode: str):
    with seeded_postgres() as (postgres, seeded), \
            running(Gunicorn(tmp_path, app_environment(seeded.url), workers=2, threads=4)) as web:
        web.start()
        workers = web.worker_pids()
        analyst = Browser(web.base)
        analyst.login(seeded.analyst_email)
        burst = PledgeBurst(web, seeded, count=160, clients=6, pause=0.2, within=90).start()
        burst.wait_done(0.3)

        postgres.stop(mode)
        stopped_at = time.monotonic() - burst.started
        assert call(web.base, "GET", "/healthz").status == 200
        ready = call(web.base, "GET", "/readyz")
        database = ready.json()["checks"]["database"]
        assert ready.status == 503 and not database["ok"] and database["detail"].startswith("unreachable"), database
        page = call(web.base, "GET", "/")
        assert_error_page(page, 503, "Database unavailable")
        assert page.headers["retry-after"] == "10"
        # signed in: the user cannot be read either, and the page is drawn for nobody signed in
        signed_in = analyst.get("/analyst/")
        assert "Log in" in assert_error_page(signed_in, 503, "Database unavailable")
        listed = api(web.base, seeded.funder, "GET", f"/rounds/{seeded.open_round}/pledges")
        body = assert_api_error(listed, 503)
        assert "Idempotency-Key" in body["errors"][""][0] and listed.headers["retry-after"] == "10"
        assert "postgres" not in json.dumps(body) and str(postgres.port) not in json.dumps(body)
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - burst.started - stopped_at)))

        postgres.start()
        back_at = time.monotonic() - burst.started
        burst.join()
        print(f"{mode}: {burst.summary()}; stopped at {stopped_at:.1f} s, back at {back_at:.1f} s")

        burst.assert_exactly_once()
        statuses = burst.statuses()
        assert set(statuses) <= {201, 503}, statuses      # every request answered: none dropped, none a 500
        assert statuses.get(503, 0) >= 1, "no pledge met the outage"
        during = [a for s in burst.sent for a in s.attempts if stopped_at + 0.5 < a.at < back_at - 0.2]
        assert during and all(a.status == 503 for a in during), during
        first_after = min(a.at for s in burst.sent for a in s.attempts if a.at > back_at and a.status == 201)
        assert first_after - back_at < RECOVERY, f"the first 201 came {first_after - back_at:.1f} s after"
        assert web.worker_pids() == workers, "a gunicorn worker was restarted"
        assert call(web.base, "GET", "/readyz").status == 200
        assert analyst.get("/analyst/").status == 200           # the session survived the outage
        assert api(web.base, seeded.funder, "GET", f"/rounds/{seeded.open_round}/pledges").status == 200
    log = web.log.read_text()
    assert "Traceback" not in log, log[-3000:]
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(line["logger"] == "web.errors" and "unreachable" in line["message"] for line in lines)
    assert not [line for line in lines if line.get("status") == 500 or line["level"] in ("ERROR", "CRITICAL")]
