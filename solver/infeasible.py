"""Spec rule 9: when the fixed bids cannot all be accepted, the allocation says so, and why.

The clearing is then "infeasible": no awards, no flows, every pledge returned, and one `unfunded` entry
for every challenge, each naming what makes the fixed bids impossible. The causes are found cheapest
first: what presolve already knows (a fixed bid not eligible, unpayable, or on a challenge that cannot be
completed), then checks of the fixed bids alone (two in one exclusive group, an actor's budget or load,
a challenge's reliability target, the money that may pay for their challenges), and only when none of
those explains it, small models (model.py with Restrictions): each fixed bid alone with the money, the
reliability targets and the actors' capacity switched on one at a time, then all fixed bids together,
within what is left of the call's time (budget.py).

Every reason is one of the templates below, so that pages and exports can recognise them (they name
fixed bids and their prices: market/sealing.py decides who may read them):

  fixed bid "B" is not eligible: its item on "c/k" is priced P for Q, above the reserve of R a unit
  fixed bid "B" is not eligible: its reliability R is below the M that "c/k" requires
  fixed bid "B" cannot be paid: no pledge's scope admits "c/k"
  fixed bid "B" is on "c", which cannot be completed: <presolve's reason>
  fixed bids "B1" and "B2" are in the same exclusive group "g" of actor "a"
  fixed bid(s) "B1", "B2" of actor "a" cost P together, above its budget of X   (load: "have a load of")
  fixed bid(s) "B1", "B2" on "c" have a reliability of R together, below its target of T
  fixed bid(s) "B1", "B2" cannot be paid: the pledges that may pay for "c" hold X against the Y the fixed
      bids on it cost
  fixed bid(s) ... cannot be paid: the pledges that may pay for them hold X against the Y they cost
  fixed bid "B" cannot be accepted: no allocation with it keeps <what>
  the fixed bids "B1", "B2" together break <what>
  the fixed bids "B1", "B2" cannot all be accepted together
  not cleared: the fixed bids "B1", "B2" cannot all be accepted (see the reasons on "c")

<what> is one of: "the money pledged and its limits (rules 5 and 8)", "the reliability targets
(rule 6)", "the actors' budgets, loads and exclusive groups (rule 7)", or all three together.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import pulp

from . import backends, progress
from .allocation import Allocation, Unfunded, from_awards
from .budget import Budget
from .decompose import independent_parts
from .eligibility import RELIABILITY_SLACK, Presolve
from .market import Bid, Market
from .model import ClearingModel, Restrictions
from .money import format_money_grouped
from .outcome import Outcome
from .pools import Pool

MONEY = "the money pledged and its limits (rules 5 and 8)"
RELIABILITY = "the reliability targets (rule 6)"
CAPACITY = "the actors' budgets, loads and exclusive groups (rule 7)"
EVERYTHING = "the money, reliability targets and actors' capacity together (rules 5 to 8)"
# Each restriction switched on alone: what it is called in a reason, and the switches.
ALONE = ((MONEY, Restrictions(reliability=False, capacity=False)),
         (RELIABILITY, Restrictions(money=False, capacity=False)),
         (CAPACITY, Restrictions(money=False, reliability=False)))


@dataclass(frozen=True, slots=True)
class Cause:
    """One thing that makes the fixed bids impossible, and the challenges it concerns."""
    text: str
    challenges: tuple[str, ...]


def _q(ids: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f'"{i}"' for i in ids)


def _and(ids: list[str]) -> str:
    return _q(ids[:-1]) + f' and "{ids[-1]}"'


def _bids(bids: list[Bid]) -> str:
    return f'fixed bid {_q([bids[0].id])}' if len(bids) == 1 else f"fixed bids {_q([b.id for b in bids])}"


def _challenges_of(bid: Bid) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item.component.partition("/")[0] for item in bid.items))


def fixed_bids(market: Market) -> list[Bid]:
    return [b for b in market.bids if b.fixed]


def cheap_causes(market: Market, pools: tuple[Pool, ...], pre: Presolve) -> list[Cause]:
    """What makes the fixed bids impossible that shows without solving (empty: nothing found)."""
    fixed = fixed_bids(market)
    if not fixed:
        return []
    components = {k.key: k for k in market.components}
    causes: list[Cause] = []
    live = {b.id for b in pre.live_bids} | set(pre.dominated)
    for bid in fixed:
        mine = _challenges_of(bid)
        if bid.id in pre.ineligible:
            for item in bid.items:
                k = components[item.component]
                if k.max_unit_price is not None and item.price > item.quantity * k.max_unit_price:
                    causes.append(Cause(
                        f'fixed bid "{bid.id}" is not eligible: its item on "{k.key}" is priced '
                        f'{format_money_grouped(item.price)} for {item.quantity}, above the reserve of '
                        f'{format_money_grouped(k.max_unit_price)} a unit', mine))
                if k.min_reliability is not None and bid.reliability < k.min_reliability:
                    causes.append(Cause(
                        f'fixed bid "{bid.id}" is not eligible: its reliability {bid.reliability:g} is below '
                        f'the {k.min_reliability:g} that "{k.key}" requires', mine))
            continue
        if bid.id in pre.unpayable:
            unpaid = next(i.component for i in bid.items if i.price > 0 and not pre.admits[i.component])
            causes.append(Cause(f'fixed bid "{bid.id}" cannot be paid: no pledge\'s scope admits "{unpaid}"', mine))
            continue
        if bid.id not in live:
            for cid in mine:
                why = pre.impossible_challenges.get(cid)
                if why is None:
                    why = next((f"{key}: {pre.impossible_components[key]}" for key in
                                (i.component for i in bid.items) if key in pre.impossible_components), None)
                if why is not None:
                    causes.append(Cause(f'fixed bid "{bid.id}" is on "{cid}", which cannot be completed: {why}',
                                        mine))
                    break
    if causes:
        return causes
    causes += _capacity_causes(market, fixed)
    causes += _reliability_causes(market, fixed)
    causes += _money_causes(market, pools, pre, fixed)
    return causes


def _capacity_causes(market: Market, fixed: list[Bid]) -> list[Cause]:
    causes: list[Cause] = []
    for actor in market.actors:
        mine = [b for b in fixed if b.actor_id == actor.id]
        if not mine:
            continue
        where = tuple(dict.fromkeys(c for b in mine for c in _challenges_of(b)))
        groups: dict[str, list[Bid]] = {}
        for bid in mine:
            if bid.exclusive_group is not None:
                groups.setdefault(bid.exclusive_group, []).append(bid)
        for group, members in groups.items():
            if len(members) > 1:
                causes.append(Cause(f"fixed bids {_and([b.id for b in members])} are in the same exclusive group "
                                    f'"{group}" of actor "{actor.id}"',
                                    tuple(dict.fromkeys(c for b in members for c in _challenges_of(b)))))
        capacity = actor.capacity
        if capacity is None:
            continue
        price = sum(b.price for b in mine)
        if capacity.budget is not None and price > capacity.budget:
            causes.append(Cause(f'{_bids(mine)} of actor "{actor.id}" cost {format_money_grouped(price)} together, '
                                f"above its budget of {format_money_grouped(capacity.budget)}", where))
        load = sum(b.load for b in mine)
        if capacity.load is not None and load > capacity.load + 1e-9:
            causes.append(Cause(f'{_bids(mine)} of actor "{actor.id}" have a load of {load:g} together, above its '
                                f"load of {capacity.load:g}", where))
    return causes


def _reliability_causes(market: Market, fixed: list[Bid]) -> list[Cause]:
    causes: list[Cause] = []
    for challenge in market.challenges:
        if challenge.reliability is None:
            continue
        on = [b for b in fixed if challenge.id in _challenges_of(b)]
        risk = sum(-math.log(b.reliability) for b in on)
        if on and risk > -math.log(challenge.reliability) + RELIABILITY_SLACK:
            causes.append(Cause(f'{_bids(on)} on "{challenge.id}" have a reliability of {math.exp(-risk):.6g} '
                                f"together, below its target of {challenge.reliability:g}", (challenge.id,)))
    return causes


def _money_causes(market: Market, pools: tuple[Pool, ...], pre: Presolve, fixed: list[Bid]) -> list[Cause]:
    """Per challenge, and over all of them: the fixed bids' prices against every pledge that may pay any
    component they are priced on (a bound: caps and conditions only make it harder)."""
    causes: list[Cause] = []
    need: dict[str, int] = {}
    payers: dict[str, set[int]] = {}
    on: dict[str, list[Bid]] = {}
    for bid in fixed:
        for item in bid.items:
            cid = item.component.partition("/")[0]
            if bid not in on.setdefault(cid, []):
                on[cid].append(bid)
            if item.price:
                need[cid] = need.get(cid, 0) + item.price
                payers.setdefault(cid, set()).update(pre.admits[item.component])
    for challenge in market.challenges:
        cid = challenge.id
        if cid not in need:
            continue
        have = sum(pools[p].amount for p in payers[cid])
        if have < need[cid]:
            causes.append(Cause(f'{_bids(on[cid])} cannot be paid: the pledges that may pay for "{cid}" hold '
                                f"{format_money_grouped(have)} against the {format_money_grouped(need[cid])} the "
                                "fixed bids on it cost", (cid,)))
    if not causes and len(need) > 1:
        everyone = set().union(*payers.values())
        have = sum(pools[p].amount for p in everyone)
        total = sum(need.values())
        if have < total:
            paid = [b for b in fixed if b.price]
            causes.append(Cause(f"{_bids(paid)} cannot be paid: the pledges that may pay for them hold "
                                f"{format_money_grouped(have)} against the {format_money_grouped(total)} they cost",
                                tuple(need)))
    return causes


def model_causes(market: Market, pools: tuple[Pool, ...], pre: Presolve, backend: str, budget: Budget) -> list[Cause]:
    """Small models: each fixed bid alone with one restriction at a time, then all of them together.

    Each model holds only the independent parts (decompose.py) of the fixed bids it asks about: parts
    share no row, so the others cannot make it infeasible. Each is a feasibility problem (objective 0):
    the solver stops at its first allocation."""
    fixed = fixed_bids(market)
    part_of = {cid: part for part in independent_parts(market, pools, pre) for cid in part}

    def around(bids: list[Bid]) -> frozenset[str]:
        return frozenset(cid for b in bids for c in _challenges_of(b) for cid in part_of.get(c, (c,)))

    causes: list[Cause] = []
    for bid in fixed:
        if budget.spent_up():
            return causes
        alone = frozenset([bid.id])
        scope = around([bid])
        if _feasible(market, pools, pre, Restrictions(challenges=scope, fixed=alone), backend, budget) is not False:
            continue
        broken = [what for what, switches in ALONE
                  if _feasible(market, pools, pre, replace(switches, challenges=scope, fixed=alone), backend,
                               budget) is False]
        for what in broken or [EVERYTHING]:
            causes.append(Cause(f'fixed bid "{bid.id}" cannot be accepted: no allocation with it keeps {what}',
                                _challenges_of(bid)))
    if causes or len(fixed) < 2:
        return causes
    where = tuple(dict.fromkeys(c for b in fixed for c in _challenges_of(b)))
    names = _q([b.id for b in fixed])
    scope = around(fixed)
    broken = [what for what, switches in ALONE
              if not budget.spent_up()
              and _feasible(market, pools, pre, replace(switches, challenges=scope), backend, budget) is False]
    for what in broken:
        causes.append(Cause(f"the fixed bids {names} together break {what}", where))
    return causes


def _feasible(market: Market, pools: tuple[Pool, ...], pre: Presolve, restrictions: Restrictions, backend: str,
              budget: Budget) -> bool | None:
    """Whether the model with these restrictions has a solution (None: not known in the time left)."""
    model = ClearingModel(market, pools, pre, restrictions)
    if model.conflicts:
        return False
    # Any allocation will do: objective 0, so the first one found is optimal (backends expect an objective).
    model.prob.setObjective(pulp.LpAffineExpression([(var, 0.0) for var in list(model.accept.values())[:1]]))
    with progress.without_search():
        try:
            report = backends.solve(model.prob, backend, time_limit=budget.left())
        except backends.BackendError:
            return None
    if report.outcome.found:
        return True
    return False if report.outcome == Outcome.INFEASIBLE else None


def infeasible_allocation(market: Market, causes: list[Cause], backend: str, started: float) -> Allocation:
    """Rule 9's allocation: nothing accepted, nothing paid, a reason for every challenge."""
    fixed = fixed_bids(market)
    if not causes:
        where = tuple(dict.fromkeys(c for b in fixed for c in _challenges_of(b)))
        causes = [Cause(f"the fixed bids {_q([b.id for b in fixed])} cannot all be accepted together", where)]
    touched: dict[str, list[str]] = {}
    for cause in causes:
        for cid in cause.challenges:
            if cause.text not in touched.setdefault(cid, []):
                touched[cid].append(cause.text)
    first = next(c for cause in causes for c in cause.challenges) if any(c.challenges for c in causes) else None
    elsewhere = (f"not cleared: the fixed bids {_q([b.id for b in fixed])} cannot all be accepted"
                 + (f' (see the reasons on "{first}")' if first is not None else ""))
    unfunded = tuple(Unfunded(c.id, tuple(touched.get(c.id) or [elsewhere])) for c in market.challenges)
    allocation = from_awards(market, [], {}, Outcome.INFEASIBLE.value)
    solver = {"backend": backend, "seconds": round(time.perf_counter() - started, 3),
              "infeasible": [cause.text for cause in causes]}
    return replace(allocation, unfunded=unfunded, solver=solver)
