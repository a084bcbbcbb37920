"""The phases of solving one model (solving.py), as the allocation's `solver.phases` reports them.

Greedy start, LP relaxation, value (phase 1), cost (phase 2): each a frozen record of how it ended
and its figures. Figures are kept as the allocation shows them (seconds to the millisecond,
objectives and bounds to six decimals), so that a phase merged over the models of a market's parts
(parts.py) sums what each model reported.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import ClassVar, Self, TypeVar

from .backends import SolveReport
from .outcome import Outcome


@dataclass(frozen=True, slots=True)
class Phase:
    """How a phase ended and, merged over parts, in how many models it ran; its figures follow."""
    name: ClassVar[str]
    outcome: Outcome
    models: int | None = field(default=None, kw_only=True)

    def to_document(self) -> dict[str, object]:
        """The phase in the allocation: name, outcome, models, then the figures in field order; a
        figure not reported (None) and a flag not set (False) are left out."""
        document: dict[str, object] = {"phase": self.name, "outcome": self.outcome.value}
        for figure in fields(self)[1:]:
            value = getattr(self, figure.name)
            if value is not None and value is not False:
                document[figure.name] = value
        return document


@dataclass(frozen=True, slots=True)
class GreedyPhase(Phase):
    """The greedy allocation (greedy.py): phase 1's start, and the answer when the search stays below it."""
    name: ClassVar[str] = "greedy"
    objective: float                    # phase 1's objective: the value
    value: float                        # counted from the market (solution.value_of)


@dataclass(frozen=True, slots=True)
class RelaxationPhase(Phase):
    """The LP relaxation's allocation (relaxation.py), on big models under a time limit."""
    name: ClassVar[str] = "relaxation"
    open_decisions: int                 # yes/no decisions the relaxation left fractional
    seconds: float
    bound: float | None = None          # the relaxation's optimum: no allocation has more value
    objective: float | None = None      # of the allocation found, when one was
    value: float | None = None


@dataclass(frozen=True, slots=True)
class SearchPhase(Phase):
    """A solver's search over the whole model (value or cost)."""
    seconds: float | None = None        # None: the phase did not run
    objective: float | None = None
    bound: float | None = None

    @classmethod
    def from_report(cls, report: SolveReport) -> Self:
        return cls(report.outcome, round(report.seconds, 3),
                   None if report.objective is None else round(report.objective, 6),
                   None if report.bound is None else round(report.bound, 6))


@dataclass(frozen=True, slots=True)
class ValuePhase(SearchPhase):
    """Phase 1: the most value."""
    name: ClassVar[str] = "value"


@dataclass(frozen=True, slots=True)
class CostPhase(SearchPhase):
    """Phase 2: the least cost at that value."""
    name: ClassVar[str] = "cost"
    started_early: bool = False         # its answer is that of a run started beside phase 1 (cost_ahead.py)


# Best first: a phase merged over models reports the worst outcome any of them had (others rank last).
_RANK = {Outcome.OPTIMAL: 0, Outcome.FEASIBLE: 1, Outcome.NONE: 2}

P = TypeVar("P", bound=Phase)


def merged(phases: Sequence[P]) -> P:
    """One phase for the same phase of several models: the worst outcome (the first of equals), how
    many models ran it, each figure summed (None when any model did not report it) and then rounded
    to six decimals, and a flag set only when every model set it."""
    first = phases[0]
    figures: dict[str, object] = {}
    for figure in fields(first)[2:]:
        values = [getattr(phase, figure.name) for phase in phases]
        if isinstance(values[0], bool):
            figures[figure.name] = all(values)
        elif any(value is None for value in values):
            figures[figure.name] = None
        else:
            total = values[0]
            for value in values[1:]:
                total += value
            figures[figure.name] = round(total, 6) if isinstance(total, float) else total
    worst = max((phase.outcome for phase in phases), key=lambda outcome: _RANK.get(outcome, 3))
    return replace(first, outcome=worst, models=len(phases), **figures)
