"""Why a challenge was not completed, in words an analyst can act on.

Structural reasons come from presolve (no eligible bid, and why the others are
not eligible). Otherwise the challenge is tried on its own, adding one rule at a
time (coverage, reliability target, actor capacity, pledged money), and then
against what the clearing left over: the first test that fails names the cause.
Which reason speaks for which rule of the spec is in docs/rules.md.

Version 1.1: where the money test fails and pledges with min_spend, max_challenge_share or conditions
admit the challenge, the test is run again with those limits lifted, one at a time, and the limit whose
lifting lets the money pay is named (_limits_1_1). An infeasible clearing keeps the reasons the clearing
gave it (they name the fixed bids); none of this runs for a version-1 market, whose reasons are unchanged.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pulp

from . import backends, progress
from .allocation import Allocation, Unfunded
from .budget import Budget
from .eligibility import Presolve, presolve
from .market import Bid, Challenge, Condition, Market, Pledge
from .model import ClearingModel, Restrictions
from .money import format_money
from .outcome import Outcome
from .pools import Pool, make_pools

MAX_LISTED = 3
MAX_LIFTS = 8                     # 1.1 limits lifted one at a time, at most, per challenge
PLAIN = "not chosen by the clearing (run with explanations for the detailed cause)"
INFEASIBLE = "not completed: the fixed bids cannot all be accepted, so the clearing is infeasible and accepts nothing"
SOLVE_SECONDS = 30                # at most, each extra solve of a detailed test


class _OutOfTime(Exception):
    """A detailed test could not finish in time: its answer would be a guess."""


@dataclass(frozen=True, slots=True)
class _Solver:
    """The reasons' extra solves: each on `backend`, within what is left of the call's budget."""
    backend: str
    budget: Budget

    def solve(self, prob: pulp.LpProblem) -> backends.SolveReport:
        """Solve `prob` to optimality or infeasibility; _OutOfTime when the budget is spent first (a solve
        stopped by a limit proves neither that it cannot be done nor what it costs at least)."""
        progress.check()
        left = self.budget.left()
        if left is not None and left <= 0:
            raise _OutOfTime
        with progress.without_search():         # a test's small solve is not the clearing's search
            report = backends.solve(prob, self.backend, time_limit=SOLVE_SECONDS if left is None
                                    else min(SOLVE_SECONDS, left))
        if report.outcome not in (Outcome.OPTIMAL, Outcome.INFEASIBLE):
            raise _OutOfTime
        return report

    def out_of_time(self) -> str:
        """The reason of a challenge whose detailed tests the time limit cut short or left out."""
        if self.budget.seconds is None:
            return (f"not chosen by the clearing; not explained: time limit (a detailed test's solve took over "
                    f"{SOLVE_SECONDS} s)")
        return (f"not chosen by the clearing; not explained: time limit (the {self.budget.seconds:g} s for the "
                f"whole clearing ran out before its detailed tests)")


class _Index:
    """What the reasons look up per challenge, built once per call so that no challenge scans the whole
    market: bids by component, each pool's amount and what is left of it, the money each pool put into each
    challenge, and the actors' bids won."""

    def __init__(self, market: Market, pre: Presolve, pools: tuple[Pool, ...] = (),
                 allocation: Allocation | None = None) -> None:
        self.market = market
        self.pre = pre
        self.bids_on: dict[str, list[Bid]] = {}          # component key -> bids with an item on it, market order
        self.actor_at: dict[str, int] = {}
        for n, actor in enumerate(market.actors):
            self.actor_at[actor.id] = n
            for bid in actor.bids:
                for key in dict.fromkeys(item.component for item in bid.items):
                    self.bids_on.setdefault(key, []).append(bid)
        self.pools = pools
        self.allocation = allocation
        self._money: tuple[dict[int, int], dict[int, int], dict[int, dict[str, int]]] | None = None
        self._capacity: tuple[dict[str, int], dict[str, float], frozenset[tuple[str, str]]] | None = None
        self._won: dict[str, list[Bid]] | None = None
        self._live: set[str] | None = None

    def pool_money(self) -> tuple[dict[int, int], dict[int, int], dict[int, dict[str, int]]]:
        """Each pool's amount, what the allocation left of it, and what it paid into each challenge."""
        if self._money is None:
            assert self.allocation is not None
            amount = {pool.index: pool.amount for pool in self.pools}
            spent = {p.id: p.spent for p in self.allocation.pledges}
            left = {pool.index: amount[pool.index] - sum(spent.get(pl.id, 0) for pl in pool.pledges)
                    for pool in self.pools}
            pledge_pool = {pl.id: pool.index for pool in self.pools for pl in pool.pledges}
            challenge_of = {k.key: c.id for c in self.market.challenges for k in c.components}
            took: dict[int, dict[str, int]] = {}
            for f in self.allocation.flows:
                mine = took.setdefault(pledge_pool[f.pledge], {})
                cid = challenge_of[f.component]
                mine[cid] = mine.get(cid, 0) + f.amount
            self._money = amount, left, took
        return self._money

    def capacity_left(self) -> tuple[dict[str, int], dict[str, float], frozenset[tuple[str, str]]]:
        if self._capacity is None:
            assert self.allocation is not None
            self._capacity = _capacity_left(self.market, self.allocation)
        return self._capacity

    def won(self) -> dict[str, list[Bid]]:
        """Actor id -> its accepted bids, market order."""
        if self._won is None:
            accepted = set() if self.allocation is None else {a.bid for a in self.allocation.awards}
            self._won = {a.id: [b for b in a.bids if b.id in accepted] for a in self.market.actors}
        return self._won

    def live(self) -> set[str]:
        if self._live is None:
            self._live = {b.id for b in self.pre.live_bids}
        return self._live


def plain_reasons(market: Market, pre: Presolve, allocation: Allocation) -> tuple[Unfunded, ...]:
    """Reasons from presolve only, without extra solves."""
    if allocation.status == "infeasible":
        return _infeasible(market, allocation)
    index = _Index(market, pre) if pre.impossible_challenges else None
    out = []
    for challenge, result in zip(market.challenges, allocation.challenges):
        if result.completed:
            continue
        reasons = _structural(index, challenge) if index is not None else []
        if not reasons:
            reasons = [PLAIN]
        out.append(Unfunded(challenge.id, tuple(reasons)))
    return tuple(out)


def explain_unfunded(market: Market, pools: tuple[Pool, ...], pre: Presolve, allocation: Allocation,
                     backend: str, *, budget: Budget | None = None,
                     max_explained: int | None = None) -> tuple[Unfunded, ...]:
    """The reasons for every challenge not completed, testing each in detail with small solves.

    Structural reasons (from presolve) and a value of 0 need no solve and are always given. The other
    challenges are tested in market order; `max_explained` caps how many of them are tested (deterministic:
    the same market and cap give the same reasons), and every extra solve draws on `budget`, the clearing's
    time limit (budget.py): a test it cuts short, and every test after, gets "not explained: time limit"
    rather than run over. Challenges left untested get the plain reason, saying why the detailed tests were
    skipped. None: no limit.
    """
    if allocation.status == "infeasible":
        return _infeasible(market, allocation)
    solver = _Solver(backend, budget if budget is not None else Budget(None))
    index = _Index(market, pre, pools, allocation)
    to_test = sum(1 for challenge, result in zip(market.challenges, allocation.challenges)
                  if not result.completed and not _structural(index, challenge) and not _free(challenge))
    if max_explained is not None:
        to_test = min(to_test, max_explained)
    explained = 0
    out = []
    for challenge, result in zip(market.challenges, allocation.challenges):
        if result.completed:
            continue
        reasons = _structural(index, challenge)
        if not reasons:
            reasons = _free(challenge)
        if not reasons:
            if max_explained is not None and explained >= max_explained:
                reasons = [f"not chosen by the clearing; detailed tests skipped: only the first {max_explained} "
                           f"challenges not chosen are tested in detail"]
            elif solver.budget.spent_up():          # not even the model of a test is built then
                reasons = [solver.out_of_time()]
            else:
                explained += 1
                progress.stage(progress.REASONS, f"challenge {explained} of {to_test}")
                try:
                    reasons = _tested(index, challenge, solver)
                except _OutOfTime:
                    reasons = [solver.out_of_time()]
        out.append(Unfunded(challenge.id, tuple(reasons)))
    return tuple(out)


def _infeasible(market: Market, allocation: Allocation) -> tuple[Unfunded, ...]:
    """An infeasible clearing's reasons are the clearing's own (they name what makes the fixed bids
    impossible): kept as they are; a challenge without one gets the general INFEASIBLE."""
    given = {u.challenge: u.reasons for u in allocation.unfunded if u.reasons}
    return tuple(Unfunded(c.id, given.get(c.id, (INFEASIBLE,))) for c in market.challenges)


def _structural(index: _Index, challenge: Challenge) -> list[str]:
    pre = index.pre
    if challenge.id not in pre.impossible_challenges:
        return []
    reasons = [pre.impossible_challenges[challenge.id]]
    for component in challenge.components:
        if not component.critical:
            continue
        for bid in index.bids_on.get(component.key, ()):
            if bid.id in pre.ineligible:
                reasons.extend(pre.ineligible[bid.id])
            elif bid.id in pre.unpayable:
                reasons.append(pre.unpayable[bid.id])
    return list(dict.fromkeys(reasons))[: 1 + 2 * MAX_LISTED]


def _free(challenge: Challenge) -> list[str]:
    """Reasons that need no solve."""
    if challenge.value == 0 and not any(k.value for k in challenge.components if not k.critical):
        return ["its value is 0, so completing it would only add cost"]
    return []


def _min_cost(market: Market, pools: tuple[Pool, ...], pre: Presolve, challenge: Challenge, solver: _Solver,
              rules: Restrictions) -> float | None:
    """The least cost of completing `challenge` alone under the given rules, None if it cannot be done."""
    model = ClearingModel(market, pools, pre, dataclasses.replace(rules, challenges=frozenset([challenge.id])))
    if challenge.id not in model.done:
        return None
    model.prob += model.done[challenge.id] == 1, "force_done"
    model.prob.sense = pulp.LpMinimize
    model.prob.setObjective(model.cost)
    report = solver.solve(model.prob)
    if not report.outcome.found:
        return None
    return pulp.value(model.cost) or 0.0


def _best_reliability(market: Market, pools: tuple[Pool, ...], pre: Presolve, challenge: Challenge,
                      solver: _Solver) -> float | None:
    model = ClearingModel(market, pools, pre, Restrictions(challenges=frozenset([challenge.id]), money=False,
                                                           reliability=False, capacity=False))
    if challenge.id not in model.done:
        return None
    model.prob += model.done[challenge.id] == 1, "force_done"
    model.prob.sense = pulp.LpMinimize
    model.prob.setObjective(pulp.lpSum(-math.log(b.reliability) * model.accept[b.id] for b in model.bids))
    report = solver.solve(model.prob)
    if not report.outcome.found:
        return None
    product = 1.0
    for bid in model.accepted():
        product *= bid.reliability
    return product


def _tested(index: _Index, challenge: Challenge, solver: _Solver) -> list[str]:
    market, pools, pre = index.market, index.pools, index.pre
    bare = _min_cost(market, pools, pre, challenge, solver,
                     Restrictions(money=False, reliability=False, capacity=False))
    if bare is None:
        return ["its components cannot all be covered by eligible bids together "
                "(quantities, bundles and requires do not fit)"]
    if challenge.reliability is not None and _min_cost(market, pools, pre, challenge, solver,
                                                       Restrictions(money=False, capacity=False)) is None:
        best = _best_reliability(market, pools, pre, challenge, solver)
        got = f"; the surest eligible bids reach {best:.4f}" if best is not None else ""
        return [f"reliability target {challenge.reliability:g} out of reach with the eligible bids{got}"]
    alone = _min_cost(market, pools, pre, challenge, solver, Restrictions(money=False))
    if alone is None:
        return ["actor capacity: the bids it needs cannot be accepted together within the limits of "
                + _limited_actors(index, challenge)]
    cost = int(round(alone))
    admitting = sorted({p for k in challenge.components for p in pre.admits[k.key]})
    amount, _, _ = index.pool_money()
    in_scope = sum(amount[p] for p in admitting)
    settled = _min_spend_reached(index)
    if settled:     # 1.1: a min_spend already reached binds no more money: the test is on the market without it
        funded_alone = _pays(index, challenge, solver, settled)
    else:
        funded_alone = _min_cost(market, pools, pre, challenge, solver, Restrictions()) is not None
    if not funded_alone:
        limits = _limits_1_1(index, challenge, solver, cost, settled)
        if limits:
            return limits
        if cost > in_scope:
            return [f"not enough money in scope: it costs at least {format_money(cost)}, pledges that may pay "
                    f"for it total {format_money(in_scope)} (shortfall {format_money(cost - in_scope)})"]
        return [f"pledge limits: the {format_money(in_scope)} in scope cannot cover its cheapest cost of "
                f"{format_money(cost)} within max_share and match rules"]
    return _competition(index, challenge, solver, cost)


def _competition(index: _Index, challenge: Challenge, solver: _Solver, cost: int) -> list[str]:
    """It could be done alone: say what it lost to, money or actors."""
    market, pools, pre, allocation = index.market, index.pools, index.pre, index.allocation
    assert allocation is not None
    _, left, took_by_pool = index.pool_money()
    admitting = sorted({p for k in challenge.components for p in pre.admits[k.key]})
    # Rivals: completed challenges paid by money that could have paid for this one, most money first.
    took: dict[str, int] = {}
    for p in admitting:
        for cid, cents in took_by_pool.get(p, {}).items():
            took[cid] = took.get(cid, 0) + cents
    rivals = sorted(took, key=lambda cid: (-took[cid], cid))
    settled = _min_spend_reached(index)
    if settled:     # 1.1: a min_spend already reached binds no more money: the test is on the market without it
        with_money_left = _pays(index, challenge, solver, settled, left=True)
    else:
        with_money_left = _min_cost(market, pools, pre, challenge, solver,
                                    Restrictions(pool_amounts=left, capacity=False)) is not None
    if not with_money_left:
        limits = _limits_1_1(index, challenge, solver, cost, settled, left=True)
        if limits:
            return limits
        results = {r.id: r for r in allocation.challenges if r.id in rivals[:MAX_LISTED]}
        listed = ", ".join(f"{cid} (value {results[cid].value}, took {format_money(took[cid])})"
                           for cid in rivals[:MAX_LISTED])
        more = f" and {len(rivals) - MAX_LISTED} more" if len(rivals) > MAX_LISTED else ""
        left_in_scope = sum(left[p] for p in admitting)
        return [f"outcompeted for money: it would cost at least {format_money(cost)} (value {challenge.value}), but "
                f"the money that may pay for it is spent on completed challenges that together deliver more value: "
                f"{listed}{more}; the {format_money(left_in_scope)} of it left unspent cannot pay for it within "
                f"the pledges' amounts and limits"]
    budget_left, load_left, groups = index.capacity_left()
    what_is_left = Restrictions(pool_amounts=left, budget_left=budget_left, load_left=load_left, groups_taken=groups)
    if _min_cost(market, pools, pre, challenge, solver, what_is_left) is None:
        return ["outcompeted for actors: the bids it needs compete with completed challenges for the capacity of "
                + _limited_actors(index, challenge, with_allocation=True)]
    if allocation.status != "optimal":
        return ["not reached: the search stopped at its limit before completing it"]
    return ["not chosen: completing it would not raise the total value"]


def _capacity_left(market: Market, allocation: Allocation
                   ) -> tuple[dict[str, int], dict[str, float], frozenset[tuple[str, str]]]:
    accepted = {a.bid for a in allocation.awards}
    budget: dict[str, int] = {}
    load: dict[str, float] = {}
    groups: set[tuple[str, str]] = set()
    for actor in market.actors:
        won = [b for b in actor.bids if b.id in accepted]
        if actor.capacity is not None and actor.capacity.budget is not None:
            budget[actor.id] = actor.capacity.budget - sum(b.price for b in won)
        if actor.capacity is not None and actor.capacity.load is not None:
            load[actor.id] = actor.capacity.load - sum(b.load for b in won)
        groups.update((actor.id, b.exclusive_group) for b in won if b.exclusive_group is not None)
    return budget, load, frozenset(groups)


def _limited_actors(index: _Index, challenge: Challenge, with_allocation: bool = False) -> str:
    """The actors with eligible bids on `challenge` whose budget, load or exclusive groups limit them,
    each with its limit (and, with the allocation, what completed challenges already use of it)."""
    live = index.live()
    found: set[str] = set()
    for k in challenge.components:
        found.update(b.id for b in index.bids_on.get(k.key, ()) if b.id in live)
    actor_ids = sorted({b.actor_id for k in challenge.components for b in index.bids_on.get(k.key, ())
                        if b.id in found}, key=index.actor_at.__getitem__)
    won = index.won() if with_allocation else {}
    described = []
    for actor_id in actor_ids:
        actor = index.market.actors[index.actor_at[actor_id]]
        mine = [b for b in actor.bids if b.id in found]
        taken = won.get(actor.id, [])
        limits = []
        cap = actor.capacity
        if cap is not None and cap.budget is not None:
            used = f", {format_money(sum(b.price for b in taken))} used" if with_allocation else ""
            limits.append(f"budget {format_money(cap.budget)}{used}")
        if cap is not None and cap.load is not None:
            used = f", {sum(b.load for b in taken):g} used" if with_allocation else ""
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


# -- version 1.1: which pledge limit keeps the money from paying -----------------------------------------

@dataclass(frozen=True, slots=True)
class _Lift:
    """One 1.1 limit of one pledge, lifted: a condition, its min_spend or its max_challenge_share."""
    pledge: Pledge
    what: str
    condition: Condition | None = None

    def lifted(self, pledge: Pledge) -> Pledge:
        if self.what == "condition":
            return dataclasses.replace(pledge, conditions=tuple(c for c in pledge.conditions if c != self.condition))
        if self.what == "min_spend":
            return dataclasses.replace(pledge, min_spend=None)
        return dataclasses.replace(pledge, max_challenge_share=None)

    def reason(self) -> str:
        p = self.pledge
        if self.condition is not None:
            f = self.condition.funder_id
            return (f"condition: pledge {p.id} could pay for it only if funder {f} pays at least "
                    f"{format_money(self.condition.min)} into it, and {f} does not")
        if self.what == "min_spend":
            assert p.min_spend is not None
            return (f"min_spend: pledge {p.id} could pay for it, but it pays nothing or at least "
                    f"{format_money(p.min_spend)} in total, more than it can put into this challenge")
        return (f"max_challenge_share: pledge {p.id} may pay at most {p.max_challenge_share:g} of its cost, and the "
                f"other money that may pay for it cannot pay the rest")


def _lifts(pledge: Pledge) -> list[_Lift]:
    out = [_Lift(pledge, "condition", c) for c in pledge.conditions]
    if pledge.min_spend is not None:
        out.append(_Lift(pledge, "min_spend"))
    if pledge.max_challenge_share is not None:
        out.append(_Lift(pledge, "max_challenge_share"))
    return out


def _min_spend_reached(index: _Index) -> dict[str, Pledge]:
    """The pledges whose min_spend the allocation already reached, without it: more of their money may be
    paid without minding it."""
    assert index.allocation is not None
    spent = {p.id: p.spent for p in index.allocation.pledges}
    return {p.id: dataclasses.replace(p, min_spend=None) for p in index.market.pledges
            if p.min_spend is not None and spent.get(p.id, 0) > 0}


def _pays(index: _Index, challenge: Challenge, solver: _Solver, changed: dict[str, Pledge], *,
          left: bool = False) -> bool:
    """Whether the money can complete `challenge` alone in the market with the `changed` pledges: with
    full amounts and capacities (as funded_alone), or (left) with what the allocation left of each pledge
    and unlimited capacity (as with_money_left)."""
    market = dataclasses.replace(index.market, funders=tuple(
        dataclasses.replace(f, pledges=tuple(changed.get(p.id, p) for p in f.pledges)) for f in index.market.funders))
    pools = make_pools(market)
    pre = presolve(market, pools)
    if left:
        assert index.allocation is not None
        spent = {p.id: p.spent for p in index.allocation.pledges}
        amounts = {pool.index: sum(p.amount - spent.get(p.id, 0) for p in pool.pledges) for pool in pools}
        rules = Restrictions(pool_amounts=amounts, capacity=False)
    else:
        rules = Restrictions()
    return _min_cost(market, pools, pre, challenge, solver, rules) is not None


def _limits_1_1(index: _Index, challenge: Challenge, solver: _Solver, cost: int,
                settled: dict[str, Pledge] | None = None, *, left: bool = False) -> list[str]:
    """The 1.1 limits that keep the money from paying for `challenge`: each one whose lifting alone lets it
    pay, else all of them together; [] when they are not what blocks (or no pledge admitting it has one).
    `settled`: pledges already changed for the test (min_spend reached)."""
    base = dict(settled or {})
    pools = {pool.index: pool for pool in index.pools}
    admitting = sorted({i for k in challenge.components for i in index.pre.admits.get(k.key, ())})
    ids = {p.id for i in admitting for p in pools[i].pledges}
    limited = [base.get(p.id, p) for p in index.market.pledges if p.id in ids]     # market order
    limited = [p for p in limited if _lifts(p)]
    if not limited:
        return []
    everything = base | {p.id: dataclasses.replace(p, min_spend=None, max_challenge_share=None, conditions=())
                         for p in limited}
    if not _pays(index, challenge, solver, everything, left=left):
        return []
    found: list[str] = []
    lifts = [lift for p in limited for lift in _lifts(p)][:MAX_LIFTS]
    for lift in lifts:
        if _pays(index, challenge, solver, base | {lift.pledge.id: lift.lifted(lift.pledge)}, left=left):
            found.append(lift.reason())
            if len(found) == MAX_LISTED:
                break
    if found:
        return found
    names = ", ".join(p.id for p in limited[:MAX_LISTED]) + (f" and {len(limited) - MAX_LISTED} more"
                                                              if len(limited) > MAX_LISTED else "")
    return [f"funders' conditions: the money that may pay for it cannot cover its cheapest cost of "
            f"{format_money(cost)} within the min_spend, max_challenge_share and conditions of pledges {names} "
            f"together"]
