"""The only module that talks to solver classes: CBC (bundled with PuLP) and HiGHS.

Each backend runs a PuLP problem and reports one of four outcomes, plus the
best bound where the backend tells it. Keeping this in one place makes a move
to another PuLP version or solver a one-file change.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from typing import Iterator

import pulp

BACKENDS = ("cbc", "highs")


class BackendError(RuntimeError):
    """The solver could not be run or gave no usable answer."""


@dataclass(frozen=True, slots=True)
class SolveReport:
    outcome: str                 # "optimal", "feasible" (a limit stopped it), "none" (no solution), "infeasible"
    objective: float | None
    bound: float | None
    seconds: float


def _cbc(**options: object) -> pulp.LpSolver:
    """PuLP 3.3's bundled CBC. PuLP warns that 4.0 drops it; we pin 3.3.2 (see pyproject)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PULP_CBC_CMD is deprecated", category=DeprecationWarning)
        return pulp.PULP_CBC_CMD(**options)


def available(backend: str) -> bool:
    if backend == "cbc":
        return bool(_cbc(msg=False).available())
    if backend == "highs":
        return bool(pulp.HiGHS(msg=False).available())
    return False


def solve(prob: pulp.LpProblem, backend: str, *, time_limit: float | None = None,
          gap: float | None = None, abs_gap: float | None = None, warm_start: bool = False) -> SolveReport:
    """Solve `prob` in place (variables get their values) and say how it went."""
    if backend not in BACKENDS:
        raise BackendError(f"unknown solver backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if not available(backend):
        hint = " (pip install highspy)" if backend == "highs" else ""
        raise BackendError(f"the {backend} solver is not available on this machine{hint}")
    started = time.perf_counter()
    if time_limit is not None:
        time_limit = max(time_limit, 0.01)
    if backend == "cbc":
        report = _solve_cbc(prob, time_limit, gap, abs_gap, warm_start)
    else:
        report = _solve_highs(prob, time_limit, gap, abs_gap)
    return SolveReport(report[0], report[1], report[2], time.perf_counter() - started)


def _outcome(prob: pulp.LpProblem) -> str:
    if prob.sol_status == pulp.LpSolutionOptimal:
        return "optimal"
    if prob.sol_status == pulp.LpSolutionIntegerFeasible:
        return "feasible"
    if prob.status == pulp.LpStatusInfeasible:
        return "infeasible"
    return "none"


def _solve_cbc(prob: pulp.LpProblem, time_limit: float | None, gap: float | None,
               abs_gap: float | None, warm_start: bool) -> tuple[str, float | None, float | None]:
    # No CBC preprocessing: 2.10.3's (the one PuLP bundles) fixes and substitutes wrongly on some
    # small clearing models (a pledge too small for one bid, an exclusive group, a cover row with
    # mixed quantities) and then calls a costlier answer optimal (tests/solver/test_properties.py).
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
    outcome = _outcome(prob)
    if outcome == "optimal" and re.search(r"Result - (Stopped on|Optimal solution found \(within gap)", log):
        outcome = "feasible"       # CBC calls a run stopped by --gap "optimal"; we do not
    objective = pulp.value(prob.objective) if outcome in ("optimal", "feasible") else None
    bound = objective if outcome == "optimal" else _cbc_bound(log, prob.sense)
    return outcome, objective, bound


def _run_cbc(prob: pulp.LpProblem, time_limit: float | None, gap: float | None, abs_gap: float | None,
             warm_start: bool, options: list[str]) -> str:
    """Solve with CBC; returns its log."""
    with tempfile.TemporaryDirectory(prefix="swarm-cbc-") as tmp:
        log_path = os.path.join(tmp, "cbc.log")
        solver = _cbc(msg=False, timeLimit=time_limit, gapRel=gap if gap is not None else 0, gapAbs=abs_gap,
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


@contextlib.contextmanager
def _stdout_silenced() -> Iterator[None]:
    """HiGHS prints a banner on stdout once per process even when told to be quiet."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), fd)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, fd)
            os.close(saved)


def _solve_highs(prob: pulp.LpProblem, time_limit: float | None, gap: float | None,
                 abs_gap: float | None) -> tuple[str, float | None, float | None]:
    solver = pulp.HiGHS(msg=False, timeLimit=time_limit, gapRel=gap if gap is not None else 0.0,
                        gapAbs=abs_gap, threads=1)
    try:
        with _stdout_silenced():
            prob.solve(solver)
    except pulp.PulpSolverError as exc:
        raise BackendError(f"HiGHS failed: {exc}") from None
    outcome = _outcome(prob)
    info = prob.solverModel.getInfo()
    status = prob.solverModel.getModelStatus()
    import highspy
    if status == highspy.HighsModelStatus.kNotset:
        # HiGHS refused to start, which PuLP reports like a limit hit before any solution. The usual
        # cause: other code in this process started HiGHS's global scheduler with another thread count.
        raise BackendError("HiGHS did not run: its thread scheduler was started elsewhere in this process "
                           "with a thread count other than 1 (highspy.Highs.resetGlobalScheduler clears it)")
    if outcome == "optimal" and status != highspy.HighsModelStatus.kOptimal:
        outcome = "feasible"
    if outcome == "optimal" and gap and info.mip_gap > 1e-9 and info.mip_gap != float("inf"):
        outcome = "feasible"       # stopped by a positive --gap, not proven
    bound = info.mip_dual_bound if abs(info.mip_dual_bound) != float("inf") else None
    if bound is not None and prob.sense == pulp.LpMaximize:
        bound = -bound             # PuLP hands HiGHS the negated objective of a maximum
    objective = pulp.value(prob.objective) if outcome in ("optimal", "feasible") else None
    return outcome, objective, bound
