"""A first allocation from the LP relaxation, for markets too big to search well in time.

On big markets the LP relaxation of "most value" is tight (well under 1% above
the optimum on generated markets) but branch-and-bound needs minutes before it
finds a good allocation. So: solve the relaxation once, keep every yes/no
decision the relaxation already made (a variable at 0 or at 1), and solve the
much smaller integer program over the decisions it left open (the RENS
heuristic). Its answer is a valid allocation of the whole market, and the
relaxation's value is a bound on the optimum, so the gap is known at once.
If the restricted program has no integer answer, only the zeros stay fixed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import pulp

from . import backends, progress
from .model import ClearingModel
from .outcome import Outcome

INTEGRAL = 1e-6


@dataclass(frozen=True, slots=True)
class RelaxationResult:
    bound: float | None          # the LP optimum: no allocation has more value
    found: bool                  # the model's variables hold an integer allocation
    open_decisions: int          # binaries the relaxation left fractional
    seconds: float


def relax_and_fix(model: ClearingModel, backend: str, time_limit: float | None) -> RelaxationResult:
    """Leaves the model's variables at the allocation found (when `found`); bounds are restored."""
    started = time.perf_counter()
    prob = model.prob
    # The model's own yes/no variables (prob.variables() would re-register every nonzero: slow when big).
    binaries = [*model.accept.values(), *model.done.values(), *model.funded.values()]
    for var in binaries:
        var.cat = pulp.LpContinuous
    progress.stage(progress.RELAXATION, "the LP relaxation")
    try:
        with progress.without_search():         # its solves bound and search a restricted model, not the market
            report = backends.solve(prob, backend, time_limit=time_limit)
    finally:
        for var in binaries:
            var.cat = pulp.LpInteger
    if report.outcome != Outcome.OPTIMAL:
        return RelaxationResult(None, False, 0, time.perf_counter() - started)
    bound = report.objective
    values = [(var, var.varValue or 0.0) for var in binaries]
    open_decisions = sum(1 for _, x in values if INTEGRAL < x < 1 - INTEGRAL)
    for fix_ones in (True, False):
        remaining = None if time_limit is None else time_limit - (time.perf_counter() - started)
        if remaining is not None and remaining <= 0:
            break
        progress.stage(progress.RELAXATION, f"solving for the {open_decisions} decisions it left open" if fix_ones
                       else "solving again with only its zeros fixed")
        saved = [(var, var.lowBound, var.upBound) for var, _ in values]
        for var, x in values:
            if x <= INTEGRAL:
                var.upBound = 0
            elif fix_ones and x >= 1 - INTEGRAL:
                var.lowBound = 1
        try:
            with progress.without_search():
                report = backends.solve(prob, backend, time_limit=remaining)
        finally:
            for var, low, high in saved:
                var.lowBound, var.upBound = low, high
        if report.outcome.found:
            return RelaxationResult(bound, True, open_decisions, time.perf_counter() - started)
    return RelaxationResult(bound, False, open_decisions, time.perf_counter() - started)
