"""Clearing a market: pool, presolve, split, build, solve, round, explain, self-check.

The steps live in their own modules (pools, eligibility, decompose, model,
solving, parts, flows, reasons, verify); this one runs them in order and puts
the allocation together from the accepted bids and the rounded flows. A market whose fixed bids cannot
all be accepted (spec rule 9) is answered by infeasible.py instead: cheap checks before any model, the
small diagnostic models after the solver proves the whole model infeasible.
"""
from __future__ import annotations

import dataclasses
import logging
import time

from . import backends, progress
from .allocation import Allocation, from_awards
from .budget import MAIN_SHARE, Budget
from .decompose import independent_parts
from .eligibility import Presolve, presolve
from .flows import round_pool_flows, split_pool
from .infeasible import cheap_causes, fixed_bids, infeasible_allocation, model_causes
from .market import Market
from .model import ClearingModel
from .outcome import Outcome
from .parts import batches, solve_parts
from .phases import Phase, RelaxationPhase, ValuePhase
from .pools import Pool, make_pools
from .reasons import explain_unfunded, plain_reasons
from .solution import Solution
from .solving import ClearingError, ClearOptions, ModelInfeasible, SolveResult, solve_lexicographic
from .verify import verify_allocation

__all__ = ["ClearOptions", "ClearingError", "Solution", "assemble", "clear"]

logger = logging.getLogger(__name__)


def clear(market: Market, options: ClearOptions = ClearOptions(), budget: Budget | None = None) -> Allocation:
    """The market's allocation. `budget` is the call's time (by default options.time_limit from now; a
    caller that spent some of it already, reading the market, passes its own): the main solve may use
    MAIN_SHARE of it when reasons are asked for, the reasons' extra solves what is left."""
    started = time.perf_counter()
    if budget is None:
        budget = Budget(options.time_limit)
    solve_budget = budget.share(MAIN_SHARE) if options.explain else budget
    progress.stage(progress.MODEL)
    pools = make_pools(market)
    pre = presolve(market, pools)
    if fixed_bids(market):
        # Rule 9: fixed bids that presolve or a look at them alone shows impossible need no solve.
        causes = cheap_causes(market, pools, pre)
        if causes:
            return _checked(market, infeasible_allocation(market, causes, options.backend, started))
    try:
        return _clear(market, options, budget, solve_budget, started, pools, pre)
    except ModelInfeasible:
        progress.stage(progress.REASONS)
        causes = model_causes(market, pools, pre, options.backend, budget)
        return _checked(market, infeasible_allocation(market, causes, options.backend, started))


def _checked(market: Market, allocation: Allocation) -> Allocation:
    problems = verify_allocation(market, allocation.to_document())
    if problems:
        raise ClearingError("the engine produced an allocation its own checker rejects: " + "; ".join(problems[:5]))
    return allocation


def _clear(market: Market, options: ClearOptions, budget: Budget, solve_budget: Budget, started: float,
           pools: tuple[Pool, ...], pre: Presolve) -> Allocation:
    parts = independent_parts(market, pools, pre) if options.decompose else ()
    models = batches(market, pre, parts) if len(parts) > 1 else []
    if len(models) > 1:
        # Parts share no row, so the whole optimum is the parts' optima side by side.
        try:
            parts_solved = solve_parts(market, pools, pre, models, options, started, solve_budget)
        except backends.BackendError as exc:          # as for one model, below
            raise ClearingError(str(exc)) from None
        solved: SolveResult = parts_solved
        size, build_seconds, solve_seconds = parts_solved.size, parts_solved.build_seconds, parts_solved.solve_seconds
    else:
        model = ClearingModel(market, pools, pre)
        build_seconds = time.perf_counter() - started
        size = model.size()
        logger.info("model: %(variables)d variables, %(constraints)d constraints", size)
        try:
            solved = solve_lexicographic(model, options, solve_budget)
        except backends.BackendError as exc:
            raise ClearingError(str(exc)) from None
        solve_seconds = time.perf_counter() - started - build_seconds
        size = {**size, "eligible_bids": len(model.bids), "models": 1}
    progress.stage(progress.ROUNDING)
    allocation = assemble(market, pools, pre, solved.solution, solved.status)
    progress.stage(progress.REASONS)
    if options.explain:
        unfunded = explain_unfunded(market, pools, pre, allocation, options.backend, budget=budget,
                                    max_explained=options.max_explained)
    else:
        unfunded = plain_reasons(market, pre, allocation)
    bound = _best_bound(solved.phases)
    solver_info: dict[str, object] = {
        "backend": options.backend,
        "seconds": round(time.perf_counter() - started, 3),
        "build_seconds": round(build_seconds, 3),
        "solve_seconds": round(solve_seconds, 3),
        "phases": [phase.to_document() for phase in solved.phases],
        "size": {**size, "bids": len(market.bids), "pledges": len(market.pledges), "pools": len(pools),
                 **({"parts": len(parts)} if options.decompose else {})},
    }
    if bound is not None:
        # The best bound on value that the search proved, and how far the allocation is from it.
        solver_info["bound"] = round(max(bound, allocation.value), 6)
        solver_info["gap"] = round(max(bound - allocation.value, 0) / max(abs(bound), 1e-9), 9)
    return _checked(market, dataclasses.replace(allocation, unfunded=unfunded, solver=solver_info))


def _best_bound(phases: tuple[Phase, ...]) -> float | None:
    """The tightest proven upper bound on value: the value phase's, or the relaxation's."""
    value = next((p for p in phases if isinstance(p, ValuePhase)), None)
    if value is None:
        return None
    # Merged parts sum their figures: a phase only some models ran bounds only those models.
    bounds = [p.bound for p in phases if isinstance(p, (ValuePhase, RelaxationPhase))
              and p.models == value.models and p.bound is not None]
    return min(bounds) if bounds else None


def assemble(market: Market, pools: tuple[Pool, ...], pre: Presolve, solution: Solution,
             status: Outcome) -> Allocation:
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
    of_pool: dict[int, list[tuple[str, int]]] = {}
    for (p, key), cents in pool_flows.items():
        of_pool.setdefault(p, []).append((key, cents))
    for pool in pools:
        mine = sorted(of_pool.get(pool.index, []), key=lambda kv: order[kv[0]])
        for pledge_id, key, cents in split_pool(pool, mine):
            per_pledge.setdefault(pledge_id, []).append((key, cents))
    try:
        return from_awards(market, awards_bids, per_pledge, status.value)   # the document's plain string
    except ValueError as exc:
        raise ClearingError(f"internal: {exc}") from None
