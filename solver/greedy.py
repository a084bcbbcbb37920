"""A fast greedy allocation of a clearing model's market: a warm start, and the answer a time limit keeps.

In time near-linear in the model's size, `greedy_start` builds a set of accepted bids and pool
payments that satisfies every row of the model (model.py) exactly:

- For each challenge of the model, a cheap cover of what completing it must fund (its critical
  components and everything they `require`), using only bids whose items all lie in that challenge and
  on components it funds, picked by price per share of the remaining need (a lazy greedy on a heap),
  then pruned of bids the others make redundant. When the cover misses the challenge's reliability
  target, a second cover prefers sure bids (least -ln(reliability) per share of need); when that
  misses too, the challenge is left out.
- Challenges are taken in order of value per cost of that cover (ties: market order). In its turn a
  challenge's cover is built again against what is left (actors' budget and load, exclusive groups
  taken) and committed only if all of it fits and every component can be paid: each component's
  cost from the pools its scope admits that have money left, non-matching pools first and narrowest
  scope first (fewest components of the model admitted), within each pool's share cap (pay <= share x
  component cost) and, for a matching pool, ratio x the non-matching money already paid into the
  challenge; if that falls short, once more with the share-capped pools first. A cover that cannot be
  paid in full is rolled back.
- Then, for completed challenges, each non-critical component with value (with what it requires) is
  added the same way, best value per cost first.

Money is whole cents throughout, so each component's payments add up to its cost exactly.

The greedy start must satisfy every rule because a time limit may return it as is: it is phase 1's
warm start and the answer kept when the solver finds nothing better in time (docs/rules.md).
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

from .eligibility import RELIABILITY_SLACK
from .market import Bid, Challenge
from .model import ClearingModel
from .solution import Solution

EPS = 1e-9


@dataclass
class _State:
    accepted: dict[str, Bid] = field(default_factory=dict)
    pays: dict[tuple[int, str], int] = field(default_factory=dict)
    pool_left: dict[int, int] = field(default_factory=dict)
    budget_left: dict[str, int | None] = field(default_factory=dict)
    load_left: dict[str, float | None] = field(default_factory=dict)
    groups: set[tuple[str, str]] = field(default_factory=set)
    funded: set[str] = field(default_factory=set)
    base_in: dict[str, int] = field(default_factory=dict)               # non-matching pay into a challenge
    match_in: dict[tuple[int, str], int] = field(default_factory=dict)  # a matching pool's pay into a challenge
    risk_in: dict[str, float] = field(default_factory=dict)             # sum of -ln(r) of accepted bids touching it


@dataclass
class _Plan:
    challenge: Challenge
    bids: list[Bid]
    components: list[str]           # newly funded component keys, model order
    value: float
    cost: int


class _Greedy:
    def __init__(self, model: ClearingModel) -> None:
        self.model = model
        r = model.restrictions
        self.order = {b.id: n for n, b in enumerate(model.bids)}
        self.position = {key: n for n, key in enumerate(model.components)}
        self.state = _State()
        amounts = r.pool_amounts
        self.state.pool_left = {p.index: (p.amount if amounts is None else amounts.get(p.index, 0))
                                for p in model.pools}
        self.capacity = r.capacity
        if r.capacity:
            for actor in model.market.actors:
                budget, load = model._capacity_left(actor)
                self.state.budget_left[actor.id] = budget
                self.state.load_left[actor.id] = load
            self.state.groups = set(r.groups_taken)
        breadth: dict[int, int] = {}
        for key in model.components:
            for p in model.presolve.admits[key]:
                breadth[p] = breadth.get(p, 0) + 1
        # Narrowest scope first; when that cannot pay a cover (a narrow pool spent on one component is
        # missing from the next, which capped pools cannot pay alone), pools with a share cap first.
        pools = model.pools
        # Version 1.1: a pledge with min_spend, max_challenge_share or conditions (a pool of its own) never
        # pays here, so each of those limits holds trivially (it pays nothing).
        usable = {p.index for p in pools if not any(pledge.conditional for pledge in p.pledges)}
        self.pool_orders = [
            {key: sorted((p for p in model.presolve.admits[key] if p in usable),
                         key=lambda p: (pools[p].match is not None, breadth.get(p, 0), p))
             for key in model.components},
            {key: sorted((p for p in model.presolve.admits[key] if p in usable),
                         key=lambda p: (pools[p].match is not None, pools[p].share_cap is None,
                                        breadth.get(p, 0), p))
             for key in model.components},
        ]
        # Bids whose items all lie in one challenge, by challenge.
        self.own: dict[str, list[Bid]] = {c.id: [] for c in model.challenges}
        for bid in model.bids:
            touched = {model.challenge_of[item.component] for item in bid.items}
            if len(touched) == 1:
                self.own[touched.pop()].append(bid)

    # -- covers -----------------------------------------------------------------------

    def closure(self, challenge: Challenge, start: list[str]) -> list[str]:
        """`start` and everything it requires, transitively, in model order."""
        seen = set(start)
        todo = list(start)
        while todo:
            component = self.model.components[todo.pop()]
            for target in component.requires:
                tkey = f"{challenge.id}/{target}"
                if tkey not in seen:
                    seen.add(tkey)
                    todo.append(tkey)
        return sorted(seen, key=self.position.__getitem__)

    def cover(self, challenge: Challenge, keys: list[str], reliable: bool) -> list[Bid] | None:
        need = {key: self.model.components[key].quantity for key in keys}
        left = dict(need)
        st = self.state
        heap: list[tuple[tuple[float, ...], int, Bid]] = []

        def key_of(bid: Bid) -> tuple[float, ...] | None:
            useful = sum(min(item.quantity, left[item.component]) / need[item.component] for item in bid.items)
            if useful <= 0:
                return None
            risk = -math.log(bid.reliability)
            if reliable:
                return (risk / useful, bid.price / useful, -bid.reliability)
            return (bid.price / useful, -bid.reliability)

        for bid in self.own[challenge.id]:
            if bid.id in st.accepted or any(item.component not in need for item in bid.items):
                continue
            k = key_of(bid)
            if k is not None:
                heap.append((k, self.order[bid.id], bid))
        heapq.heapify(heap)
        chosen: list[Bid] = []
        spend: dict[str, int] = {}
        load: dict[str, float] = {}
        groups: set[tuple[str, str]] = set()
        remaining = sum(1 for v in left.values() if v > 0)
        while remaining and heap:
            k_old, n, bid = heapq.heappop(heap)
            k = key_of(bid)
            if k is None:
                continue
            if k != k_old and heap and (k, n) > heap[0][:2]:
                heapq.heappush(heap, (k, n, bid))         # its share of the need fell: look again later
                continue
            if not self.fits(bid, spend, load, groups):
                continue
            chosen.append(bid)
            if self.capacity:
                spend[bid.actor_id] = spend.get(bid.actor_id, 0) + bid.price
                load[bid.actor_id] = load.get(bid.actor_id, 0) + bid.load
                if bid.exclusive_group is not None:
                    groups.add((bid.actor_id, bid.exclusive_group))
            for item in bid.items:
                before = left[item.component]
                left[item.component] = max(before - item.quantity, 0)
                if before > 0 and left[item.component] == 0:
                    remaining -= 1
        if remaining:
            return None
        # Prune: drop the dearest bids the others make redundant.
        covered = {key: 0 for key in keys}
        for bid in chosen:
            for item in bid.items:
                covered[item.component] += item.quantity
        for bid in sorted(chosen, key=lambda b: (-b.price, b.reliability, -self.order[b.id])):
            if all(covered[item.component] - item.quantity >= need[item.component] for item in bid.items):
                for item in bid.items:
                    covered[item.component] -= item.quantity
                chosen.remove(bid)
        return sorted(chosen, key=lambda b: self.order[b.id])

    def fits(self, bid: Bid, spend: dict[str, int], load: dict[str, float], groups: set[tuple[str, str]]) -> bool:
        if not self.capacity:
            return True
        st = self.state
        actor = bid.actor_id
        budget = st.budget_left.get(actor)
        if budget is not None and spend.get(actor, 0) + bid.price > budget:
            return False
        most = st.load_left.get(actor)
        if most is not None and bid.load and load.get(actor, 0) + bid.load > most + EPS:
            return False
        if bid.exclusive_group is not None:
            g = (actor, bid.exclusive_group)
            if g in st.groups or g in groups:
                return False
        return True

    def reliable_enough(self, challenge: Challenge, bids: list[Bid]) -> bool:
        if challenge.reliability is None or not self.model.restrictions.reliability:
            return True
        risk = self.state.risk_in.get(challenge.id, 0.0) + sum(-math.log(b.reliability) for b in bids
                                                               if b.reliability < 1)
        return risk <= -math.log(challenge.reliability) + RELIABILITY_SLACK / 2

    def plan(self, challenge: Challenge, keys: list[str], value: float) -> _Plan | None:
        for reliable in (False, True):
            bids = self.cover(challenge, keys, reliable)
            if bids is not None and self.reliable_enough(challenge, bids):
                return _Plan(challenge, bids, keys, value, sum(b.price for b in bids))
            if challenge.reliability is None or not self.model.restrictions.reliability:
                return None
        return None

    # -- committing -------------------------------------------------------------------

    def pay(self, plan: _Plan) -> dict[tuple[int, str], int] | None:
        """Whole-cent payments for the plan's components, or None if the money does not reach."""
        if not self.model.restrictions.money:
            return {}
        for order in self.pool_orders:
            pays = self.pay_in_order(plan, order)
            if pays is not None:
                return pays
        return None

    def pay_in_order(self, plan: _Plan, order: dict[str, list[int]]) -> dict[tuple[int, str], int] | None:
        model = self.model
        st = self.state
        cid = plan.challenge.id
        costs: dict[str, int] = {}
        for bid in plan.bids:
            for item in bid.items:
                costs[item.component] = costs.get(item.component, 0) + item.price
        used: dict[int, int] = {}
        base = st.base_in.get(cid, 0)
        matched: dict[int, int] = {}
        out: dict[tuple[int, str], int] = {}
        for key in plan.components:
            cost = costs.get(key, 0)
            rest = cost
            for p in order[key]:
                if rest == 0:
                    break
                pool = model.pools[p]
                room = st.pool_left[p] - used.get(p, 0)
                if pool.share_cap is not None:
                    room = min(room, math.floor(pool.share_cap * cost + EPS))
                if pool.match_ratio is not None:
                    already = st.match_in.get((p, cid), 0) + matched.get(p, 0)
                    room = min(room, math.floor(pool.match_ratio * base + EPS) - already)
                x = min(rest, room)
                if x <= 0:
                    continue
                out[p, key] = x
                used[p] = used.get(p, 0) + x
                rest -= x
                if pool.match_ratio is None:
                    base += x
                else:
                    matched[p] = matched.get(p, 0) + x
            if rest:
                return None
        return out

    def commit(self, plan: _Plan) -> bool:
        st = self.state
        if plan.components and any(key in st.funded for key in plan.components):
            return False
        pays = self.pay(plan)
        if pays is None:
            return False
        cid = plan.challenge.id
        for bid in plan.bids:
            st.accepted[bid.id] = bid
            if self.capacity:
                budget = st.budget_left.get(bid.actor_id)
                if budget is not None:
                    st.budget_left[bid.actor_id] = budget - bid.price
                load = st.load_left.get(bid.actor_id)
                if load is not None:
                    st.load_left[bid.actor_id] = load - bid.load
                if bid.exclusive_group is not None:
                    st.groups.add((bid.actor_id, bid.exclusive_group))
            if bid.reliability < 1:
                st.risk_in[cid] = st.risk_in.get(cid, 0.0) - math.log(bid.reliability)
        for (p, key), cents in pays.items():
            st.pays[p, key] = st.pays.get((p, key), 0) + cents
            st.pool_left[p] -= cents
            if self.model.pools[p].match_ratio is None:
                st.base_in[cid] = st.base_in.get(cid, 0) + cents
            else:
                st.match_in[p, cid] = st.match_in.get((p, cid), 0) + cents
        st.funded.update(plan.components)
        return True

    # -- the whole run ----------------------------------------------------------------

    def run(self) -> Solution:
        model = self.model
        ranked = []
        for n, challenge in enumerate(model.challenges):
            keys = self.closure(challenge, [k.key for k in challenge.components
                                            if k.critical and k.key in model.components])
            value = challenge.value + sum(model.components[k].value for k in keys
                                          if not model.components[k].critical)
            if value <= 0:
                continue
            first = self.plan(challenge, keys, value)
            if first is not None:
                ranked.append((_ratio(first), n, challenge, keys, value))
        ranked.sort(key=lambda r: (-r[0], r[1]))
        done = []
        for _, n, challenge, keys, value in ranked:
            plan = self.plan(challenge, keys, value)
            if plan is not None and self.commit(plan):
                done.append((n, challenge))
        extras = []
        for n, challenge in done:
            for component in challenge.components:
                if component.critical or not component.value or component.key not in model.components:
                    continue
                if component.key in self.state.funded:
                    continue
                keys = [k for k in self.closure(challenge, [component.key]) if k not in self.state.funded]
                value = sum(model.components[k].value for k in keys)
                plan = self.plan(challenge, keys, value)
                if plan is not None:
                    extras.append((_ratio(plan), n, self.position[component.key], challenge, keys, value))
        extras.sort(key=lambda r: (-r[0], r[1], r[2]))
        for _, _, _, challenge, keys, value in extras:
            if any(k in self.state.funded for k in keys):
                keys = [k for k in keys if k not in self.state.funded]
                value = sum(model.components[k].value for k in keys)
                if not keys:
                    continue
            plan = self.plan(challenge, keys, value)
            if plan is not None:
                self.commit(plan)
        accepted = sorted(self.state.accepted.values(), key=lambda b: self.order[b.id])
        return Solution(accepted, {pk: float(c) for pk, c in sorted(self.state.pays.items()) if c})


def _ratio(plan: _Plan) -> float:
    return math.inf if plan.cost == 0 else plan.value / plan.cost


def greedy_start(model: ClearingModel) -> Solution | None:
    """A feasible allocation of the model's market (see the module docstring); None without bids, and
    None when the market has a fixed bid (version 1.1: a start must accept every one)."""
    if not model.bids or any(bid.fixed for bid in model.market.bids):
        return None
    return _Greedy(model).run()
