"""Clearing a market: presolve, build, solve lexicographically, round, explain, self-check.

Phase 1 maximises value. Phase 2 keeps that value and minimises what is paid
to actors. Both phases share one model; phase 2 starts from phase 1's answer,
so a time limit always leaves a valid allocation (status "feasible").
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from typing import Any, cast

import pulp

from . import backends
from .allocation import Allocation, from_awards
from .decompose import independent_parts
from .eligibility import Presolve, presolve
from .flows import round_pool_flows, split_pool
from .market import Bid, Market
from .model import ClearingModel, Restrictions
from .pools import Pool, make_pools

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClearOptions:
    backend: str = "cbc"
    time_limit: float | None = None     # seconds for the whole solve
    gap: float | None = None            # relative gap at which each phase may stop
    explain: bool = True                # give reasons for unfunded challenges
    max_explained: int | None = 50      # test at most this many in detail (market order), plain reasons after
    workers: int | None = None          # processes for independent parts (None: one per free core; 1: none)
    decompose: bool = True              # False: one model for the whole market (tests and benchmarks)


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
    parts = independent_parts(market, pools, pre) if options.decompose else ()
    models = _batches(market, pre, parts) if len(parts) > 1 else []
    if len(models) > 1:
        # Parts share no row, so the whole optimum is the parts' optima side by side.
        solution, status, phases, size, build_seconds, solve_seconds = _solve_parts(
            market, pools, pre, models, options, started)
        model = cast(ClearingModel, None)          # assemble reads only the solution
    else:
        model = ClearingModel(market, pools, pre)
        build_seconds = time.perf_counter() - started
        size = model.size()
        logger.info("model: %(variables)d variables, %(constraints)d constraints", size)
        try:
            solution, status, phases = _solve_lexicographic(model, options, started)
        except backends.BackendError as exc:
            raise ClearingError(str(exc)) from None
        solve_seconds = time.perf_counter() - started - build_seconds
        size = {**size, "eligible_bids": len(model.bids), "models": 1}
    allocation = assemble(market, pools, pre, model, solution, status)
    unfunded = ()
    if options.explain:
        from .reasons import explain_unfunded
        unfunded = explain_unfunded(market, pools, pre, allocation, options.backend,
                                    max_explained=options.max_explained)
    else:
        from .reasons import plain_reasons
        unfunded = plain_reasons(market, pre, allocation)
    bound = _best_bound(phases)
    solver_info: dict[str, object] = {
        "backend": options.backend,
        "seconds": round(time.perf_counter() - started, 3),
        "build_seconds": round(build_seconds, 3),
        "solve_seconds": round(solve_seconds, 3),
        "phases": phases,
        "size": {**size, "bids": len(market.bids), "pledges": len(market.pledges), "pools": len(pools),
                 **({"parts": len(parts)} if options.decompose else {})},
    }
    if bound is not None:
        # The best bound on value that the search proved, and how far the allocation is from it.
        solver_info["bound"] = round(max(bound, allocation.value), 6)
        solver_info["gap"] = round(max(bound - allocation.value, 0) / max(abs(bound), 1e-9), 9)
    allocation = Allocation(**{**_fields(allocation), "unfunded": unfunded, "solver": solver_info})
    from .verify import verify_allocation
    problems = verify_allocation(market, allocation.to_document())
    if problems:
        raise ClearingError("the engine produced an allocation its own checker rejects: " + "; ".join(problems[:5]))
    return allocation


# -- independent parts (solver/decompose.py), in this process or in worker processes -------------------

# With workers None, worker processes only when the models other than the largest have this many live
# bids: that is all the work they can overlap, and a worker (a fresh interpreter importing PuLP and
# HiGHS) takes about 0.5 s to start, about what 250 bids take to clear (the water market's 73: 0.15 s).
PARALLEL_BIDS = 250
# Parts below BATCH_BIDS live bids share a model with the next ones, up to that many bids: every solve
# costs milliseconds however small (CBC is a subprocess). 300 parts of 5 bids with CBC: 2.9 s one by
# one, 0.6 s in models of 50 bids, 0.4 s as one model; but ten 73-bid water markets: 0.8 s apart,
# 1.1 s in models of 100 bids, 30 s as one model. Parts side by side in one model keep their optima.
BATCH_BIDS = 50


@dataclass(frozen=True, slots=True)
class _PartResult:
    """One model's clearing as plain data, so it crosses from a worker process as is."""
    accepted: tuple[str, ...]                   # bid ids
    pays: dict[tuple[int, str], float]
    status: str
    phases: list[dict[str, object]]
    size: dict[str, int]                        # the model's size(), its challenges and eligible bids
    build_seconds: float
    solve_seconds: float


def _batches(market: Market, pre: Presolve, parts: tuple[tuple[str, ...], ...]
             ) -> list[tuple[tuple[str, ...], int]]:
    """The models to clear, as (challenge ids, live bids): each part of BATCH_BIDS live bids or more
    alone, the smaller ones in their order filled into shared models of about BATCH_BIDS bids."""
    part_of = {cid: n for n, part in enumerate(parts) for cid in part}
    challenge_of = {k.key: k.challenge_id for k in market.components}
    counts = [0] * len(parts)
    for bid in pre.live_bids:                   # a live bid lies inside one part
        counts[part_of[challenge_of[bid.items[0].component]]] += 1
    out: list[tuple[tuple[str, ...], int]] = []
    batch: list[str] = []
    held = 0
    for part, count in zip(parts, counts):
        if count >= BATCH_BIDS:
            out.append((part, count))
            continue
        batch.extend(part)
        held += count
        if held >= BATCH_BIDS:
            out.append((tuple(batch), held))
            batch, held = [], 0
    if batch:
        out.append((tuple(batch), held))
    return out


def _solve_parts(market: Market, pools: tuple[Pool, ...], pre: Presolve,
                 models: list[tuple[tuple[str, ...], int]], options: ClearOptions, started: float
                 ) -> tuple[Solution, str, list[dict[str, object]], dict[str, Any], float, float]:
    """Clear each model alone and merge: (solution, status, phases, size, build and solve seconds).

    Seconds are summed over models, so they exceed the wall time when models run in parallel.
    """
    split_seconds = time.perf_counter() - started
    results = _run_parts(market, pools, pre, models, options, started)
    accepted = {bid_id for r in results for bid_id in r.accepted}
    pays: dict[tuple[int, str], float] = {}
    for r in results:
        pays.update(r.pays)                     # each pool and component is in one model only
    solution = Solution([b for b in pre.live_bids if b.id in accepted], pays)
    status = "optimal" if all(r.status == "optimal" for r in results) else "feasible"
    size: dict[str, Any] = {k: sum(r.size[k] for r in results) for k in ("variables", "constraints", "binaries")}
    size["eligible_bids"] = sum(r.size["bids"] for r in results)
    size["models"] = len(results)
    size["largest_model"] = max((r.size for r in results), key=lambda s: s["variables"])
    logger.info("model: %(models)d models, %(variables)d variables, %(constraints)d constraints", size)
    return (solution, status, _merge_phases(results), size,
            split_seconds + sum(r.build_seconds for r in results), sum(r.solve_seconds for r in results))


def _merge_phases(results: list[_PartResult]) -> list[dict[str, object]]:
    """Per phase: the worst outcome of any model that ran it, how many did, and each figure (objective,
    bound, ...) summed, or left out when a model that ran the phase did not report it."""
    rank = {"optimal": 0, "feasible": 1, "none": 2}
    merged: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for r in results:
        names = [str(phase["phase"]) for phase in r.phases]
        for i, (name, phase) in enumerate(zip(names, r.phases)):
            if name not in merged:              # a phase only some models run keeps its place
                later = [order.index(n) for n in names[i + 1:] if n in merged]
                order.insert(later[0] if later else len(order), name)
                merged[name] = {"phase": phase["phase"], "outcome": phase["outcome"], "models": 0,
                                **{k: v for k, v in phase.items() if k not in ("phase", "outcome")}}
            else:
                into = merged[name]
                if rank.get(str(phase["outcome"]), 3) > rank.get(str(into["outcome"]), 3):
                    into["outcome"] = phase["outcome"]
                for key in [k for k in into if k not in ("phase", "outcome", "models")]:
                    value = phase.get(key)
                    if isinstance(value, (int, float)) and isinstance(into[key], (int, float)):
                        into[key] += value
                    else:
                        del into[key]
            merged[name]["models"] += 1
    return [{k: round(v, 6) if isinstance(v, float) else v for k, v in merged[name].items()} for name in order]


def _run_parts(market: Market, pools: tuple[Pool, ...], pre: Presolve, models: list[tuple[tuple[str, ...], int]],
               options: ClearOptions, started: float) -> list[_PartResult]:
    """Each model's result, in order, whichever process cleared it: the same either way."""
    results: dict[int, _PartResult] = {}
    if _in_parallel(models, options):
        try:
            _run_in_workers(market, pools, pre, models, options, started, results)
        except (BrokenProcessPool, OSError) as exc:
            logger.warning("worker processes failed (%s); clearing the remaining parts in this process", exc)
    for n, (challenges, _) in enumerate(models):
        if n not in results:
            results[n] = _solve_part(market, pools, pre, challenges, options, started)
    return [results[n] for n in range(len(models))]


def _in_parallel(models: list[tuple[tuple[str, ...], int]], options: ClearOptions) -> bool:
    """Whether to clear the models in worker processes: with `workers` given, whenever it is above 1;
    with None, when cores are free and the models besides the largest have PARALLEL_BIDS bids."""
    workers = options.workers if options.workers is not None else _free_cores()
    if workers < 2 or multiprocessing.current_process().daemon:
        return False                            # a daemonic process (a Dask or pool worker) may not fork
    bids = [count for _, count in models]
    return options.workers is not None or sum(bids) - max(bids) >= PARALLEL_BIDS


def _free_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))     # the cores this process may run on (Linux)
    except AttributeError:
        return os.cpu_count() or 1


def _run_in_workers(market: Market, pools: tuple[Pool, ...], pre: Presolve,
                    models: list[tuple[tuple[str, ...], int]], options: ClearOptions, started: float,
                    results: dict[int, _PartResult]) -> None:
    """Clear the models in worker processes, the largest first (the last to start are short), into `results`.

    "spawn", not fork: HiGHS keeps a thread scheduler per process, unsafe to copy once started. The
    market, its pools and presolve cross once per worker (its initializer); each model crosses as its
    challenge ids and a deadline on the wall clock, the one clock that processes share.
    """
    workers = min(options.workers or _free_cores(), len(models))
    remaining = _remaining(options, started)
    deadline = None if remaining is None else time.time() + remaining
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker, initargs=(market, pools, pre, options))
    try:
        futures: dict[int, Future[_PartResult]] = {
            n: executor.submit(_solve_part_in_worker, models[n][0], deadline)
            for n in sorted(range(len(models)), key=lambda n: -models[n][1])}
        for n, future in futures.items():
            results[n] = future.result()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _solve_part(market: Market, pools: tuple[Pool, ...], pre: Presolve, part: tuple[str, ...],
                options: ClearOptions, started: float) -> _PartResult:
    """One model over some parts (Restrictions keeps only their challenges, bids, pay and rows)."""
    begun = time.perf_counter()
    model = ClearingModel(market, pools, pre, Restrictions(challenges=frozenset(part)))
    size = {**model.size(), "challenges": len(model.challenges), "bids": len(model.bids)}
    built = time.perf_counter()
    try:
        solution, status, phases = _solve_lexicographic(model, options, started)
    except backends.BackendError as exc:
        raise ClearingError(str(exc)) from None
    return _PartResult(tuple(b.id for b in solution.accepted), solution.pays, status, phases, size,
                       built - begun, time.perf_counter() - built)


_worker_market: tuple[Market, tuple[Pool, ...], Presolve, ClearOptions] | None = None


def _start_worker(market: Market, pools: tuple[Pool, ...], pre: Presolve, options: ClearOptions) -> None:
    """Runs once in each worker process: what every model there starts from."""
    global _worker_market
    _worker_market = (market, pools, pre, options)


def _solve_part_in_worker(part: tuple[str, ...], deadline: float | None) -> _PartResult:
    assert _worker_market is not None, "worker started without its market"
    market, pools, pre, options = _worker_market
    if deadline is not None:
        options = replace(options, time_limit=max(deadline - time.time(), 0.0))
    return _solve_part(market, pools, pre, part, options, time.perf_counter())


def _best_bound(phases: list[dict[str, object]]) -> float | None:
    """The tightest proven upper bound on value: the value phase's, or the relaxation's."""
    value = next((p for p in phases if p.get("phase") == "value"), None)
    if value is None:
        return None
    # Merged parts sum their figures: a phase only some models ran bounds only those models.
    everywhere = [p for p in phases if p.get("phase") in ("value", "relaxation") and p.get("models") == value.get("models")]
    bounds = [float(cast(float, p["bound"])) for p in everywhere if p.get("bound") is not None]
    return min(bounds) if bounds else None


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
        # A greedy allocation (solver/greedy.py) first: phase 1's warm start, and the answer kept when a
        # time limit stops the solver before it finds anything as good.
        from .greedy import greedy_start
        start = greedy_start(model)
        if start is not None:
            greedy_value = _value_of(model, start)
            phases.append({"phase": "greedy", "outcome": "feasible", "objective": greedy_value, "value": greedy_value})
            if start.accepted:
                best, best_value = start, greedy_value
                _warm_start(model, start)
        prob.sense = pulp.LpMaximize
        prob.setObjective(model.value)
        if _relax_first(model, options):
            found, phase = _relaxation_start(model, options, started)
            phases.append(phase)
            if found is not None and _value_of(model, found) > best_value:
                best, best_value = found, _value_of(model, found)
            if best.accepted:
                _warm_start(model, best)
        report = backends.solve(prob, options.backend, time_limit=_remaining(options, started), gap=options.gap,
                                warm_start=bool(best.accepted))
        phases.append(_phase("value", report))
        if report.outcome in ("optimal", "feasible"):
            candidate = _read(model)
            candidate_value = _value_of(model, candidate)
            if candidate_value >= best_value:
                best, best_value = candidate, candidate_value
            else:
                if report.outcome == "optimal":
                    logger.warning("the solver called value %s optimal, below the greedy start's %s",
                                   candidate_value, best_value)
                status = "feasible"      # the solver stopped below the greedy start: keep the greedy allocation
            if report.outcome == "feasible":
                status = "feasible"
        elif report.outcome == "none":
            status = "feasible"          # stopped before any solution: the greedy one (or nothing) is still valid
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


# With a time limit, a model with this many yes/no decisions first takes the LP relaxation's allocation
# (solver/relaxation.py): branch-and-bound on such models needs minutes before it finds a good one.
RELAX_FIRST_BINARIES = 5000
RELAX_SHARE = 0.5                      # of the time left, at most, for the relaxation and its fixing


def _relax_first(model: ClearingModel, options: ClearOptions) -> bool:
    return options.time_limit is not None and len(model.accept) + len(model.done) >= RELAX_FIRST_BINARIES


def _relaxation_start(model: ClearingModel, options: ClearOptions, started: float
                      ) -> tuple[Solution | None, dict[str, object]]:
    from .relaxation import relax_and_fix
    remaining = _remaining(options, started)
    result = relax_and_fix(model, options.backend, None if remaining is None else remaining * RELAX_SHARE)
    phase: dict[str, object] = {"phase": "relaxation", "outcome": "feasible" if result.found else "none",
                                "open_decisions": result.open_decisions, "seconds": round(result.seconds, 3)}
    if result.bound is not None:
        phase["bound"] = round(result.bound, 6)
    if not result.found:
        return None, phase
    found = _read(model)
    phase["objective"] = phase["value"] = _value_of(model, found)
    return found, phase


def _phase(name: str, report: backends.SolveReport) -> dict[str, object]:
    out: dict[str, object] = {"phase": name, "outcome": report.outcome, "seconds": round(report.seconds, 3)}
    if report.objective is not None:
        out["objective"] = round(report.objective, 6)
    if report.bound is not None:
        out["bound"] = round(report.bound, 6)
    return out


def _read(model: ClearingModel) -> Solution:
    accepted = model.accepted()
    return Solution(accepted, model.component_pays(accepted))


def _value_of(model: ClearingModel, solution: Solution) -> float:
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
    class_pays = model.class_pays(solution.pays)
    for pk, var in model.pay.items():
        # Solvers report zero as tiny negatives (-3e-14); below the bound 0, PuLP refuses the value.
        var.setInitialValue(max(class_pays.get(pk, 0.0), 0.0))
    # A start must set the model's auxiliary sums too (matched_i: the non-matching pay into challenge
    # i), else a solver sees it break their rows: each is the rest of its defining row.
    for i in range(len(model.challenges)):
        name = f"matched_{i}"
        row = model.prob.get_constraint_by_name(name)
        if row is not None:
            aux = [var for var, coef in row.items() if coef == -1 and var.name == name]
            if len(aux) == 1:
                rest = sum((var.varValue or 0.0) * coef for var, coef in row.items() if var is not aux[0])
                aux[0].setInitialValue(max(rest, 0.0))


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
    of_pool: dict[int, list[tuple[str, int]]] = {}
    for (p, key), cents in pool_flows.items():
        of_pool.setdefault(p, []).append((key, cents))
    for pool in pools:
        mine = sorted(of_pool.get(pool.index, []), key=lambda kv: order[kv[0]])
        for pledge_id, key, cents in split_pool(pool, mine):
            per_pledge.setdefault(pledge_id, []).append((key, cents))
    try:
        return from_awards(market, awards_bids, per_pledge, status)
    except ValueError as exc:
        raise ClearingError(f"internal: {exc}") from None
