"""The cost phase started early, on the second core, while the value phase is still proving its value.

Phase 2 (least cost at the best value, solving.py) can only begin once phase 1 has
proved the best value. But HiGHS usually holds the allocation of best value well
before it has proved it: on 200-challenge markets a sub-MIP finds it at 50-70% of
the value phase, and the rest is proof. So when HiGHS reports a better allocation
whose value is within START_GAP of its bound, phase 2 starts from that allocation
on a thread of its own (highspy releases the GIL while HiGHS runs); a later, better
allocation cancels it and starts it again from that one.

When phase 1 ends, its answer is the last allocation HiGHS reported. If phase 2 was
started from exactly that allocation (the same accepted bids and flows, so the
same start, problem and options as the phase 2 that would run after phase 1), its
answer is taken: the answer phase 2 would have given, only sooner. Otherwise
phase 2 runs after phase 1 as before. Which answer comes out never depends on
timing, only how soon (tests/solver/test_cost_ahead.py).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pulp

from . import backends, progress
from .model import ClearingModel
from .solution import Solution, keep_value_row, read_solution, start_values, value_of

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

# Start phase 2 from an allocation whose value is within this share of HiGHS's bound: close enough that
# it is likely the best, so that the core it takes from phase 1's proof is seldom taken for nothing.
START_GAP = 2e-4


class CostAhead:
    """Fed by HiGHS's phase 1 (`offer`, on the thread running it), asked by phase 2 (`answer_for`)."""

    def __init__(self, model: ClearingModel, tolerance: float, gap: float | None,
                 options: Mapping[str, backends.HighsOption], listener: progress.Listener | None = None) -> None:
        self.model = model
        self.listener = listener                 # passed along: `offer` runs in HiGHS's callback, the runs on threads
        self.tolerance = tolerance               # phase 2 keeps value >= the value - tolerance
        self.gap = gap
        self.options = options
        self.run: backends.BackgroundRun | None = None
        self.started_from: tuple[Solution, float] | None = None
        self.broken = False
        self.offers = 0

    def offer(self, variables: list[pulp.LpVariable], values: np.ndarray, bound: float | None) -> None:
        """A better allocation of phase 1 (every column's value, in `variables` order) and HiGHS's bound."""
        if self.broken:
            return
        self.offers += 1
        try:
            self._offer(variables, values, bound)
        except Exception:                         # never let a head start break phase 1 itself
            logger.exception("starting the cost phase early failed; it will run after the value phase")
            self.broken = True
            self.close()

    def _offer(self, variables: list[pulp.LpVariable], values: np.ndarray, bound: float | None) -> None:
        model = self.model
        column = {id(var): n for n, var in enumerate(variables)}

        def solved(var: pulp.LpVariable) -> float:
            return float(values[column[id(var)]])
        solution = read_solution(model, solved)
        value = value_of(model, solution)
        if bound is None or bound - value > START_GAP * max(abs(bound), 1.0):
            return
        if self.started_from is not None and value <= self.started_from[1]:
            return
        self.close()
        # Phase 2's problem only while its arrays are taken; then phase 1's problem exactly again.
        with backends.row_and_objective(model.prob, keep_value_row(model, value - self.tolerance),
                                        pulp.LpMinimize, model.cost):
            self.run = backends.BackgroundRun(model.prob, start_values(model, solution), self.gap, self.options,
                                              listener=self.listener)
            self.started_from = (solution, value)

    def answer_for(self, best: Solution, best_value: float) -> backends.SolveReport | None:
        """Phase 2's report (its answer written into the model's variables) when it was started from
        `best`; None when it was not (then it is cancelled, and phase 2 runs as usual)."""
        run, started = self.run, self.started_from
        if run is None or started is None or run.cancelled or not _same(started, best, best_value):
            self.close()
            return None
        self.run = None
        run.report_progress()                    # it is the cost phase now
        return run.finish(self.model.prob)

    def close(self) -> None:
        if self.run is not None:
            self.run.cancel()
            self.run = None


def _same(started: tuple[Solution, float], best: Solution, best_value: float) -> bool:
    solution, value = started
    return (value == best_value and [b.id for b in solution.accepted] == [b.id for b in best.accepted]
            and solution.pays == best.pays)
