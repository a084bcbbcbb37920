"""A clearing process killed outright (SIGKILL) during the solve or inside the save leaves the
round as it was, and the next clearing works: no lock, no half-written run is left behind; and
`swarm clear` killed while CBC runs leaves no CBC behind (solver/parent_death.py)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import json
import textwrap

import pytest

from market import services

from tests.orphans import NEEDS_SIGNALS, busy_market, killed_mid_solve

from .helpers import closed_round, state

SCRIPT = textwrap.dedent("""
    import sys, time
    from market.db import make_engine, make_sessionmaker
    from market.services import clearing
    where, url, round_id = sys.argv[1], sys.argv[2], int(sys.argv[3])

    def hang(*args):
        print("ready", flush=True)
        time.sleep(600)

    if where == "solve":
        clearing.clear = lambda market, options: hang()
    else:
        real = clearing.save_flows
        def save_then_hang(session, run, rid, allocation):
            real(session, run, rid, allocation)
            session.flush()
            hang()
        clearing.save_flows = save_then_hang
    clearing.clear_round(make_sessionmaker(make_engine(url)), None, round_id)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("where", ["solve", "save"])
def test_a_killed_clearing_leaves_the_round_as_it_was(db, where):
    round_id = closed_round(db)
    before = state(db, round_id)
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, where, db.url, str(round_id)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(30)
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    assert state(db, round_id) == before
    cleared = services.clear_round(db.sessions, None, round_id)
    assert state(db, round_id)["runs"] == [(cleared.run_id, True)]


@NEEDS_SIGNALS
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_swarm_clear_leaves_no_cbc_and_the_round_as_it_was(db, how):
    round_id = closed_round(db, json.loads(busy_market()))
    before = state(db, round_id)
    killed_mid_solve(["-m", "web.cli", "clear", str(round_id), "--solver", "cbc"], how, SWARM_DATABASE_URL=db.url)
    after = state(db, round_id)
    assert after.pop("audit") == before.pop("audit") + 1        # the job's "clear-queued", nothing of a clearing
    assert after == before
