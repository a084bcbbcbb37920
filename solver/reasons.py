"""Why a challenge was not completed, in words an analyst can act on.

Structural reasons come from presolve (no eligible bid, and why the others are
not eligible). Otherwise the challenge is tried on its own, adding one rule at a
time (coverage, reliability target, actor capacity, pledged money), and then
against what the clearing left over: the first test that fails names the cause.
"""
from __future__ import annotations

import math

import pulp

from . import backends
from .allocation import Allocation, Unfunded
from .eligibility import Presolve
from .market import Challenge, Market
from .model import ClearingModel, Restrictions
from .money import format_money
from .pools import Pool

MAX_LISTED = 3


def plain_reasons(market: Market, pre: Presolve, allocation: Allocation) -> tuple[Unfunded, ...]:
    """Reasons from presolve only, without extra solves."""
    out = []
    for challenge, result in zip(market.challenges, allocation.challenges):
        if result.completed:
            continue
        reasons = _structural(market, pre, challenge)
        if not reasons:
            reasons = ["not chosen by the clearing (run with explanations for the detailed cause)"]
        out.append(Unfunded(challenge.id, tuple(reasons)))
    return tuple(out)


def explain_unfunded(market: Market, pools: tuple[Pool, ...], pre: Presolve, allocation: Allocation,
                     backend: str) -> tuple[Unfunded, ...]:
    out = []
    for challenge, result in zip(market.challenges, allocation.challenges):
        if result.completed:
            continue
        reasons = _structural(market, pre, challenge)
        if not reasons:
            reasons = _tested(market, pools, pre, allocation, challenge, backend)
        out.append(Unfunded(challenge.id, tuple(reasons)))
    return tuple(out)


def _structural(market: Market, pre: Presolve, challenge: Challenge) -> list[str]:
    if challenge.id not in pre.impossible_challenges:
        return []
    reasons = [pre.impossible_challenges[challenge.id]]
    for component in challenge.components:
        if not component.critical:
            continue
        for bid in market.bids:
            if any(item.component == component.key for item in bid.items):
                if bid.id in pre.ineligible:
                    reasons.extend(pre.ineligible[bid.id])
                elif bid.id in pre.unpayable:
                    reasons.append(pre.unpayable[bid.id])
    return list(dict.fromkeys(reasons))[: 1 + 2 * MAX_LISTED]


def _min_cost(market: Market, pools: tuple[Pool, ...], pre: Presolve, challenge: Challenge, backend: str,
              **rules: object) -> float | None:
    """The least cost of completing `challenge` alone under the given rules, None if it cannot be done."""
    model = ClearingModel(market, pools, pre, Restrictions(challenges=frozenset([challenge.id]), **rules))  # type: ignore[arg-type]
    if challenge.id not in model.done:
        return None
    model.prob += model.done[challenge.id] == 1, "force_done"
    model.prob.sense = pulp.LpMinimize
    model.prob.setObjective(model.cost)
    report = backends.solve(model.prob, backend, time_limit=30)
    if report.outcome not in ("optimal", "feasible"):
        return None
    return pulp.value(model.cost) or 0.0


def _best_reliability(market: Market, pools: tuple[Pool, ...], pre: Presolve, challenge: Challenge,
                      backend: str) -> float | None:
    model = ClearingModel(market, pools, pre, Restrictions(challenges=frozenset([challenge.id]), money=False,
                                                           reliability=False, capacity=False))
    if challenge.id not in model.done:
        return None
    model.prob += model.done[challenge.id] == 1, "force_done"
    model.prob.sense = pulp.LpMinimize
    model.prob.setObjective(pulp.lpSum(-math.log(b.reliability) * model.accept[b.id] for b in model.bids))
    report = backends.solve(model.prob, backend, time_limit=30)
    if report.outcome not in ("optimal", "feasible"):
        return None
    product = 1.0
    for bid in model.accepted():
        product *= bid.reliability
    return product


def _tested(market: Market, pools: tuple[Pool, ...], pre: Presolve, allocation: Allocation,
            challenge: Challenge, backend: str) -> list[str]:
    if challenge.value == 0 and not any(k.value for k in challenge.components if not k.critical):
        return ["its value is 0, so completing it would only add cost"]
    bare = _min_cost(market, pools, pre, challenge, backend, money=False, reliability=False, capacity=False)
    if bare is None:
        return ["its components cannot all be covered by eligible bids together "
                "(quantities, bundles and requires do not fit)"]
    if challenge.reliability is not None and _min_cost(market, pools, pre, challenge, backend, money=False,
                                                       capacity=False) is None:
        best = _best_reliability(market, pools, pre, challenge, backend)
        got = f"; the surest eligible bids reach {best:.4f}" if best is not None else ""
        return [f"reliability target {challenge.reliability:g} out of reach with the eligible bids{got}"]
    alone = _min_cost(market, pools, pre, challenge, backend, money=False)
    if alone is None:
        return ["actor capacity: the bids it needs cannot be accepted together within the limits of "
                + _limited_actors(market, pre, challenge)]
    cost = int(round(alone))
    admitting = sorted({p for k in challenge.components for p in pre.admits[k.key]})
    in_scope = sum(pools[p].amount for p in admitting)
    funded_alone = _min_cost(market, pools, pre, challenge, backend)
    if funded_alone is None:
        if cost > in_scope:
            return [f"not enough money in scope: it costs at least {format_money(cost)}, pledges that may pay "
                    f"for it total {format_money(in_scope)} (shortfall {format_money(cost - in_scope)})"]
        return [f"pledge limits: the {format_money(in_scope)} in scope cannot cover its cheapest cost of "
                f"{format_money(cost)} within max_share and match rules"]
    return _competition(market, pools, pre, allocation, challenge, backend, cost)


def _competition(market: Market, pools: tuple[Pool, ...], pre: Presolve, allocation: Allocation,
                 challenge: Challenge, backend: str, cost: int) -> list[str]:
    """It could be done alone: say what it lost to, money or actors."""
    spent = {p.id: p.spent for p in allocation.pledges}
    left = {pool.index: pool.amount - sum(spent.get(pl.id, 0) for pl in pool.pledges) for pool in pools}
    admitting = sorted({p for k in challenge.components for p in pre.admits[k.key]})
    challenge_of = {k.key: c.id for c in market.challenges for k in c.components}
    pledge_pool = {pl.id: pool.index for pool in pools for pl in pool.pledges}
    # Rivals: completed challenges paid by money that could have paid for this one, most money first.
    took: dict[str, int] = {}
    for f in allocation.flows:
        if pledge_pool[f.pledge] in admitting:
            took[challenge_of[f.component]] = took.get(challenge_of[f.component], 0) + f.amount
    rivals = sorted(took, key=lambda cid: (-took[cid], cid))
    results = {r.id: r for r in allocation.challenges}
    with_money_left = _min_cost(market, pools, pre, challenge, backend, pool_amounts=left, capacity=False)
    if with_money_left is None:
        listed = ", ".join(f"{cid} (value {results[cid].value}, took {format_money(took[cid])})"
                           for cid in rivals[:MAX_LISTED])
        more = f" and {len(rivals) - MAX_LISTED} more" if len(rivals) > MAX_LISTED else ""
        left_in_scope = sum(left[p] for p in admitting)
        return [f"outcompeted for money: it would cost at least {format_money(cost)} (value {challenge.value}), but "
                f"the money that may pay for it is spent on completed challenges that together deliver more value: "
                f"{listed}{more}; the {format_money(left_in_scope)} of it left unspent cannot pay for it within "
                f"the pledges' amounts and limits"]
    budget_left, load_left, groups = _capacity_left(market, allocation)
    if _min_cost(market, pools, pre, challenge, backend, pool_amounts=left, budget_left=budget_left,
                 load_left=load_left, groups_taken=groups) is None:
        return ["outcompeted for actors: the bids it needs compete with completed challenges for the capacity of "
                + _limited_actors(market, pre, challenge, allocation)]
    if allocation.status != "optimal":
        return ["not reached: the search stopped at its limit before completing it"]
    return ["not chosen: completing it would not raise the total value"]


def _capacity_left(market: Market, allocation: Allocation
                   ) -> tuple[dict[str, int], dict[str, float], frozenset[tuple[str, str]]]:
    accepted = {a.bid for a in allocation.awards}
    budget: dict[str, int] = {}
    load: dict[str, float] = {}
    groups = set()
    for actor in market.actors:
        won = [b for b in actor.bids if b.id in accepted]
        if actor.capacity is not None and actor.capacity.budget is not None:
            budget[actor.id] = actor.capacity.budget - sum(b.price for b in won)
        if actor.capacity is not None and actor.capacity.load is not None:
            load[actor.id] = actor.capacity.load - sum(b.load for b in won)
        groups.update((actor.id, b.exclusive_group) for b in won if b.exclusive_group is not None)
    return budget, load, frozenset(groups)


def _limited_actors(market: Market, pre: Presolve, challenge: Challenge,
                    allocation: Allocation | None = None) -> str:
    """The actors with eligible bids on `challenge` whose budget, load or exclusive groups limit them,
    each with its limit (and, given an allocation, what completed challenges already use of it)."""
    keys = {k.key for k in challenge.components}
    live = {b.id for b in pre.live_bids}
    won = set() if allocation is None else {a.bid for a in allocation.awards}
    described = []
    for actor in market.actors:
        mine = [b for b in actor.bids if b.id in live and any(i.component in keys for i in b.items)]
        if not mine:
            continue
        taken = [b for b in actor.bids if b.id in won]
        limits = []
        cap = actor.capacity
        if cap is not None and cap.budget is not None:
            used = f", {format_money(sum(b.price for b in taken))} used" if allocation is not None else ""
            limits.append(f"budget {format_money(cap.budget)}{used}")
        if cap is not None and cap.load is not None:
            used = f", {sum(b.load for b in taken):g} used" if allocation is not None else ""
            limits.append(f"load {cap.load:g}{used}")
        groups = sorted({b.exclusive_group for b in mine if b.exclusive_group is not None})
        if groups:
            limits.append("one bid of exclusive group " + ", ".join(repr(g) for g in groups))
        if limits:
            described.append(f"{actor.id} ({'; '.join(limits)})")
    if not described:
        return "their actors"
    more = f" and {len(described) - MAX_LISTED} more" if len(described) > MAX_LISTED else ""
    return ", ".join(described[:MAX_LISTED]) + more
