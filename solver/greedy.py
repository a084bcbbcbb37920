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

Version 1.1 (rules 8 and 9), and why each holds of the start:
- Fixed bids are taken before anything else, within actors' capacity, and each challenge they touch is
  completed around them (their components and the challenge's critical ones, with what they require,
  covered and paid as any plan); if any of it fails there is no start. Bids are never given back.
- max_challenge_share s: a pool pays into challenge c at most floor(s x cost) minus what it paid
  there before, where cost is c's accepted prices with the plan being paid. Later plans on c only add
  accepted prices, so the cap, a fraction of that cost, only grows: it holds at the end.
- Conditions: each plan is paid in three rounds: the pools of funders some condition names pay what
  the conditions ask of them in the challenge (the largest min on them there), then conditioned pools,
  then every other pool (named ones for the rest). A conditioned pool pays only when every funder it
  names has paid at least `min` into the challenge through pools of that funder alone (pools.py keeps
  a named funder's pledges apart, so their whole cents stay the funder's when flows.py splits a pool
  to its pledges). Payments are never withdrawn, so a condition met when the pool pays stays met.
- min_spend: after a run, the pools that pay something but less than their min_spend are left out of
  a new run (at most MIN_SPEND_ROUNDS times, then every min_spend pool is): a pool left out pays 0.
- And then every 1.1 start is checked once more against rules 8 and 9 (start_rules.py) and dropped,
  with no start at all, if it breaks one: a start is used as the answer when a time limit stops the
  search, so a wrong one must never get through, whatever a heuristic above misses.

The greedy start must satisfy every rule because a time limit may return it as is: it is phase 1's
warm start and the answer kept when the solver finds nothing better in time (docs/rules.md).
"""
from __future__ import annotations

import heapq
import logging
import math
from dataclasses import dataclass, field

from .eligibility import RELIABILITY_SLACK
from .market import Bid, Challenge, Condition
from .model import ClearingModel
from .solution import Solution
from .start_rules import start_problems

logger = logging.getLogger(__name__)

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
    # Version 1.1: what max_challenge_share and conditions are measured against.
    challenge_cost: dict[str, int] = field(default_factory=dict)        # accepted prices on a challenge
    pool_in: dict[tuple[int, str], int] = field(default_factory=dict)   # a limited pool's pay into a challenge
    funder_in: dict[tuple[str, str], int] = field(default_factory=dict)  # a funder's one-funder pools' pay into it


@dataclass
class _Plan:
    challenge: Challenge
    bids: list[Bid]
    components: list[str]           # newly funded component keys, model order
    value: float
    cost: int


class _Greedy:
    def __init__(self, model: ClearingModel, banned: frozenset[int] = frozenset()) -> None:
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
        self._limits(banned)
        first = self.first
        usable = {p.index for p in pools if p.index not in banned}
        self.pool_orders = [
            {key: sorted((p for p in model.presolve.admits[key] if p in usable),
                         key=lambda p: (first(p), pools[p].match is not None, breadth.get(p, 0), p))
             for key in model.components},
            {key: sorted((p for p in model.presolve.admits[key] if p in usable),
                         key=lambda p: (first(p), pools[p].match is not None, pools[p].share_cap is None,
                                        breadth.get(p, 0), p))
             for key in model.components},
        ]
        # Bids whose items all lie in one challenge, by challenge.
        self.own: dict[str, list[Bid]] = {c.id: [] for c in model.challenges}
        for bid in model.bids:
            touched = {model.challenge_of[item.component] for item in bid.items}
            if len(touched) == 1:
                self.own[touched.pop()].append(bid)

    def _limits(self, banned: frozenset[int]) -> None:
        """Version 1.1's per-pledge limits, by pool (a pledge with one is a pool of its own: pools.py)."""
        funder_of = {pledge.id: f.id for f in self.model.market.funders for pledge in f.pledges}
        self.share_of: dict[int, float] = {}
        self.conditions_of: dict[int, tuple[Condition, ...]] = {}
        self.funder_of_pool: dict[int, str] = {}       # pools whose every pledge is one funder's
        for pool in self.model.pools:
            owners = {funder_of[pledge.id] for pledge in pool.pledges}
            if len(owners) == 1:
                self.funder_of_pool[pool.index] = owners.pop()
            pledge = pool.pledges[0]
            if pledge.max_challenge_share is not None:
                self.share_of[pool.index] = pledge.max_challenge_share
            if pledge.conditions and pool.index not in banned:
                self.conditions_of[pool.index] = pledge.conditions
        self.named = {c.funder_id for conditions in self.conditions_of.values() for c in conditions}
        # (funder, challenge) -> the most any condition on the funder asks of it there: what the funder
        # pays first into the challenge, so that conditioned money can follow.
        self.enabling: dict[tuple[str, str], int] = {}
        model = self.model
        for key in model.components:
            cid = model.challenge_of[key]
            for p in model.presolve.admits[key]:
                for condition in self.conditions_of.get(p, ()):
                    at = (condition.funder_id, cid)
                    self.enabling[at] = max(self.enabling.get(at, 0), condition.min)

    def first(self, p: int) -> tuple[bool, bool]:
        """Pools paying first: unconditioned before conditioned ones (which pay only once the funders they
        name have paid), and among each, those of funders a condition names (version 1: all alike)."""
        return p in self.conditions_of, self.funder_of_pool.get(p) not in self.named

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

    def cover(self, challenge: Challenge, keys: list[str], reliable: bool,
              have: dict[str, int] | None = None) -> list[Bid] | None:
        """A cheap cover of `keys` by bids on them alone; `have`: quantities fixed bids cover already."""
        need = {key: self.model.components[key].quantity for key in keys}
        left = dict(need) if have is None else {key: max(q - have.get(key, 0), 0) for key, q in need.items()}
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
        covered = {key: 0 if have is None else have.get(key, 0) for key in keys}
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
        # Version 1.1: a challenge share is of the challenge's cost with this plan (later plans only add to
        # it). With conditions, three rounds: funders that conditions name pay what enables them, then
        # conditioned pools whose conditions are met (the least flexible money first), then the rest.
        cost_after = st.challenge_cost.get(cid, 0) + sum(costs.get(key, 0) for key in plan.components)
        by_funder: dict[str, int] = {}
        rounds: tuple[str | None, ...] = (None,) if not self.conditions_of else (ENABLE, CONDITIONED, REST)
        rest_of: dict[str, int] = {}
        for stage in rounds:
            for key in plan.components:
                cost = costs.get(key, 0)
                rest = rest_of.get(key, cost)
                for p in order[key]:
                    if rest == 0:
                        break
                    if stage is not None and (p in self.conditions_of) != (stage == CONDITIONED):
                        continue
                    funder = self.funder_of_pool.get(p)
                    if stage == ENABLE and funder not in self.named:
                        continue
                    pool = model.pools[p]
                    room = st.pool_left[p] - used.get(p, 0)
                    if pool.share_cap is not None:     # less what it paid here in an earlier round
                        room = min(room, math.floor(pool.share_cap * cost + EPS) - out.get((p, key), 0))
                    if pool.match_ratio is not None:
                        already = st.match_in.get((p, cid), 0) + matched.get(p, 0)
                        room = min(room, math.floor(pool.match_ratio * base + EPS) - already)
                    share = self.share_of.get(p)
                    if share is not None:
                        room = min(room, math.floor(share * cost_after + EPS) - st.pool_in.get((p, cid), 0)
                                   - used.get(p, 0))
                    if stage == ENABLE:
                        assert funder is not None
                        room = min(room, self.enabling.get((funder, cid), 0)
                                   - st.funder_in.get((funder, cid), 0) - by_funder.get(funder, 0))
                    if stage == CONDITIONED and not self.conditions_met(p, cid, by_funder):
                        continue
                    x = min(rest, room)
                    if x <= 0:
                        continue
                    out[p, key] = out.get((p, key), 0) + x        # a named pool may pay in two rounds
                    used[p] = used.get(p, 0) + x
                    rest -= x
                    if pool.match_ratio is None:
                        base += x
                    else:
                        matched[p] = matched.get(p, 0) + x
                    if funder is not None:
                        by_funder[funder] = by_funder.get(funder, 0) + x
                rest_of[key] = rest
                if rest and stage in (None, REST):
                    return None
        return out

    def conditions_met(self, p: int, cid: str, by_funder: dict[str, int]) -> bool:
        """Whether every funder pool p names pays at least its min into the challenge (what is committed
        and what this plan pays so far; only one-funder pools count, their cents are the funder's)."""
        st = self.state
        return all(st.funder_in.get((c.funder_id, cid), 0) + by_funder.get(c.funder_id, 0) >= c.min
                   for c in self.conditions_of[p])

    def commit(self, plan: _Plan) -> bool:
        st = self.state
        if plan.components and any(key in st.funded for key in plan.components):
            return False
        pays = self.pay(plan)
        if pays is None:
            return False
        cid = plan.challenge.id
        for bid in plan.bids:
            if bid.id in st.accepted:           # a fixed bid, taken (its capacity counted) before its plans
                if bid.reliability < 1:
                    st.risk_in[cid] = st.risk_in.get(cid, 0.0) - math.log(bid.reliability)
                continue
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
        if self.share_of:
            keys = set(plan.components)
            st.challenge_cost[cid] = st.challenge_cost.get(cid, 0) + sum(
                item.price for bid in plan.bids for item in bid.items if item.component in keys)
        for (p, key), cents in pays.items():
            st.pays[p, key] = st.pays.get((p, key), 0) + cents
            st.pool_left[p] -= cents
            if p in self.share_of:
                st.pool_in[p, cid] = st.pool_in.get((p, cid), 0) + cents
            funder = self.funder_of_pool.get(p)
            if funder is not None and funder in self.named:
                st.funder_in[funder, cid] = st.funder_in.get((funder, cid), 0) + cents
            if self.model.pools[p].match_ratio is None:
                st.base_in[cid] = st.base_in.get(cid, 0) + cents
            else:
                st.match_in[p, cid] = st.match_in.get((p, cid), 0) + cents
        st.funded.update(plan.components)
        return True

    # -- the whole run ----------------------------------------------------------------

    def fixed_first(self) -> list[tuple[int, Challenge]] | None:
        """Version 1.1: take every fixed bid on the model's challenges, then complete each challenge they
        touch (a fixed bid's components must be funded, so its challenges done) with a cover around them,
        paid as any plan. The challenges done, or None when that fails (then there is no start)."""
        model = self.model
        scope = model.restrictions.challenges
        fixed = [b for b in model.market.bids if b.id in model.fixed and (
            scope is None or any(item.component.partition("/")[0] in scope for item in b.items))]
        if not fixed:
            return []
        if any(b.id not in model.accept for b in fixed):
            return None                         # presolve ruled it out: no allocation accepts it
        st = self.state
        spend: dict[str, int] = {}
        load: dict[str, float] = {}
        groups: set[tuple[str, str]] = set()
        for bid in fixed:
            if not self.fits(bid, spend, load, groups):
                return None
            spend[bid.actor_id] = spend.get(bid.actor_id, 0) + bid.price
            load[bid.actor_id] = load.get(bid.actor_id, 0) + bid.load
            if bid.exclusive_group is not None:
                groups.add((bid.actor_id, bid.exclusive_group))
        for bid in fixed:
            st.accepted[bid.id] = bid
            if self.capacity:
                budget = st.budget_left.get(bid.actor_id)
                if budget is not None:
                    st.budget_left[bid.actor_id] = budget - bid.price
                most = st.load_left.get(bid.actor_id)
                if most is not None:
                    st.load_left[bid.actor_id] = most - bid.load
                if bid.exclusive_group is not None:
                    st.groups.add((bid.actor_id, bid.exclusive_group))
        have: dict[str, int] = {}
        on: dict[str, list[Bid]] = {}
        for bid in fixed:
            for item in bid.items:
                have[item.component] = have.get(item.component, 0) + item.quantity
                mine = on.setdefault(model.challenge_of[item.component], [])
                if not mine or mine[-1] is not bid:
                    mine.append(bid)
        done = []
        for n, challenge in enumerate(model.challenges):
            touching = on.get(challenge.id)
            if not touching:
                continue
            keys = self.closure(challenge, [k.key for k in challenge.components if k.critical]
                                + [item.component for b in touching for item in b.items
                                   if model.challenge_of[item.component] == challenge.id])
            plan = None
            for reliable in (False, True):
                bids = self.cover(challenge, keys, reliable, have)
                if bids is not None and self.reliable_enough(challenge, touching + bids):
                    plan = _Plan(challenge, touching + bids, keys, 0, sum(b.price for b in bids))
                    break
            if plan is None or not self.commit(plan):
                return None
            done.append((n, challenge))
        return done

    def run(self) -> Solution | None:
        """The greedy allocation; None when the fixed bids cannot be taken (version 1.1)."""
        model = self.model
        fixed_done = self.fixed_first()
        if fixed_done is None:
            return None
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
        done = fixed_done
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


# Version 1.1: the rounds in which a plan's payments are made when some pledge has conditions.
ENABLE, CONDITIONED, REST = "enable", "conditioned", "rest"
# Version 1.1: runs that leave out the pools short of their min_spend before all min_spend pools are.
MIN_SPEND_ROUNDS = 2


def greedy_start(model: ClearingModel) -> Solution | None:
    """A feasible allocation of the model's market (see the module docstring); None without bids, and
    None when it finds none under version 1.1's rules (see below)."""
    if not model.bids:
        return None
    solution = _Greedy(model).run()
    if not model.uses_1_1:
        return solution
    min_spend = {pool.index for pool in model.pools if pool.pledges[0].min_spend is not None}
    banned: set[int] = set()
    for round_ in range(MIN_SPEND_ROUNDS + 1):
        short = set() if solution is None else _short(model, solution, min_spend)
        if not short:
            break
        banned |= short if round_ < MIN_SPEND_ROUNDS else min_spend
        solution = _Greedy(model, frozenset(banned)).run()
    if solution is None:
        return None
    problems = start_problems(model, solution)
    if problems:
        logger.info("greedy start dropped: %s", problems[0])
        return None
    return solution


def _short(model: ClearingModel, solution: Solution, min_spend: set[int]) -> set[int]:
    """The min_spend pools that pay something, but less than their min_spend."""
    paid: dict[int, float] = {}
    for (p, _), cents in solution.pays.items():
        if p in min_spend:
            paid[p] = paid.get(p, 0.0) + cents
    return {p for p, x in paid.items() if 0 < x < (model.pools[p].pledges[0].min_spend or 0)}
