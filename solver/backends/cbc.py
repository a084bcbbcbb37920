"""CBC, the solver bundled with PuLP 3.3, run through PuLP's command-line interface."""
from __future__ import annotations

import os
import re
import tempfile
import time
import warnings

import pulp

from ..outcome import Outcome
from .common import BackendError, outcome_of


def cbc_solver(**options: object) -> pulp.LpSolver:
    """PuLP 3.3's bundled CBC. PuLP warns that 4.0 drops it; we pin 3.3.2 (see pyproject)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PULP_CBC_CMD is deprecated", category=DeprecationWarning)
        return pulp.PULP_CBC_CMD(**options)


def solve_cbc(prob: pulp.LpProblem, time_limit: float | None, gap: float | None,
              abs_gap: float | None, warm_start: bool) -> tuple[Outcome, float | None, float | None]:
    # No CBC preprocessing: 2.10.3's (the one PuLP bundles) fixes and substitutes wrongly on some
    # small clearing models (a pledge too small for one bid, an exclusive group, a cover row with
    # mixed quantities) and then calls a costlier answer optimal (tests/solver/test_clearing_properties.py).
    # On the OR-Library markets this is faster on some and slower on others (b05200: 2 s -> 28 s).
    # Without it, though, CBC crashes writing the answer of some infeasible models; those it
    # solves again with preprocessing, which says they are infeasible.
    started = time.perf_counter()
    try:
        log = _run_cbc(prob, time_limit, gap, abs_gap, warm_start, ["preprocess off"])
    except pulp.PulpSolverError:
        if time_limit is not None:          # the retry gets only what is left of the limit
            time_limit = max(time_limit - (time.perf_counter() - started), 0.01)
        try:
            log = _run_cbc(prob, time_limit, gap, abs_gap, warm_start, [])
        except pulp.PulpSolverError as exc:
            raise BackendError(f"CBC failed: {exc}") from None
    outcome = outcome_of(prob)
    if outcome == Outcome.OPTIMAL and re.search(r"Result - (Stopped on|Optimal solution found \(within gap)", log):
        outcome = Outcome.FEASIBLE       # CBC calls a run stopped by --gap "optimal"; we do not
    objective = pulp.value(prob.objective) if outcome.found else None
    bound = objective if outcome == Outcome.OPTIMAL else _cbc_bound(log, prob.sense)
    return outcome, objective, bound


def _run_cbc(prob: pulp.LpProblem, time_limit: float | None, gap: float | None, abs_gap: float | None,
             warm_start: bool, options: list[str]) -> str:
    """Solve with CBC; returns its log."""
    with tempfile.TemporaryDirectory(prefix="swarm-cbc-") as tmp:
        log_path = os.path.join(tmp, "cbc.log")
        solver = cbc_solver(msg=False, timeLimit=time_limit, gapRel=gap if gap is not None else 0, gapAbs=abs_gap,
                      warmStart=warm_start, threads=1, logPath=log_path, keepFiles=False, options=options)
        prob.solve(solver)
        if not os.path.exists(log_path):
            return ""
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()


def _cbc_bound(log: str, sense: int) -> float | None:
    found = re.findall(r"^Lower bound:\s+(-?[\d.eE+]+)", log, flags=re.M)
    if not found:
        return None
    bound = float(found[-1])
    return -bound if sense == pulp.LpMaximize else bound   # CBC minimises -objective for a maximum
