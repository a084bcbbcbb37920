"""CBC, a process of its own, never outlives the call that started it (solver/backends/cbc.py): it is
killed past its time limit even when it ignores it, when the wait for it is interrupted, and when the
process that started it is killed (swarm solve here; swarm clear in tests/market/test_kill.py, a web
worker in tests/web/test_kill.py)."""
from __future__ import annotations

import os
import signal
import threading

import pulp
import pytest

from solver import backends
from solver.backends import cbc
from solver.outcome import Outcome
from tests.orphans import NEEDS_SIGNALS, busy_market, gone, killed_mid_solve, twin_busy_markets


def _small_problem() -> pulp.LpProblem:
    """max 3x + 2y, x + y <= 1, x and y binary: 3."""
    prob = pulp.LpProblem("small", pulp.LpMaximize)
    x, y = (prob.add_variable(n, cat=pulp.LpBinary) for n in "xy")
    prob.setObjective(pulp.LpAffineExpression([(x, 3), (y, 2)]))
    prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(x, 1), (y, 1)]), pulp.LpConstraintLE, "one", 1))
    return prob


@pytest.fixture
def deaf_cbc(tmp_path, monkeypatch):
    """A "CBC" that ignores its time limit (as CBC does while it presolves or solves the root LP): it
    writes its process id and sleeps."""
    pid_file = tmp_path / "cbc.pid"
    program = tmp_path / "cbc"
    program.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 600\n")
    program.chmod(0o755)
    monkeypatch.setattr(pulp.PULP_CBC_CMD, "pulp_cbc_path", str(program))
    monkeypatch.setattr(cbc, "GRACE_SECONDS", 0.5, raising=False)
    yield pid_file
    if pid_file.exists():                       # never leave it sleeping, whatever the test found
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


@NEEDS_SIGNALS
def test_cbc_that_ignores_its_time_limit_is_killed_after_it(deaf_cbc):
    reports = []
    run = threading.Thread(target=lambda: reports.append(backends.solve(_small_problem(), "cbc", time_limit=0.5)),
                           daemon=True)
    run.start()
    run.join(60)
    assert not run.is_alive(), "the solve waited on for a CBC past its time limit"
    assert [r.outcome for r in reports] == [Outcome.NONE]         # killed: no solution, and no retry
    assert gone(int(deaf_cbc.read_text()), within=0)


@NEEDS_SIGNALS
def test_cbc_without_a_time_limit_is_not_killed():
    """No limit, no kill: the answer is CBC's own."""
    report = backends.solve(_small_problem(), "cbc")
    assert report.outcome == Outcome.OPTIMAL and report.objective == 3


@NEEDS_SIGNALS
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_swarm_solve_leaves_no_cbc(tmp_path, how):
    market = tmp_path / "busy.json"
    market.write_text(busy_market())
    killed_mid_solve(["-m", "web.cli", "solve", str(market), "--solver", "cbc", "--no-explain",
                      "-o", str(tmp_path / "out.json")], how)


@NEEDS_SIGNALS
def test_a_killed_clearing_leaves_no_worker_process_nor_their_cbc(tmp_path):
    """A market of two parts cleared in two worker processes (solver/parts.py), each running CBC."""
    market = tmp_path / "twins.json"
    market.write_text(twin_busy_markets())
    script = ("import sys\n"
              "from solver.clearing import ClearOptions, clear\n"
              "from solver.loading import load_market\n"
              "if __name__ == '__main__':\n"
              "    clear(load_market(sys.argv[1]), ClearOptions(backend='cbc', workers=2, explain=False))\n")
    (tmp_path / "clear_twins.py").write_text(script)
    killed_mid_solve([str(tmp_path / "clear_twins.py"), str(market)], signal.SIGKILL)
