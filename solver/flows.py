"""From the model's continuous pool payments to whole-cent flows per pledge.

The model pays components with continuous money. The allocation needs whole
cents in which every component's flows add up exactly to its accepted prices
and no pledge pays more than its amount (spec rule 5). Rounding goes in three
steps: per component, round each pool's share (matching pools down, the rest by
largest remainder, so matching money never grows against the money it matches);
repair any pool left over its amount by moving single cents to pools with room;
then split each pool back to its pledges in proportion to their amounts.

When money is scarce, pools are spent to the cent and the repair often finds no
pool with room on the same component. Then all flows are rounded at once, each
between the floor and ceiling of its continuous value: without matching as a
transportation problem (a simplex vertex is whole), with matching as a small
integer program (slack on the ratios minimised), both in HiGHS in this process,
serial simplex, deterministic; the PuLP/CBC program only when HiGHS is missing or fails.

This is where rule 5 becomes whole cents: the model meets amounts, share caps and
matching exactly with real-valued money, and after rounding a share cap may be
exceeded by less than a cent and a matching ratio by less than (1 + ratio) cents
per flow, as the spec allows (docs/rules.md).

Version 1.1 (rule 8): when a pledge has `min_spend`, `max_challenge_share` or `conditions`, all flows are
rounded at once by `_rules_rounding`, an integer program that keeps min_spend and conditions exactly and
each challenge share within a cent, and pays nothing where the model's pledge paid nothing.
"""
from __future__ import annotations

import heapq
import math
from collections.abc import Mapping

import pulp

from . import backends, progress
from .outcome import Outcome
from .pools import Pool

PoolFlows = dict[tuple[int, str], int]


def round_pool_flows(pools: tuple[Pool, ...], costs: Mapping[str, int], real: Mapping[tuple[int, str], float],
                     admits: Mapping[str, tuple[int, ...]], challenge_of: Mapping[str, str]) -> PoolFlows:
    """Whole-cent pool payments, component totals exact, pools within their amounts."""
    if any(pool.conditional for pool in pools):
        return _rules_rounding(pools, costs, real, admits, challenge_of)
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
    if (_repair_pool_amounts(pools, costs, flows, admits)
            and _pool_rules_hold(pools, costs, flows, challenge_of)):
        return flows
    # With scarce money many pools are spent to the cent, so rounding component by component pushes some
    # a cent over with no pool sharing a component left to take it: round all at once, as a network (when
    # no matching pool pays: rounding the matched money down often breaks a ratio by a cent, then only the
    # integer program helps).
    if not any(pools[p].match is not None for p, _ in exact):
        transported = _transport_rounding(pools, costs, exact)
        if transported is not None and _pool_rules_hold(pools, costs, transported, challenge_of):
            return transported
    # Matching ratios too: the integer program, in HiGHS in this process, else with CBC through PuLP.
    programmed = _transport_rounding(pools, costs, exact, challenge_of)
    if programmed is not None:
        return programmed
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
                         admits: Mapping[str, tuple[int, ...]]) -> bool:
    """Move single cents off pools above their amount; False if some cannot be moved."""
    spent = _spent(flows)
    amount = {pool.index: pool.amount for pool in pools}    # Pool.amount sums its pledges on every call
    keys_of: dict[int, list[str]] = {}          # pool -> its components, in the order flows gained them
    for p, key in flows:
        keys_of.setdefault(p, []).append(key)
    for pool in pools:
        excess = spent.get(pool.index, 0) - amount[pool.index]
        for key in list(keys_of.get(pool.index, ())):
            if excess <= 0:
                break
            if (pool.index, key) not in flows:
                continue
            for other in admits[key]:
                if excess <= 0 or flows.get((pool.index, key), 0) == 0:
                    break
                target = pools[other]
                if other == pool.index or target.match is not None:
                    continue
                while (excess > 0 and flows.get((pool.index, key), 0) > 0
                       and spent.get(other, 0) < amount[other]
                       and _share_room(target, costs[key], flows.get((other, key), 0))):
                    flows[pool.index, key] -= 1
                    if (other, key) not in flows:
                        keys_of.setdefault(other, []).append(key)
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


def _bounds(pools: tuple[Pool, ...], costs: Mapping[str, int], key: tuple[int, str], v: float) -> tuple[int, int]:
    """A flow's whole-cent range: the floor and ceiling of its continuous value, within its pool's share cap."""
    p, component = key
    low, high = math.floor(v + 1e-9), math.ceil(v - 1e-9)
    cap = pools[p].share_cap
    if cap is not None:
        high = max(low, min(high, math.ceil(cap * costs[component] - 1e-9)))
    return low, high


def _transport_rounding(pools: tuple[Pool, ...], costs: Mapping[str, int], exact: Mapping[tuple[int, str], float],
                        challenge_of: Mapping[str, str] | None = None) -> PoolFlows | None:
    """Whole-cent flows with component totals exact and pools within their amounts, or None.

    Without `challenge_of` (no matching rows) these rules are a transportation problem: every flow is in
    one component's total and one pool's amount, so the rows form a bipartite incidence matrix, which is
    totally unimodular, and with whole-cent bounds and right-hand sides every vertex of the polytope is
    whole. A simplex solve (HiGHS in this process, serial simplex, deterministic) therefore returns whole
    cents. Its objective rounds up the largest remainders of pools without matching and rounds matching
    pools down, as the rounding above does; the caller checks matching ratios after.

    With `challenge_of` it is the integer program of `_rounding_program` (matching rows with slack,
    slack minimised), leaner: HiGHS in this process, without the flows that must be 0. None: HiGHS
    missing or failing, no solution, or one not whole.
    """
    if not backends.available("highs"):
        return None
    # A flow whose ceiling is 0 is 0: leave it out (most pools that may pay a component pay none of it,
    # and each would otherwise sit in its challenge's matching rows).
    bounds = {pk: _bounds(pools, costs, pk, v) for pk, v in exact.items() if v > 1e-9}
    keys = sorted((pk for pk, (_, high) in bounds.items() if high > 0), key=lambda pk: (pk[0], pk[1]))
    if not keys:
        return {} if not any(cost > 0 for cost in costs.values()) else None
    # Columns are numbered by name (backends sorts them so): flows a_*, in key order, then slacks b_*.
    prob = pulp.LpProblem("rounding", pulp.LpMinimize)
    cat = pulp.LpContinuous if challenge_of is None else pulp.LpInteger
    z = {pk: prob.add_variable(f"a_{j:07d}", lowBound=bounds[pk][0], upBound=bounds[pk][1], cat=cat)
         for j, pk in enumerate(keys)}
    on_component: dict[str, list[pulp.LpVariable]] = {}
    of_pool: dict[int, list[pulp.LpVariable]] = {}
    for pk in keys:
        on_component.setdefault(pk[1], []).append(z[pk])
        of_pool.setdefault(pk[0], []).append(z[pk])
    for n, (key, cost) in enumerate(costs.items()):
        if cost > 0:
            prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(v, 1.0) for v in on_component.get(key, [])]),
                                                 pulp.LpConstraintEQ, f"total_{n}", cost))
    amount = {p: pools[p].amount for p in of_pool}
    for p, variables in of_pool.items():                  # ascending pool index: keys are sorted
        prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(v, 1.0) for v in variables]),
                                             pulp.LpConstraintLE, f"amount_{p}", amount[p]))
    objective: list[tuple[pulp.LpVariable, float]] = []
    if challenge_of is None:
        for pk in keys:
            low = bounds[pk][0]
            objective.append((z[pk], 1.0 if pools[pk[0]].match is not None else -(exact[pk] - low)))
    else:
        base_in: dict[str, list[int]] = {}
        own_in: dict[str, dict[int, list[int]]] = {}
        for j, (p, key) in enumerate(keys):
            cid = challenge_of[key]
            if pools[p].match is None:
                base_in.setdefault(cid, []).append(j)
            else:
                own_in.setdefault(cid, {}).setdefault(p, []).append(j)
        for cid in sorted(own_in):
            for p, own in sorted(own_in[cid].items()):
                ratio = pools[p].match_ratio or 0.0
                slack = prob.add_variable(f"b_{len(objective):07d}", lowBound=0)
                objective.append((slack, 1.0))
                entries = sorted([(j, 1.0) for j in own] + [(j, -ratio) for j in base_in.get(cid, [])])
                terms = [(z[keys[j]], c) for j, c in entries] + [(slack, -1.0)]
                prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE,
                                                     f"match_{cid}_{p}", 0))
    prob.setObjective(pulp.LpAffineExpression(objective))
    try:
        with progress.without_search():         # rounding, not the clearing's search
            report = backends.solve(prob, "highs",
                                    highs_options={"solver": "simplex"} if challenge_of is None else None)
    except backends.BackendError:
        return None
    if report.outcome != Outcome.OPTIMAL:
        return None
    flows = _whole_cents(z, keys)
    if flows is None:
        return None
    total: dict[str, int] = {}
    spent: dict[int, int] = {}
    for pk, cents in flows.items():
        total[pk[1]] = total.get(pk[1], 0) + cents
        spent[pk[0]] = spent.get(pk[0], 0) + cents
    if any(total.get(key, 0) != cost for key, cost in costs.items() if cost > 0):
        return None
    if any(spent.get(p, 0) > amount[p] for p in of_pool):
        return None
    return flows


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
    # One pass to group the flows by pool and by challenge, so building stays linear.
    of_pool: dict[int, list[pulp.LpVariable]] = {}
    base_in: dict[str, list[pulp.LpVariable]] = {}
    own_in: dict[str, dict[int, list[pulp.LpVariable]]] = {}
    for (p, k), var in z.items():
        of_pool.setdefault(p, []).append(var)
        cid = challenge_of[k]
        if pools[p].match is None:
            base_in.setdefault(cid, []).append(var)
        else:
            own_in.setdefault(cid, {}).setdefault(p, []).append(var)
    for pool in pools:
        mine = of_pool.get(pool.index)
        if mine:
            prob += pulp.lpSum(mine) <= pool.amount, f"amount_{pool.index}"
    challenges = sorted({challenge_of[k] for _, k in z})
    for i, cid in enumerate(challenges):
        base = base_in.get(cid, [])
        for p, own in sorted(own_in.get(cid, {}).items()):
            pool = pools[p]
            s = prob.add_variable(f"slack_{pool.index}_{i}", lowBound=0)
            slack.append(s)
            prob += pulp.lpSum(own) - (pool.match_ratio or 0.0) * pulp.lpSum(base) <= s, f"match_{pool.index}_{i}"
    prob += pulp.lpSum(slack) if slack else pulp.lpSum(z.values()) * 0
    with progress.without_search():             # rounding, not the clearing's search
        report = backends.solve(prob, "cbc")
    if not report.outcome.found:
        raise RuntimeError("could not round the flows to whole cents")
    return {pk: int(round(var.varValue or 0)) for pk, var in z.items() if round(var.varValue or 0) > 0}


def _rules_rounding(pools: tuple[Pool, ...], costs: Mapping[str, int], real: Mapping[tuple[int, str], float],
                    admits: Mapping[str, tuple[int, ...]], challenge_of: Mapping[str, str]) -> PoolFlows:
    """Whole-cent flows for a market with version-1.1 pledges, as one integer program.

    Each flow z[p, k] is whole, between the floor and ceiling of its continuous value (within p's
    max_share cap), and only where the model paid something (so a pledge whose engaged or gate the
    model left at 0 pays nothing there: model.component_pays drops those pays). Rows: component totals
    exact; pools within their amounts; a pledge that pays has at least its min_spend; in each challenge
    a max_challenge_share pledge pays at most ceil(share x the challenge's cost), which is within the
    spec's allowance of a cent per flow; for each challenge a conditional pledge pays into, each named
    funder's pools pay at least the condition's min there; matching ratios with slack, minimised. The
    continuous flows meet every row, and rounding moves each flow by less than a cent; when no whole
    point lies that close, the flows may move anywhere between 0 and the component's cost, least
    distance first. The answer is checked against rule 8 before it is returned.
    """
    exact: dict[tuple[int, str], float] = {}
    for key, cost in costs.items():
        if cost <= 0:
            continue
        shares = [(p, max(real.get((p, key), 0.0), 0.0)) for p in admits[key]]
        total = sum(v for _, v in shares)
        if total <= 0:
            plain = [p for p in admits[key] if not pools[p].conditional] or list(admits[key])
            shares, total = [(p, 1.0) for p in plain], float(len(plain))
        for p, v in shares:
            if v > 0:
                exact[p, key] = v * cost / total
    challenge_cost: dict[str, int] = {}
    for key, cost in costs.items():
        challenge_cost[challenge_of[key]] = challenge_cost.get(challenge_of[key], 0) + cost
    for wide in (False, True):
        flows = _rules_program(pools, costs, exact, challenge_of, challenge_cost, wide)
        if flows is not None and not rule8_problems(pools, costs, flows, challenge_of, exact):
            return flows
    raise RuntimeError("could not round the flows to whole cents keeping rule 8")


def _rules_program(pools: tuple[Pool, ...], costs: Mapping[str, int], exact: Mapping[tuple[int, str], float],
                   challenge_of: Mapping[str, str], challenge_cost: Mapping[str, int], wide: bool) -> PoolFlows | None:
    keys = sorted(exact, key=lambda pk: (pk[0], pk[1]))
    prob = pulp.LpProblem("rounding", pulp.LpMinimize)
    z: dict[tuple[int, str], pulp.LpVariable] = {}
    objective: list[tuple[pulp.LpVariable, float]] = []
    for j, pk in enumerate(keys):
        v = exact[pk]
        low, high = _bounds(pools, costs, pk, v)
        if wide:
            low, high = 0, costs[pk[1]]
            cap = pools[pk[0]].share_cap
            if cap is not None:
                high = min(high, math.ceil(cap * costs[pk[1]] - 1e-9))
        z[pk] = prob.add_variable(f"a_{j:07d}", lowBound=low, upBound=high, cat=pulp.LpInteger)
        if wide:                                # |z - v| through a deviation d >= z - v, d >= v - z
            d = prob.add_variable(f"d_{j:07d}", lowBound=0)
            prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(z[pk], 1.0), (d, -1.0)]),
                                                 pulp.LpConstraintLE, f"up_{j}", v))
            prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(z[pk], 1.0), (d, 1.0)]),
                                                 pulp.LpConstraintGE, f"down_{j}", v))
            objective.append((d, 1.0))
        else:                                   # |z - v| is linear between the floor and the ceiling
            objective.append((z[pk], 1.0 - 2.0 * (v - math.floor(v + 1e-9))))
    on_component: dict[str, list[pulp.LpVariable]] = {}
    of_pool: dict[int, list[pulp.LpVariable]] = {}
    into: dict[tuple[int, str], list[pulp.LpVariable]] = {}
    for pk in keys:
        on_component.setdefault(pk[1], []).append(z[pk])
        of_pool.setdefault(pk[0], []).append(z[pk])
        into.setdefault((pk[0], challenge_of[pk[1]]), []).append(z[pk])

    def row(terms: list[tuple[pulp.LpVariable, float]], sense: int, rhs: float, name: str) -> None:
        prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, name, rhs))

    for n, (key, cost) in enumerate(costs.items()):
        if cost > 0:
            row([(v, 1.0) for v in on_component.get(key, [])], pulp.LpConstraintEQ, cost, f"total_{n}")
    pools_of: dict[str, list[int]] = {}
    for pool in pools:
        pools_of.setdefault(pool.pledges[0].funder_id, []).append(pool.index)
    challenges = sorted({cid for _, cid in into})
    for p, variables in sorted(of_pool.items()):
        pool = pools[p]
        row([(v, 1.0) for v in variables], pulp.LpConstraintLE, pool.amount, f"amount_{p}")
        if not pool.conditional:
            continue
        pledge = pool.pledges[0]
        if pledge.min_spend is not None:
            row([(v, 1.0) for v in variables], pulp.LpConstraintGE, pledge.min_spend, f"min_spend_{p}")
        for i, cid in enumerate(challenges):
            mine = into.get((p, cid))
            if not mine:
                continue
            if pledge.max_challenge_share is not None:
                row([(v, 1.0) for v in mine], pulp.LpConstraintLE,
                    math.ceil(pledge.max_challenge_share * challenge_cost[cid] - 1e-9), f"share_{p}_{i}")
            for m, condition in enumerate(pledge.conditions):
                theirs = [v for q in pools_of.get(condition.funder_id, []) for v in into.get((q, cid), [])]
                row([(v, 1.0) for v in theirs], pulp.LpConstraintGE, condition.min, f"condition_{p}_{i}_{m}")
    base_in: dict[str, list[pulp.LpVariable]] = {}
    own_in: dict[str, dict[int, list[pulp.LpVariable]]] = {}
    for pk in keys:
        cid = challenge_of[pk[1]]
        if pools[pk[0]].match is None:
            base_in.setdefault(cid, []).append(z[pk])
        else:
            own_in.setdefault(cid, {}).setdefault(pk[0], []).append(z[pk])
    for i, cid in enumerate(challenges):
        for p, own in sorted(own_in.get(cid, {}).items()):
            slack = prob.add_variable(f"s_{p:05d}_{i:07d}", lowBound=0)
            objective.append((slack, 1000.0))
            row([(v, 1.0) for v in own] + [(v, -(pools[p].match_ratio or 0.0)) for v in base_in.get(cid, [])]
                + [(slack, -1.0)], pulp.LpConstraintLE, 0, f"match_{p}_{i}")
    prob.setObjective(pulp.LpAffineExpression(objective))
    backend = "highs" if backends.available("highs") else "cbc"
    try:
        with progress.without_search():         # rounding, not the clearing's search
            report = backends.solve(prob, backend)
    except backends.BackendError:
        return None
    if not report.outcome.found:
        return None
    return _whole_cents(z, keys)


def _whole_cents(z: Mapping[tuple[int, str], pulp.LpVariable], keys: list[tuple[int, str]]) -> PoolFlows | None:
    """The solved flows as whole cents (zeros left out), or None when one is not whole."""
    flows: PoolFlows = {}
    for pk in keys:
        x = z[pk].varValue or 0.0
        cents = round(x)
        if abs(x - cents) > 1e-6:
            return None
        if cents:
            flows[pk] = cents
    return flows


def rule8_problems(pools: tuple[Pool, ...], costs: Mapping[str, int], flows: PoolFlows,
                   challenge_of: Mapping[str, str], paid: Mapping[tuple[int, str], float] | None = None) -> list[str]:
    """What whole-cent pool flows break of rules 5 and 8 (totals, amounts, min_spend, max_challenge_share
    within a cent per flow, conditions exactly), and flows where the model paid nothing (`paid`)."""
    problems: list[str] = []
    total: dict[str, int] = {}
    spent: dict[int, int] = {}
    into: dict[tuple[int, str], int] = {}
    count: dict[tuple[int, str], int] = {}
    challenge_cost: dict[str, int] = {}
    for key, cost in costs.items():
        challenge_cost[challenge_of[key]] = challenge_cost.get(challenge_of[key], 0) + cost
    for (p, key), cents in flows.items():
        if cents <= 0:
            continue
        if paid is not None and (p, key) not in paid:
            problems.append(f"pool {p} pays {key}, where the model paid nothing")
        total[key] = total.get(key, 0) + cents
        spent[p] = spent.get(p, 0) + cents
        pc = (p, challenge_of[key])
        into[pc] = into.get(pc, 0) + cents
        count[pc] = count.get(pc, 0) + 1
    problems += [f"{key} is paid {total.get(key, 0)} of {cost}" for key, cost in costs.items()
                 if cost > 0 and total.get(key, 0) != cost]
    by_funder: dict[tuple[str, str], int] = {}
    for (p, cid), cents in into.items():
        funder = pools[p].pledges[0].funder_id
        by_funder[funder, cid] = by_funder.get((funder, cid), 0) + cents
    for p, cents in spent.items():
        pool = pools[p]
        if cents > pool.amount:
            problems.append(f"pool {p} pays {cents}, above its amount")
        if not pool.conditional:
            continue
        pledge = pool.pledges[0]
        if pledge.min_spend is not None and cents < pledge.min_spend:
            problems.append(f"pool {p} pays {cents}, below its min_spend")
    for (p, cid), cents in into.items():
        pool = pools[p]
        if not pool.conditional:
            continue
        pledge = pool.pledges[0]
        share = pledge.max_challenge_share
        if share is not None and cents >= share * challenge_cost[cid] + count[p, cid]:
            problems.append(f"pool {p} pays {cents} into {cid}, above its share")
        for condition in pledge.conditions:
            if by_funder.get((condition.funder_id, cid), 0) < condition.min:
                problems.append(f"pool {p} pays into {cid}, where {condition.funder_id} pays below its condition")
    return problems


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
        if left > 0:
            # The spare cents, one at a time, to the pledge furthest behind (ties to the earlier one): a
            # heap gives the same picks as taking the minimum each time, in log time.
            behind = [(done[i] + parts[i] - ideal[i], i) for i in range(len(pledges))
                      if done[i] + parts[i] < targets[i]]
            heapq.heapify(behind)
            while left > 0:
                _, i = heapq.heappop(behind)
                parts[i] += 1
                left -= 1
                if done[i] + parts[i] < targets[i]:
                    heapq.heappush(behind, (done[i] + parts[i] - ideal[i], i))
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
