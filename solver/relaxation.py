"""A first allocation from the LP relaxation, for markets too big to search well in time.

On big markets the LP relaxation of "most value" is tight (well under 1% above
the optimum on generated markets) but branch-and-bound needs minutes before it
finds a good allocation. So: solve the relaxation once, keep every yes/no
decision the relaxation already made (a variable at 0 or at 1), and solve the
much smaller integer program over the decisions it left open (the RENS
heuristic). Its answer is a valid allocation of the whole market, and the
relaxation's value is a bound on the optimum, so the gap is known at once.
If the restricted program has no integer answer, only the zeros stay fixed.

Version 1.1: every yes/no variable of the model is relaxed and fixed alike, the model's own (accept,
done, funded) and those its 1.1 rows add (whether a pledge pays at all, for min_spend; whether it pays
into a challenge, for conditions), so the relaxation is an LP and its optimum a bound. A fixed bid's
`accept` keeps its lower bound of 1 throughout (bounds are restored, not reset). The answer found is
the model's own solution, so it meets every row the model has; for a 1.1 market it is checked once more
against rules 8 and 9 (start_rules.py) and not used if it breaks one, as the greedy start is.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import pulp

from . import backends, progress
from .model import ClearingModel
from .outcome import Outcome
from .solution import read_solution
from .start_rules import start_problems

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
    binaries = _binaries(model)
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
            return RelaxationResult(bound, _meets_1_1(model), open_decisions, time.perf_counter() - started)
    return RelaxationResult(bound, False, open_decisions, time.perf_counter() - started)


def _binaries(model: ClearingModel) -> list[pulp.LpVariable]:
    """Every yes/no variable of the model (prob.variables() would register every nonzero of every row
    again: seconds on big models): accept, done, funded, and a 1.1 model's engaged and uses."""
    return model.yes_no()


# Real-valued flows of a solver's answer meet rows to its tolerance (1e-6 money units): far below this.
START_TOLERANCE_UNITS = 1e-3


def _meets_1_1(model: ClearingModel) -> bool:
    """Whether the allocation the model's variables hold keeps rules 8 and 9 (always, for version 1)."""
    if not model.uses_1_1:
        return True
    problems = start_problems(model, read_solution(model), START_TOLERANCE_UNITS * model.money_unit)
    return not problems
