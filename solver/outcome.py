"""How a solver run, a phase of the clearing solve, or the solve as a whole ended.

A StrEnum, so each member is its own string: it compares equal to it and JSON writes it as it,
which keeps the allocation's `status` and `solver.phases[].outcome` what they were as plain strings.
"""
from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    OPTIMAL = "optimal"                 # proven best (without a gap to stop at)
    FEASIBLE = "feasible"               # valid, not proven best: a limit or a gap stopped the search
    NONE = "none"                       # stopped before any solution
    INFEASIBLE = "infeasible"           # no solution exists
    SKIPPED = "skipped (time limit)"    # a phase that did not run: the time limit was spent before it

    @property
    def found(self) -> bool:
        """Whether the run left a solution in the model's variables."""
        return self in (Outcome.OPTIMAL, Outcome.FEASIBLE)
