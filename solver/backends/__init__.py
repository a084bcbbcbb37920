"""The only package that talks to solver classes: CBC (bundled with PuLP) and HiGHS.

Each backend runs a PuLP problem and reports one of four outcomes, plus the
best bound where the backend tells it. Keeping this in one place makes a move
to another PuLP version or solver a change inside this package: `cbc.py` and
`highs.py` hold one backend each, `common.py` what they share, and this module
the interface the rest of the engine uses.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping

import pulp

from .cbc import cbc_solver, solve_cbc
from .common import BackendError, SolveReport
from .highs import BackgroundRun, HighsOption, ImprovingHook, highs_threads, solve_highs, use_one_thread

__all__ = ["BACKENDS", "BackendError", "BackgroundRun", "HighsOption", "ImprovingHook", "SolveReport", "available",
           "dual", "highs_threads", "row_and_objective", "solve", "use_one_thread", "variable_count"]

BACKENDS = ("cbc", "highs")


def available(backend: str) -> bool:
    if backend == "cbc":
        return bool(cbc_solver(msg=False).available())
    if backend == "highs":
        return bool(pulp.HiGHS(msg=False).available())
    return False


def solve(prob: pulp.LpProblem, backend: str, *, time_limit: float | None = None,
          gap: float | None = None, abs_gap: float | None = None, warm_start: bool = False,
          highs_options: Mapping[str, HighsOption] | None = None, on_improving: ImprovingHook | None = None
          ) -> SolveReport:
    """Solve `prob` in place (variables get their values) and say how it went.

    `highs_options` are further HiGHS options (e.g. {"solver": "simplex"} for a vertex of an LP); CBC
    ignores them. HiGHS calls `on_improving` (on the calling thread, while it searches) with each better
    solution it finds; CBC does not."""
    if backend not in BACKENDS:
        raise BackendError(f"unknown solver backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if not available(backend):
        hint = " (pip install highspy)" if backend == "highs" else ""
        raise BackendError(f"the {backend} solver is not available on this machine{hint}")
    started = time.perf_counter()
    if time_limit is not None:
        time_limit = max(time_limit, 0.01)
    if backend == "cbc":
        report = solve_cbc(prob, time_limit, gap, abs_gap, warm_start)
    else:
        report = solve_highs(prob, time_limit, gap, abs_gap, warm_start, highs_options, on_improving)
    return SolveReport(report[0], report[1], report[2], time.perf_counter() - started)


# -- what the engine reads from PuLP beyond its modelling API ----------------------------------------

def variable_count(prob: pulp.LpProblem) -> int:
    """How many variables `prob` has, from PuLP's registry of them. prob.variables() would register every
    nonzero of every row again (seconds on big models); a model whose variables were all added through the
    problem (prob.add_variable, or rows and an objective added to it) has them all registered already."""
    return len(prob._variables)


def dual(row: pulp.LpConstraint) -> float | None:
    """The row's dual value after an LP solve; None when the backend gave none (CBC on a MIP, no solution)."""
    pi: float | None = row.pi
    return pi


@contextlib.contextmanager
def row_and_objective(prob: pulp.LpProblem, row: pulp.LpConstraint, sense: int,
                      objective: pulp.LpAffineExpression) -> Iterator[None]:
    """`prob` with `row` added and `objective` (`sense`) set for the duration, then exactly as before: the
    row gone, the objective and sense back. PuLP has no call that removes a row, so this reaches into
    its problem here, in the one package that knows PuLP's insides."""
    saved_sense, saved_objective = prob.sense, prob.objective
    prob.addConstraint(row)
    prob.sense = sense
    prob.setObjective(objective)
    try:
        yield
    finally:
        del prob._constraints[row.name]
        if prob.modifiedConstraints and prob.modifiedConstraints[-1] is row:
            prob.modifiedConstraints.pop()
        prob.sense = saved_sense
        prob.objective = saved_objective
