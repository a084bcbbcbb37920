"""What every backend shares: its error, its report, and PuLP's status read as one of four outcomes."""
from __future__ import annotations

from dataclasses import dataclass

import pulp


class BackendError(RuntimeError):
    """The solver could not be run or gave no usable answer."""


@dataclass(frozen=True, slots=True)
class SolveReport:
    outcome: str                 # "optimal", "feasible" (a limit stopped it), "none" (no solution), "infeasible"
    objective: float | None
    bound: float | None
    seconds: float


def _outcome(prob: pulp.LpProblem) -> str:
    if prob.sol_status == pulp.LpSolutionOptimal:
        return "optimal"
    if prob.sol_status == pulp.LpSolutionIntegerFeasible:
        return "feasible"
    if prob.status == pulp.LpStatusInfeasible:
        return "infeasible"
    return "none"
