"""An allocation of a clearing model as the solving steps pass it around, and what they do with one.

The greedy start (greedy.py), the early cost phase (cost_ahead.py) and the lexicographic solve
(solving.py) all read allocations back from the model, count their value, hand them to a solver as
starts and keep their value in phase 2's row; they share it from here, so none imports another.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulp

from .market import Bid
from .model import ClearingModel, solved_value


@dataclass(frozen=True, slots=True)
class Solution:
    accepted: list[Bid]                         # model order
    pays: dict[tuple[int, str], float]          # money per (pool, component)


def read_solution(model: ClearingModel, value: Callable[[pulp.LpVariable], float | None] = solved_value
                  ) -> Solution:
    """The allocation the model's variables hold: by default what the solver wrote into them, else as
    `value` reads each variable."""
    accepted = model.accepted(value)
    return Solution(accepted, model.component_pays(accepted, value))


def value_of(model: ClearingModel, solution: Solution) -> float:
    """The value the accepted bids deliver, counted exactly from the market, not from the solver."""
    covered = _covered(solution.accepted)
    total: float = 0
    for challenge in model.challenges:          # a challenge outside the model has no accepted bid
        if all(covered.get(k.key, 0) >= k.quantity for k in challenge.components if k.critical):
            total += challenge.value
            total += sum(k.value for k in challenge.components
                         if not k.critical and covered.get(k.key, 0) >= k.quantity)
    return total


def _covered(accepted: list[Bid]) -> dict[str, int]:
    covered: dict[str, int] = {}
    for bid in accepted:
        for item in bid.items:
            covered[item.component] = covered.get(item.component, 0) + item.quantity
    return covered


def warm_start(model: ClearingModel, solution: Solution) -> None:
    """Set every variable's initial value to the allocation `solution`."""
    for var, value in start_values(model, solution).items():
        var.setInitialValue(value)


def start_values(model: ClearingModel, solution: Solution) -> dict[pulp.LpVariable, float]:
    """A value for every variable of the model: the allocation `solution` as a solver's start."""
    accepted = {b.id for b in solution.accepted}
    covered = _covered(solution.accepted)
    out: dict[pulp.LpVariable, float] = {}
    for bid_id, var in model.accept.items():
        out[var] = 1 if bid_id in accepted else 0
    for challenge in model.challenges:
        out[model.done[challenge.id]] = (
            1 if all(covered.get(k.key, 0) >= k.quantity for k in challenge.components if k.critical) else 0)
    for key, var in model.funded.items():
        out[var] = 1 if covered.get(key, 0) >= model.components[key].quantity else 0
    class_pays = model.class_pays(solution.pays)
    for pk, var in model.pay.items():
        # Solvers report zero as tiny negatives (-3e-14); below the bound 0, PuLP refuses the value.
        out[var] = max(class_pays.get(pk, 0.0), 0.0)
    # Version 1.1: engaged[p] is 1 where the pool pays anything, and the gates of a conditional pool in c
    # are 1 where it pays into c.
    paying = {pk[0] for pk, v in class_pays.items() if v > 0}
    paying_into = {(pk[0], model.challenge_of[pk[1]]) for pk, v in class_pays.items() if v > 0}
    for pool_index, var in model.engaged.items():
        out[var] = 1 if pool_index in paying else 0
    for var in model.gates.values():
        out[var] = 0
    for pc, gates in model.uses.items():       # a gate is 1 where a pledge that needs it pays
        if pc in paying_into:
            for var in gates:
                out[var] = 1
    # A start must set the model's auxiliary sums too (matched_i: the non-matching pay into challenge
    # i), else a solver sees it break their rows: each is the rest of its defining row.
    for i in range(len(model.challenges)):
        name = f"matched_{i}"
        row = model.prob.get_constraint_by_name(name)
        if row is not None:
            aux = [var for var, coef in row.items() if coef == -1 and var.name == name]
            if len(aux) == 1:
                rest = sum(out.get(var, 0.0) * coef for var, coef in row.items() if var is not aux[0])
                out[aux[0]] = max(rest, 0.0)
    return out


# How far a start may be off a row (in the row's own units: money rows count money_unit's) and still be used.
START_TOLERANCE = 1e-6


def breaks_the_model(model: ClearingModel, solution: Solution) -> bool:
    """True when the allocation breaks a bound or a row of the model.

    The greedy start is built for version-1 rules; a version-1.1 model (fixed bids, min_spend, shares,
    conditions) checks it here before using it as a start or keeping it as an answer."""
    values = start_values(model, solution)
    for var, x in values.items():
        if (var.lowBound is not None and x < var.lowBound - START_TOLERANCE
                or var.upBound is not None and x > var.upBound + START_TOLERANCE):
            return True
    for row in model.prob.constraints():          # PuLP 4.0's call: a list, no deprecation warning
        lhs = sum(coef * values.get(var, 0.0) for var, coef in row.items()) + row.constant
        if (row.sense == pulp.LpConstraintLE and lhs > START_TOLERANCE
                or row.sense == pulp.LpConstraintGE and lhs < -START_TOLERANCE
                or row.sense == pulp.LpConstraintEQ and abs(lhs) > START_TOLERANCE):
            return True
    return False


def keep_value_row(model: ClearingModel, at_least: float) -> pulp.LpConstraint:
    """Phase 2's row: value >= at_least (the same row whether phase 2 starts early or late)."""
    return pulp.LpConstraint(model.value, pulp.LpConstraintGE, "keep_value", at_least)
