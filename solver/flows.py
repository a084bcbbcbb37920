"""From the model's continuous pool payments to whole-cent flows per pledge.

The model pays components with continuous money. The allocation needs whole
cents in which every component's flows add up exactly to its accepted prices
and no pledge pays more than its amount (spec rule 5). Rounding goes in three
steps: per component, round each pool's share (matching pools down, the rest by
largest remainder, so matching money never grows against the money it matches);
repair any pool left over its amount by moving single cents to pools with room;
then split each pool back to its pledges in proportion to their amounts.
"""
from __future__ import annotations

import math
from typing import Mapping

import pulp

from . import backends
from .pools import Pool

PoolFlows = dict[tuple[int, str], int]


def round_pool_flows(pools: tuple[Pool, ...], costs: Mapping[str, int], real: Mapping[tuple[int, str], float],
                     admits: Mapping[str, tuple[int, ...]], challenge_of: Mapping[str, str]) -> PoolFlows:
    """Whole-cent pool payments, component totals exact, pools within their amounts."""
    exact: dict[tuple[int, str], float] = {}
    flows: PoolFlows = {}
    for key, cost in costs.items():
        if cost <= 0:
            continue
        shares = [(p, max(real.get((p, key), 0.0), 0.0)) for p in admits[key]]
        total = sum(v for _, v in shares)
        if total <= 0:
            shares, total = [(p, 1.0) for p in admits[key]], float(len(admits[key]))
        scaled = [(p, v * cost / total) for p, v in shares]
        for p, v in scaled:
            exact[p, key] = v
        base = {p: math.floor(v + 1e-9) for p, v in scaled}
        left = cost - sum(base.values())
        takers = [p for p, _ in scaled if pools[p].match is None] or [p for p, _ in scaled]
        order = sorted(takers, key=lambda p: (-(exact[p, key] - base[p]), p))
        while left > 0:
            for p in order:
                if left == 0:
                    break
                base[p] += 1
                left -= 1
        while left < 0:                  # float noise pushed the floors over the total
            for p in sorted(base, key=lambda p: (exact[p, key] - base[p], p)):
                if left == 0:
                    break
                if base[p] > 0:
                    base[p] -= 1
                    left += 1
        for p, cents in base.items():
            if cents:
                flows[p, key] = cents
    if _repair_pool_amounts(pools, costs, flows, admits, challenge_of) and _pool_rules_hold(pools, costs, flows, challenge_of):
        return flows
    return _rounding_program(pools, costs, exact, admits, challenge_of)


def _spent(flows: PoolFlows) -> dict[int, int]:
    spent: dict[int, int] = {}
    for (p, _), cents in flows.items():
        spent[p] = spent.get(p, 0) + cents
    return spent


def _share_room(pool: Pool, cost: int, current: int) -> bool:
    cap = pool.share_cap
    return cap is None or current + 1 <= math.ceil(cap * cost - 1e-9)


def _repair_pool_amounts(pools: tuple[Pool, ...], costs: Mapping[str, int], flows: PoolFlows,
                         admits: Mapping[str, tuple[int, ...]], challenge_of: Mapping[str, str]) -> bool:
    """Move single cents off pools above their amount; False if some cannot be moved."""
    spent = _spent(flows)
    for pool in pools:
        excess = spent.get(pool.index, 0) - pool.amount
        for key in [k for (p, k) in list(flows) if p == pool.index]:
            if excess <= 0:
                break
            for other in admits[key]:
                if excess <= 0 or flows.get((pool.index, key), 0) == 0:
                    break
                target = pools[other]
                if other == pool.index or target.match is not None:
                    continue
                while (excess > 0 and flows.get((pool.index, key), 0) > 0
                       and spent.get(other, 0) < target.amount
                       and _share_room(target, costs[key], flows.get((other, key), 0))):
                    flows[pool.index, key] -= 1
                    flows[other, key] = flows.get((other, key), 0) + 1
                    spent[pool.index] -= 1
                    spent[other] = spent.get(other, 0) + 1
                    excess -= 1
            if flows.get((pool.index, key)) == 0:
                del flows[pool.index, key]
        if excess > 0:
            return False
    return True


def _pool_rules_hold(pools: tuple[Pool, ...], costs: Mapping[str, int], flows: PoolFlows,
                     challenge_of: Mapping[str, str]) -> bool:
    """Share caps within a cent and matching ratios exactly, at the pool level."""
    into: dict[tuple[int, str], int] = {}
    base: dict[str, int] = {}
    for (p, key), cents in flows.items():
        if not _share_room(pools[p], costs[key], cents - 1):
            return False
        cid = challenge_of[key]
        into[p, cid] = into.get((p, cid), 0) + cents
        if pools[p].match is None:
            base[cid] = base.get(cid, 0) + cents
    for (p, cid), cents in into.items():
        ratio = pools[p].match_ratio
        if ratio is not None and cents > ratio * base.get(cid, 0) + 1e-6:
            return False
    return True


def _rounding_program(pools: tuple[Pool, ...], costs: Mapping[str, int], exact: Mapping[tuple[int, str], float],
                      admits: Mapping[str, tuple[int, ...]], challenge_of: Mapping[str, str]) -> PoolFlows:
    """The exact fallback: whole-cent flows near the continuous ones, as a small integer program.

    Each flow stays between the floor and ceiling of its continuous value, and
    within its pool's share cap (the continuous value meets the cap up to solver
    tolerance, so the floor does too), so a solution exists for totals and
    amounts; matching slack is minimised.
    """
    prob = pulp.LpProblem("rounding", pulp.LpMinimize)
    z = {}
    for n, ((p, key), v) in enumerate(sorted(exact.items(), key=lambda kv: (kv[0][0], kv[0][1]))):
        low, high = math.floor(v + 1e-9), math.ceil(v - 1e-9)
        cap = pools[p].share_cap
        if cap is not None:
            high = max(low, min(high, math.ceil(cap * costs[key] - 1e-9)))
        z[p, key] = prob.add_variable(f"z_{n}", lowBound=low, upBound=high, cat=pulp.LpInteger)
    slack = []
    for j, (key, cost) in enumerate(costs.items()):
        if cost > 0:
            prob += pulp.lpSum(z[p, key] for p in admits[key] if (p, key) in z) == cost, f"total_{j}"
    for pool in pools:
        mine = [var for (p, _), var in z.items() if p == pool.index]
        if mine:
            prob += pulp.lpSum(mine) <= pool.amount, f"amount_{pool.index}"
    challenges = sorted({challenge_of[k] for _, k in z})
    for i, cid in enumerate(challenges):
        base = [var for (p, k), var in z.items() if challenge_of[k] == cid and pools[p].match is None]
        for pool in pools:
            own = [var for (p, k), var in z.items() if p == pool.index and challenge_of[k] == cid]
            if pool.match_ratio is not None and own:
                s = prob.add_variable(f"slack_{pool.index}_{i}", lowBound=0)
                slack.append(s)
                prob += pulp.lpSum(own) - pool.match_ratio * pulp.lpSum(base) <= s, f"match_{pool.index}_{i}"
    prob += pulp.lpSum(slack) if slack else pulp.lpSum(z.values()) * 0
    report = backends.solve(prob, "cbc")
    if report.outcome not in ("optimal", "feasible"):
        raise RuntimeError("could not round the flows to whole cents")
    return {pk: int(round(var.varValue or 0)) for pk, var in z.items() if round(var.varValue or 0) > 0}


def split_pool(pool: Pool, flows: list[tuple[str, int]]) -> list[tuple[str, str, int]]:
    """Split a pool's per-component payments to its pledges, in proportion to their amounts.

    Each pledge's total is its largest-remainder share of the pool's total (ties
    to the earlier pledge). Component by component, each pledge gets the floor
    of its proportional part and the spare cents go to the pledges furthest
    behind their proportional path, so per-component shares stay within a cent
    of proportional and no pledge exceeds its total. Returns (pledge, component,
    cents) in component order, then pledge order.
    """
    pledges = pool.pledges
    if len(pledges) == 1:
        return [(pledges[0].id, key, cents) for key, cents in flows if cents > 0]
    total = sum(c for _, c in flows)
    weights = [p.amount for p in pledges]
    targets = largest_remainder(total, weights)
    done = [0] * len(pledges)
    ideal = [0.0] * len(pledges)
    out: list[tuple[str, str, int]] = []
    for key, cents in flows:
        parts = [0] * len(pledges)
        for i, target in enumerate(targets):
            share = cents * target / total if total else 0.0
            ideal[i] += share
            parts[i] = min(math.floor(share), target - done[i])
        left = cents - sum(parts)
        while left > 0:
            i = min((i for i in range(len(pledges)) if done[i] + parts[i] < targets[i]),
                    key=lambda i: (done[i] + parts[i] - ideal[i], i))
            parts[i] += 1
            left -= 1
        for i, part in enumerate(parts):
            done[i] += part
            if part:
                out.append((pledges[i].id, key, part))
    return out


def largest_remainder(total: int, weights: list[int]) -> list[int]:
    """Whole units of `total` in proportion to `weights`, summing exactly; ties go to the earlier weight."""
    whole = sum(weights)
    if whole == 0:
        return [0] * len(weights)
    base = [total * w // whole for w in weights]
    remainders = [(total * w % whole, -i) for i, w in enumerate(weights)]
    for _, neg_i in sorted(remainders, reverse=True)[: total - sum(base)]:
        base[-neg_i] += 1
    return base
