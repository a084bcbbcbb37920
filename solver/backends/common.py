"""What every backend shares: its error, its report, and PuLP's status read as one of four outcomes."""
from __future__ import annotations

from dataclasses import dataclass

import pulp

from ..outcome import Outcome


class BackendError(RuntimeError):
    """The solver could not be run or gave no usable answer."""


@dataclass(frozen=True, slots=True)
class SolveReport:
    outcome: Outcome             # optimal, feasible (a limit stopped it), none (no solution) or infeasible
    objective: float | None
    bound: float | None
    seconds: float


def outcome_of(prob: pulp.LpProblem) -> Outcome:
    """PuLP's status after a run, as one of four outcomes (each backend refines it from its own log)."""
    if prob.sol_status == pulp.LpSolutionOptimal:
        return Outcome.OPTIMAL
    if prob.sol_status == pulp.LpSolutionIntegerFeasible:
        return Outcome.FEASIBLE
    if prob.status == pulp.LpStatusInfeasible:
        return Outcome.INFEASIBLE
    return Outcome.NONE
