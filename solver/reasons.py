"""Why a challenge was not completed, in words an analyst can act on.

Structural reasons come from presolve (no eligible bid, and why the others are
not eligible). Otherwise the challenge is tried on its own, adding one rule at a
time (coverage, reliability target, actor capacity, pledged money), and then
against what the clearing left over: the first test that fails names the cause.
Which reason speaks for which rule of the spec is in docs/rules.md.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pulp

from . import backends, progress
from .allocation import Allocation, Unfunded
from .budget import Budget
from .eligibility import Presolve
from .market import Bid, Challenge, Market
from .model import ClearingModel, Restrictions
from .money import format_money
from .outcome import Outcome
from .pools import Pool

MAX_LISTED = 3
PLAIN = "not chosen by the clearing (run with explanations for the detailed cause)"
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
    funded_alone = _min_cost(market, pools, pre, challenge, solver, Restrictions())
    if funded_alone is None:
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
    with_money_left = _min_cost(market, pools, pre, challenge, solver,
                                Restrictions(pool_amounts=left, capacity=False))
    if with_money_left is None:
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
