"""Clearing a market: presolve, build, solve lexicographically, round, explain, self-check.

Phase 1 maximises value. Phase 2 keeps that value and minimises what is paid
to actors. Both phases share one model; phase 2 starts from phase 1's answer,
so a time limit always leaves a valid allocation (status "feasible").
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import pulp

from . import backends
from .allocation import Allocation, from_awards
from .eligibility import Presolve, presolve
from .flows import round_pool_flows, split_pool
from .market import Bid, Market
from .model import ClearingModel
from .pools import Pool, make_pools

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClearOptions:
    backend: str = "cbc"
    time_limit: float | None = None     # seconds for the whole solve
    gap: float | None = None            # relative gap at which each phase may stop
    explain: bool = True                # give reasons for unfunded challenges


class ClearingError(RuntimeError):
    """The market could not be cleared (solver missing or failing)."""


@dataclass
class Solution:
    accepted: list[Bid]
    pays: dict[tuple[int, str], float]


def clear(market: Market, options: ClearOptions = ClearOptions()) -> Allocation:
    started = time.perf_counter()
    pools = make_pools(market)
    pre = presolve(market, pools)
    model = ClearingModel(market, pools, pre)
    build_seconds = time.perf_counter() - started
    size = model.size()
    logger.info("model: %(variables)d variables, %(constraints)d constraints", size)
    try:
        solution, status, phases = _solve_lexicographic(model, options, started)
    except backends.BackendError as exc:
        raise ClearingError(str(exc)) from None
    solve_seconds = time.perf_counter() - started - build_seconds
    allocation = assemble(market, pools, pre, model, solution, status)
    unfunded = ()
    if options.explain:
        from .reasons import explain_unfunded
        unfunded = explain_unfunded(market, pools, pre, allocation, options.backend)
    else:
        from .reasons import plain_reasons
        unfunded = plain_reasons(market, pre, allocation)
    solver_info = {
        "backend": options.backend,
        "seconds": round(time.perf_counter() - started, 3),
        "build_seconds": round(build_seconds, 3),
        "solve_seconds": round(solve_seconds, 3),
        "phases": phases,
        "size": {**size, "bids": len(market.bids), "eligible_bids": len(model.bids),
                 "pledges": len(market.pledges), "pools": len(pools)},
    }
    allocation = Allocation(**{**_fields(allocation), "unfunded": unfunded, "solver": solver_info})
    from .verify import verify_allocation
    problems = verify_allocation(market, allocation.to_document())
    if problems:
        raise ClearingError("the engine produced an allocation its own checker rejects: " + "; ".join(problems[:5]))
    return allocation


def _fields(allocation: Allocation) -> dict[str, object]:
    return {name: getattr(allocation, name) for name in Allocation.__slots__}


def _remaining(options: ClearOptions, started: float) -> float | None:
    if options.time_limit is None:
        return None
    return max(options.time_limit - (time.perf_counter() - started), 0.0)


def _solve_lexicographic(model: ClearingModel, options: ClearOptions, started: float
                         ) -> tuple[Solution, str, list[dict[str, object]]]:
    prob = model.prob
    phases: list[dict[str, object]] = []
    empty = Solution([], {})
    status = "optimal"
    values = [coef for coef in model.value.values()]
    integral = all(float(v).is_integer() for v in values)
    best = empty
    best_value: float = 0.0

    if values:
        prob.sense = pulp.LpMaximize
        prob.setObjective(model.value)
        report = backends.solve(prob, options.backend, time_limit=_remaining(options, started), gap=options.gap)
        phases.append(_phase("value", report))
        if report.outcome in ("optimal", "feasible"):
            best = _read(model)
            best_value = _value_of(model, best)
            if report.outcome == "feasible":
                status = "feasible"
        elif report.outcome == "none":
            status = "feasible"          # stopped before any solution: nothing done is still valid
        else:
            raise ClearingError(f"the solver found the clearing model {report.outcome}")
    if not model.bids or (values and best_value <= 0 and not best.accepted and status == "optimal"):
        return best, status, phases

    # Phase 2: keep the value, pay least. Whole values allow a tolerance of half a unit.
    tolerance = 0.5 if integral else 1e-6
    prob.addConstraint(pulp.LpConstraint(model.value, pulp.LpConstraintGE, "keep_value", best_value - tolerance))
    prob.sense = pulp.LpMinimize
    prob.setObjective(model.cost)
    _warm_start(model, best)
    remaining = _remaining(options, started)
    if remaining is not None and remaining <= 0:
        phases.append({"phase": "cost", "outcome": "skipped (time limit)"})
        return best, "feasible", phases
    report = backends.solve(prob, options.backend, time_limit=remaining, gap=options.gap, warm_start=True)
    phases.append(_phase("cost", report))
    if report.outcome in ("optimal", "feasible"):
        candidate = _read(model)
        if _value_of(model, candidate) >= best_value - tolerance:
            best = candidate
        if report.outcome == "feasible":
            status = "feasible"
    else:
        status = "feasible"
    return best, status, phases


def _phase(name: str, report: backends.SolveReport) -> dict[str, object]:
    out: dict[str, object] = {"phase": name, "outcome": report.outcome}
    if report.objective is not None:
        out["objective"] = round(report.objective, 6)
    if report.bound is not None:
        out["bound"] = round(report.bound, 6)
    return out


def _read(model: ClearingModel) -> Solution:
    return Solution(model.accepted(), {pk: var.varValue or 0.0 for pk, var in model.pay.items()})


def _value_of(model: ClearingModel, solution: Solution) -> float:
    """The value the accepted bids deliver, counted exactly from the market, not from the solver."""
    covered = _covered(solution.accepted)
    total: float = 0
    for challenge in model.market.challenges:
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


def _warm_start(model: ClearingModel, solution: Solution) -> None:
    accepted = {b.id for b in solution.accepted}
    covered = _covered(solution.accepted)
    for bid_id, var in model.accept.items():
        var.setInitialValue(1 if bid_id in accepted else 0)
    for challenge in model.challenges:
        model.done[challenge.id].setInitialValue(
            1 if all(covered.get(k.key, 0) >= k.quantity for k in challenge.components if k.critical) else 0)
    for key, var in model.funded.items():
        var.setInitialValue(1 if covered.get(key, 0) >= model.components[key].quantity else 0)
    for pk, var in model.pay.items():
        # Solvers report zero as tiny negatives (-3e-14); below the bound 0, PuLP refuses the value.
        var.setInitialValue(max(solution.pays.get(pk, 0.0), 0.0))


def assemble(market: Market, pools: tuple[Pool, ...], pre: Presolve, model: ClearingModel,
             solution: Solution, status: str) -> Allocation:
    """Everything in the allocation is derived from the accepted bids and the rounded flows."""
    accepted = {b.id for b in solution.accepted}
    awards_bids = [b for b in market.bids if b.id in accepted]
    costs: dict[str, int] = {}
    for bid in awards_bids:
        for item in bid.items:
            costs[item.component] = costs.get(item.component, 0) + item.price
    costs = {k.key: costs[k.key] for k in market.components if costs.get(k.key, 0) > 0}
    challenge_of = {k.key: c.id for c in market.challenges for k in c.components}
    pool_flows = round_pool_flows(pools, costs, solution.pays, pre.admits, challenge_of)
    order = {k.key: n for n, k in enumerate(market.components)}
    per_pledge: dict[str, list[tuple[str, int]]] = {}
    for pool in pools:
        mine = sorted(((key, cents) for (p, key), cents in pool_flows.items() if p == pool.index),
                      key=lambda kv: order[kv[0]])
        for pledge_id, key, cents in split_pool(pool, mine):
            per_pledge.setdefault(pledge_id, []).append((key, cents))
    try:
        return from_awards(market, awards_bids, per_pledge, status)
    except ValueError as exc:
        raise ClearingError(f"internal: {exc}") from None
