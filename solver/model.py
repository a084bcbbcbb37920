"""The clearing as a mixed-integer program, one function per rule of the spec.

Variables (created in market order, named by position so user ids never reach
the solver):
  accept[bid]        1 if the bid is accepted (spec rule 1: whole or not at all)
  done[challenge]    1 if the challenge is completed
  funded[component]  1 if a non-critical component is funded; a critical one is
                     funded exactly when its challenge is done, so it uses done[]
  pay[pool, class]   money (cents, continuous) a pool of pledges pays a payment class
  engaged[pool]      1.1: 1 if a pledge with min_spend pays anything (rule 8)
  gate[F, min, c]    1.1: 1 if funder F pays at least min into challenge c, so that pledges with the
                     condition (F, min) may pay into c (rule 8)

Version-1.1 rows (rule 8's min_spend, max_challenge_share, conditions; rule 9's fixed bids) exist only
for markets that use those keys, so a version-1 market's model is what it was, name for name.

A payment class is the set of a challenge's priced components that the same
pools admit. Paying a class as one is exact: a pool's flow into a class splits
over its components in proportion to their costs, which pays each component in
full and keeps every max_share cap (x <= s x C implies x c/C <= s x c), while
matching is per challenge anyway. Most scopes name challenges or tags, so a
challenge is usually one class, and flow variables grow with challenges and
scopes, not with components.

Money rows are written in units of `money_unit` cents, a power of ten chosen so
that the largest amount or price stays below 10^5: pledges of millions in cents
put right-hand sides near 10^10, which HiGHS calls badly scaled against its 1e-6
tolerances (at 10^7 it still asked for one more power of ten, and generated
M-size markets cleared 20% slower on average over six seeds; docs/benchmarks.md).
HiGHS's feasibility tolerance of 1e-6 units stays under a cent while every
amount is under 10^10 cents (a hundred million), and the whole-cent rounding of
flows (flows.py) keeps totals exact whatever it leaves. The cost objective stays
in cents, so the least cost is still exact to the cent.

The model never mentions a challenge or bid that presolve ruled out. Rule 4's
reserves and reliability floors are kept there (eligibility.py), not here; where
every rule is kept, outside the model too, is in docs/rules.md.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pulp

from . import backends
from .eligibility import RELIABILITY_SLACK, Presolve
from .market import Actor, Bid, Challenge, Component, Market
from .pools import Pool

# Reliability rows are scaled so that the solver's absolute feasibility
# tolerance (about 1e-6 to 1e-7) stays far below the log of any real difference.
RELIABILITY_SCALE = 1e4

# Money rows count in units that keep every amount and price below 10^MONEY_DIGITS (see above).
MONEY_DIGITS = 5


def solved_value(var: pulp.LpVariable) -> float | None:
    """What the last solve wrote into `var` (None when it wrote nothing)."""
    value: float | None = var.varValue        # PuLP is untyped
    return value


@dataclass
class Restrictions:
    """Switches used to ask "what if" questions of one challenge (see reasons.py)."""
    challenges: frozenset[str] | None = None   # only these challenges (None: all)
    money: bool = True                          # False: unlimited unscoped money
    reliability: bool = True
    capacity: bool = True
    pool_amounts: dict[int, int] | None = None  # override what each pool has left
    budget_left: dict[str, int] | None = None   # override actors' remaining budgets
    load_left: dict[str, float] | None = None   # override actors' remaining loads
    groups_taken: frozenset[tuple[str, str]] = frozenset()  # (actor, exclusive group) already used
    fixed: frozenset[str] | None = None         # bids that must be accepted (None: the market's fixed bids)


@dataclass
class ClearingModel:
    market: Market
    pools: tuple[Pool, ...]
    presolve: Presolve
    restrictions: Restrictions = field(default_factory=Restrictions)
    prob: pulp.LpProblem = field(init=False)
    accept: dict[str, pulp.LpVariable] = field(init=False, default_factory=dict)
    done: dict[str, pulp.LpVariable] = field(init=False, default_factory=dict)
    funded: dict[str, pulp.LpVariable] = field(init=False, default_factory=dict)
    pay: dict[tuple[int, str], pulp.LpVariable] = field(init=False, default_factory=dict)  # (pool, class key)
    classes: dict[str, list[str]] = field(init=False, default_factory=dict)  # class key -> component keys
    engaged: dict[int, pulp.LpVariable] = field(init=False, default_factory=dict)   # pool -> 1.1 min_spend
    gates: dict[tuple[str, int, str], pulp.LpVariable] = field(init=False, default_factory=dict)  # (F, min, c)
    uses: dict[tuple[int, str], list[pulp.LpVariable]] = field(init=False, default_factory=dict)  # its gates
    # Fixed bids the model cannot accept (ruled out before it, or by a bound of a rule): it has no solution.
    conflicts: list[str] = field(init=False, default_factory=list)
    value: pulp.LpAffineExpression = field(init=False)
    cost: pulp.LpAffineExpression = field(init=False)

    def __post_init__(self) -> None:
        self.prob = pulp.LpProblem("clearing", pulp.LpMaximize)
        self.challenges: list[Challenge] = [
            c for c in self.market.challenges
            if c.id not in self.presolve.impossible_challenges
            and (self.restrictions.challenges is None or c.id in self.restrictions.challenges)]
        self.components: dict[str, Component] = {
            k.key: k for c in self.challenges for k in c.components
            if k.key not in self.presolve.impossible_components}
        # A bid survives only if every component it touches is still in the model. A model of a
        # few challenges (reasons, parts) looks only at their bids, through presolve's index.
        restricted = self.restrictions.challenges
        candidates = (self.presolve.live_bids if restricted is None or len(restricted) * 4 > len(self.market.challenges)
                      else self.presolve.live_bids_on(restricted))
        self.bids: list[Bid] = [b for b in candidates
                                if all(item.component in self.components for item in b.items)]
        self.challenge_of = {k.key: k.challenge_id for k in self.components.values()}
        self.items_on: dict[str, list[tuple[Bid, int, int]]] = {key: [] for key in self.components}
        for bid in self.bids:
            for item in bid.items:
                self.items_on[item.component].append((bid, item.quantity, item.price))
        largest = max([p.amount for p in self.pools] + [b.price for b in self.bids] + [1])
        self.money_unit: int = 10 ** max(0, len(str(largest)) - MONEY_DIGITS)
        fixed = self.restrictions.fixed
        self.fixed: frozenset[str] = (frozenset(b.id for b in self.market.bids if b.fixed) if fixed is None
                                      else fixed)
        self.add_variables()
        self.add_fixed_bids()
        self.value = pulp.LpAffineExpression(
            [(self.done[c.id], c.value) for c in self.challenges if c.value]
            + [(self.funded[k.key], k.value) for k in self.components.values() if not k.critical and k.value])
        self.cost = pulp.LpAffineExpression([(self.accept[b.id], b.price) for b in self.bids if b.price])
        self.add_coverage()
        self.add_completion()
        self.add_requires()
        if self.restrictions.money:
            self.add_payment()
            self.add_min_spend()
            self.add_challenge_share()
            self.add_conditions()
        if self.restrictions.reliability:
            self.add_reliability()
        if self.restrictions.capacity:
            self.add_capacity()

    # -- variables ------------------------------------------------------------------

    def add_variables(self) -> None:
        for i, challenge in enumerate(self.challenges):
            self.done[challenge.id] = self.prob.add_variable(f"done_{i}", cat=pulp.LpBinary)
        for j, component in enumerate(self.components.values()):
            if not component.critical:
                self.funded[component.key] = self.prob.add_variable(f"funded_{j}", cat=pulp.LpBinary)
        for i, bid in enumerate(self.bids):
            self.accept[bid.id] = self.prob.add_variable(f"accept_{i}", cat=pulp.LpBinary)
        self.class_of: dict[str, str] = {}
        if not self.restrictions.money:
            return
        for challenge in self.challenges:
            first_with: dict[tuple[int, ...], str] = {}
            for component in challenge.components:
                key = component.key
                if key not in self.components or not any(price for _, _, price in self.items_on[key]):
                    continue                # nothing on it ever costs money
                cls = first_with.setdefault(self.presolve.admits[key], key)
                self.classes.setdefault(cls, []).append(key)
                self.class_of[key] = cls
        hopeless = self._hopeless_conditions()
        for j, cls in enumerate(self.classes):
            for pool_index in self.presolve.admits[cls]:
                if (pool_index, self.challenge_of[cls]) in hopeless:
                    continue                    # 1.1: a condition that can never hold there (add_conditions)
                self.pay[pool_index, cls] = self.prob.add_variable(f"pay_{pool_index}_{j}", lowBound=0)

    def is_funded(self, key: str) -> pulp.LpVariable:
        component = self.components[key]
        return self.done[component.challenge_id] if component.critical else self.funded[key]

    def _add(self, terms: list[tuple[pulp.LpVariable, float]], sense: int, rhs: float, name: str) -> None:
        if not terms:
            return
        self.prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, name, rhs))

    # -- rules ----------------------------------------------------------------------

    def add_coverage(self) -> None:
        """Rule 2: sum of accepted quantities >= quantity x funded; accept[b] <= funded[k] for b's items.

        Quantities above the need count only up to the need, which tightens the
        LP relaxation without changing which sets of bids cover the component.
        """
        for j, (key, component) in enumerate(self.components.items()):
            need = component.quantity
            terms = [(self.accept[bid.id], min(qty, need)) for bid, qty, _ in self.items_on[key]]
            self._add(terms + [(self.is_funded(key), -need)], pulp.LpConstraintGE, 0, f"cover_{j}")
        for i, bid in enumerate(self.bids):
            linked = {}
            for item in bid.items:
                var = self.is_funded(item.component)
                linked[var.name] = var
            for n, var in enumerate(linked.values()):
                self._add([(self.accept[bid.id], 1), (var, -1)], pulp.LpConstraintLE, 0, f"link_{i}_{n}")

    def add_completion(self) -> None:
        """Rule 3: funded[k] <= done[c] for non-critical k (critical ones are done[c] itself)."""
        for j, (key, component) in enumerate(self.components.items()):
            if not component.critical:
                self._add([(self.funded[key], 1), (self.done[component.challenge_id], -1)],
                          pulp.LpConstraintLE, 0, f"within_{j}")

    def add_requires(self) -> None:
        """Rule 4: funded[k] <= funded[r] for each r that k requires (reserves and
        min_reliability are applied before the model: eligibility.py)."""
        for j, (key, component) in enumerate(self.components.items()):
            for n, target in enumerate(component.requires):
                tkey = f"{component.challenge_id}/{target}"
                a, b = self.is_funded(key), self.is_funded(tkey)
                if a is not b:
                    self._add([(a, 1), (b, -1)], pulp.LpConstraintLE, 0, f"requires_{j}_{n}")

    def add_payment(self) -> None:
        """Rule 5: each component's accepted prices are paid in full by admitted pools;
        sum over components of pay[p, k] <= amount(p); pay[p, k] <= share(p) x cost(k);
        in each challenge, pay of a matching pool <= ratio x pay of non-matching pools."""
        amounts = self.restrictions.pool_amounts
        by_pool: dict[int, list[pulp.LpVariable]] = {}
        for j, (cls, keys) in enumerate(self.classes.items()):
            prices: dict[str, float] = {}       # a bundle may have items on two components of a class
            for key in keys:
                for bid, _, price in self.items_on[key]:
                    if price:
                        prices[bid.id] = prices.get(bid.id, 0) - price / self.money_unit
            priced = [(self.accept[bid_id], coef) for bid_id, coef in prices.items()]
            pays = [(pool_index, self.pay[pool_index, cls]) for pool_index in self.presolve.admits[cls]
                    if (pool_index, cls) in self.pay]
            self._add([(var, 1) for _, var in pays] + priced, pulp.LpConstraintEQ, 0, f"paid_{j}")
            for pool_index, var in pays:
                by_pool.setdefault(pool_index, []).append(var)
                share = self.pools[pool_index].share_cap
                if share is not None:
                    self._add([(var, 1)] + [(acc, coef * share) for acc, coef in priced],
                              pulp.LpConstraintLE, 0, f"share_{pool_index}_{j}")
        for pool_index, variables in by_pool.items():
            amount = self.pools[pool_index].amount if amounts is None else amounts.get(pool_index, 0)
            self._add([(var, 1) for var in variables], pulp.LpConstraintLE, amount / self.money_unit,
                      f"pledged_{pool_index}")
        self.add_matching()

    def add_matching(self) -> None:
        """Per challenge: pay of a matching pool <= ratio x pay of the non-matching pools.

        With several matching pools in one challenge, the non-matching pay is named once
        (matched_i) so that each matching row stays short: rows grow with flows, not with
        flows x matching pools.
        """
        if not any(pool.match_ratio is not None for pool in self.pools):
            return
        own: dict[str, dict[int, list[pulp.LpVariable]]] = {}
        base: dict[str, list[pulp.LpVariable]] = {}
        for (pool_index, cls), var in self.pay.items():
            cid = self.challenge_of[cls]
            if self.pools[pool_index].match is None:
                base.setdefault(cid, []).append(var)
            else:
                own.setdefault(cid, {}).setdefault(pool_index, []).append(var)
        for i, challenge in enumerate(self.challenges):
            matching = own.get(challenge.id, {})
            if not matching:
                continue
            base_terms = [(var, 1.0) for var in base.get(challenge.id, [])]
            if len(matching) > 1 and len(base_terms) > 1:
                matched = self.prob.add_variable(f"matched_{i}", lowBound=0)
                self._add(base_terms + [(matched, -1.0)], pulp.LpConstraintEQ, 0, f"matched_{i}")
                base_terms = [(matched, 1.0)]
            for pool_index, variables in matching.items():
                ratio = self.pools[pool_index].match_ratio or 0.0
                self._add([(var, 1.0) for var in variables] + [(var, -ratio * c) for var, c in base_terms],
                          pulp.LpConstraintLE, 0, f"match_{pool_index}_{i}")

    def add_reliability(self) -> None:
        """Rule 6: sum over accepted bids touching c of -ln(r) <= -ln(target) x done[c].

        A bid touching c is accepted only if c is done, so no big-M is needed.
        """
        touching: dict[str, list[Bid]] = {}
        for bid in self.bids:
            for cid in dict.fromkeys(self.challenge_of[item.component] for item in bid.items):
                touching.setdefault(cid, []).append(bid)
        for i, challenge in enumerate(self.challenges):
            if challenge.reliability is None:
                continue
            limit = (-math.log(challenge.reliability) + RELIABILITY_SLACK) * RELIABILITY_SCALE
            risky = [b for b in touching.get(challenge.id, []) if b.reliability < 1]
            terms = [(self.accept[b.id], -math.log(b.reliability) * RELIABILITY_SCALE) for b in risky]
            for bid, (_, coef) in zip(risky, terms):
                if coef > limit:
                    self._rule_out(bid)     # alone below the target: never accepted, not even in part
            if terms:
                # The limit is scaled by done[c]: the same rows for whole numbers (a bid touching c is
                # accepted only if c is done), but the relaxation can no longer half-complete a
                # challenge whose target its bids cannot meet, which made its bound weak.
                self._add(terms + [(self.done[challenge.id], -limit)], pulp.LpConstraintLE, 0, f"reliability_{i}")

    def add_capacity(self) -> None:
        """Rule 7: per actor, accepted prices <= budget, accepted loads <= load; one bid per exclusive group."""
        by_actor: dict[str, list[Bid]] = {}
        for bid in self.bids:
            by_actor.setdefault(bid.actor_id, []).append(bid)
        for a, actor in enumerate(self.market.actors):
            bids = by_actor.get(actor.id)
            if not bids:
                continue
            budget, load = self._capacity_left(actor)
            for bid in bids:
                # A bid beyond the actor's whole capacity is never accepted; fixing it to 0 also keeps
                # the relaxation from accepting a fraction of it, which weakened the bound.
                if (budget is not None and bid.price > budget) or (load is not None and bid.load > load):
                    self._rule_out(bid)
            if budget is not None:
                unit = self.money_unit
                self._add([(self.accept[b.id], b.price / unit) for b in bids if b.price],
                          pulp.LpConstraintLE, budget / unit, f"budget_{a}")
            if load is not None:
                self._add([(self.accept[b.id], b.load) for b in bids if b.load],
                          pulp.LpConstraintLE, load, f"load_{a}")
            groups: dict[str, list[Bid]] = {}
            for bid in bids:
                if bid.exclusive_group is not None:
                    groups.setdefault(bid.exclusive_group, []).append(bid)
            for g, (group, members) in enumerate(groups.items()):
                if (actor.id, group) in self.restrictions.groups_taken:
                    self._add([(self.accept[b.id], 1) for b in members], pulp.LpConstraintLE, 0, f"taken_{a}_{g}")
                elif len(members) > 1:
                    self._add([(self.accept[b.id], 1) for b in members], pulp.LpConstraintLE, 1, f"exclusive_{a}_{g}")

    def _rule_out(self, bid: Bid) -> None:
        """accept = 0 for a bid a rule rules out alone; a fixed bid ruled out makes the model infeasible."""
        if bid.id in self.fixed:
            self.conflicts.append(bid.id)
        else:
            self.accept[bid.id].upBound = 0

    # -- version 1.1 ----------------------------------------------------------------------------------

    def add_fixed_bids(self) -> None:
        """Rule 9: accept[b] = 1 for every fixed bid (its lower bound).

        A fixed bid that presolve ruled out (a reserve, a reliability floor, a challenge or component
        that cannot be done) while all its challenges are in the model is a conflict: the model has
        no solution, and solving.py says so without solving. A model of other challenges only (a part,
        a reason's "what if") does not mention it."""
        if not self.fixed:
            return
        for bid in self.market.bids:
            if bid.id not in self.fixed:
                continue
            var = self.accept.get(bid.id)
            if var is not None:
                var.lowBound = 1
            elif not any(self._outside(item.component) for item in bid.items):
                self.conflicts.append(bid.id)

    def _outside(self, key: str) -> bool:
        """True when the component's challenge is outside the model's restriction (not merely impossible)."""
        restricted = self.restrictions.challenges
        return restricted is not None and key.partition("/")[0] not in restricted

    def _pays_into(self) -> dict[tuple[int, str], list[pulp.LpVariable]]:
        """(pool, challenge) -> the pool's pay variables into the challenge's classes (built once)."""
        found: dict[tuple[int, str], list[pulp.LpVariable]] | None = getattr(self, "_into", None)
        if found is None:
            found = {}
            for (pool_index, cls), var in self.pay.items():
                found.setdefault((pool_index, self.challenge_of[cls]), []).append(var)
            self._into = found
        return found

    def _challenge_cost(self) -> dict[str, list[tuple[pulp.LpVariable, float]]]:
        """challenge -> (accept[b], b's item prices on the challenge's components in money units): the
        challenge's cost, counting only the items of a bundle that are on it (built once)."""
        found: dict[str, list[tuple[pulp.LpVariable, float]]] | None = getattr(self, "_cost_of", None)
        if found is None:
            found = {}
            for bid in self.bids:
                on: dict[str, int] = {}
                for item in bid.items:
                    if item.price:
                        cid = self.challenge_of[item.component]
                        on[cid] = on.get(cid, 0) + item.price
                for cid, price in on.items():
                    found.setdefault(cid, []).append((self.accept[bid.id], price / self.money_unit))
            self._cost_of = found
        return found

    def _amount_left(self, pool_index: int) -> int:
        amounts = self.restrictions.pool_amounts
        return self.pools[pool_index].amount if amounts is None else amounts.get(pool_index, 0)

    def _hopeless_conditions(self) -> set[tuple[int, str]]:
        """(pool, challenge) where a condition of the pool's pledge can never hold: the named funder's pools
        that may pay the challenge hold less than the condition's min, or every bid on the challenge together
        costs less. The pledge never pays there, so the model has no pay variable for it (version 1.1)."""
        conditional = [pool for pool in self.pools if pool.conditional and pool.pledges[0].conditions]
        if not conditional:
            return set()
        payers: dict[str, set[int]] = {}
        for cls in self.classes:
            payers.setdefault(self.challenge_of[cls], set()).update(self.presolve.admits[cls])
        most: dict[str, int] = {}
        for bid in self.bids:
            for item in bid.items:
                cid = self.challenge_of[item.component]
                most[cid] = most.get(cid, 0) + item.price
        pools_of: dict[str, list[int]] = {}
        for pool in self.pools:
            pools_of.setdefault(pool.pledges[0].funder_id, []).append(pool.index)
        out: set[tuple[int, str]] = set()
        for cid, admitted in payers.items():
            for pool in conditional:
                if pool.index not in admitted:
                    continue
                for condition in pool.pledges[0].conditions:
                    room = sum(self._amount_left(q) for q in pools_of.get(condition.funder_id, []) if q in admitted)
                    if min(room, most.get(cid, 0)) < condition.min:
                        out.add((pool.index, cid))
                        break
        return out

    def add_min_spend(self) -> None:
        """Rule 8, min_spend m of pledge p (its own pool): a binary engaged[p];
        sum of pay[p, k] >= m x engaged[p] and sum of pay[p, k] <= amount(p) x engaged[p].

        Exact: engaged = 0 pays nothing, engaged = 1 pays between m and the amount. In a "what if"
        model whose pools have only what is left (Restrictions.pool_amounts), what p already spent
        counts towards m."""
        unit = self.money_unit
        by_pool: dict[int, list[pulp.LpVariable]] = {}
        for (pool_index, _), var in self.pay.items():
            by_pool.setdefault(pool_index, []).append(var)
        for pool_index, variables in sorted(by_pool.items()):
            pledge = self.pools[pool_index].pledges[0]
            if pledge.min_spend is None or not self.pools[pool_index].conditional:
                continue
            amount = self._amount_left(pool_index)
            least = max(pledge.min_spend - (self.pools[pool_index].amount - amount), 0)
            if least <= 0:
                continue                        # already engaged: its amount row is all that is left
            engaged = self.engaged[pool_index] = self.prob.add_variable(f"engaged_{pool_index}", cat=pulp.LpBinary)
            terms = [(var, 1.0) for var in variables]
            self._add(terms + [(engaged, -least / unit)], pulp.LpConstraintGE, 0, f"min_spend_{pool_index}")
            self._add(terms + [(engaged, -amount / unit)], pulp.LpConstraintLE, 0, f"engaged_{pool_index}")

    def add_challenge_share(self) -> None:
        """Rule 8, max_challenge_share s of pledge p: per challenge c,
        sum of pay[p, k] over c's classes <= s x sum of accept[b] x (b's item prices on c's components).

        Exact: the right side is c's cost (only the items of a bundle that are on c count), which the
        paid rows make equal to what all pools pay into c. The row is left out where p's whole amount is
        at most share x the least c can cost when done (_least_cost): it could never bind there."""
        cost_of = self._challenge_cost()
        index = {c.id: i for i, c in enumerate(self.challenges)}
        into = sorted(self._pays_into().items(), key=lambda kv: (kv[0][0], index[kv[0][1]]))
        least: dict[str, int] | None = None
        for (pool_index, cid), variables in into:
            share = self.pools[pool_index].pledges[0].max_challenge_share
            if share is None or share >= 1 or not self.pools[pool_index].conditional:
                continue
            if least is None:
                least = self._least_cost()
            if self._amount_left(pool_index) <= share * least[cid]:
                continue                        # p's whole amount is within the share of c's least cost
            self._add([(var, 1.0) for var in variables] + [(acc, -share * coef) for acc, coef in cost_of.get(cid, [])],
                      pulp.LpConstraintLE, 0, f"challenge_share_{pool_index}_{index[cid]}")

    def _least_cost(self) -> dict[str, int]:
        """challenge -> a lower bound on its cost when done: each critical component needs at least one
        accepted item on it, so at least the cheapest item price there."""
        out: dict[str, int] = {}
        for challenge in self.challenges:
            out[challenge.id] = sum(min((price for _, _, price in self.items_on[k.key]), default=0)
                                    for k in challenge.components if k.critical and k.key in self.components)
        return out

    def add_conditions(self) -> None:
        """Rule 8, conditions: a binary gate g[F, min, c] per named funder F, condition min and challenge c
        that a pledge with the condition (F, min) may pay into; sum over F's pools q of pay[q, k] over c's
        classes >= min x g[F, min, c]; g[F, min, c] <= done[c]; and for each such pledge p and each of its
        conditions, sum of pay[p, k] over c's classes <= M x g[F, min, c], with M the least of p's amount
        and the most c can cost (every bid on c accepted, times p's max_challenge_share).

        Exact: p pays into c only if each of its gates there is 1, and a gate at 1 needs F's min in c; a
        gate asks nothing more, so pledges naming the same funder and min share it (fewer binaries, the
        same relaxation: the gate is at least the largest pay / M). F's pledges pool only with F's own
        (pools.py), so F's pay into c is a sum of whole pools'. A condition F cannot meet in c (F's pools
        admit nothing there, or hold less than min, or c cannot cost min) leaves p without pay variables
        in c (_hopeless_conditions), so without gates."""
        unit = self.money_unit
        into = self._pays_into()
        cost_of = self._challenge_cost()
        pools_of: dict[str, list[int]] = {}
        for pool in self.pools:
            pools_of.setdefault(pool.pledges[0].funder_id, []).append(pool.index)
        index = {c.id: i for i, c in enumerate(self.challenges)}
        for (pool_index, cid), variables in sorted(into.items(), key=lambda kv: (kv[0][0], index[kv[0][1]])):
            pool = self.pools[pool_index]
            pledge = pool.pledges[0]
            if not pledge.conditions or not pool.conditional:
                continue
            i = index[cid]
            most = sum(coef for _, coef in cost_of.get(cid, [])) * unit      # c's cost, every bid on it accepted
            big = min(self._amount_left(pool_index), most * (pledge.max_challenge_share or 1)) / unit
            mine = self.uses.setdefault((pool_index, cid), [])
            for m, condition in enumerate(pledge.conditions):
                gate = self.gates.get((condition.funder_id, condition.min, cid))
                if gate is None:
                    n = len(self.gates)
                    gate = self.gates[condition.funder_id, condition.min, cid] = self.prob.add_variable(
                        f"gate_{n}", cat=pulp.LpBinary)
                    theirs = [var for q in pools_of.get(condition.funder_id, []) for var in into.get((q, cid), [])]
                    room = min(sum(self._amount_left(q) for q in pools_of.get(condition.funder_id, [])
                                   if (q, cid) in into), most)
                    if not theirs or room < condition.min:
                        gate.upBound = 0
                    else:
                        self._add([(var, 1.0) for var in theirs] + [(gate, -condition.min / unit)],
                                  pulp.LpConstraintGE, 0, f"condition_{n}")
                    self._add([(gate, 1), (self.done[cid], -1)], pulp.LpConstraintLE, 0, f"gate_done_{n}")
                mine.append(gate)
                self._add([(var, 1.0) for var in variables] + [(gate, -big)], pulp.LpConstraintLE, 0,
                          f"uses_{pool_index}_{i}_{m}")

    def _capacity_left(self, actor: Actor) -> tuple[int | None, float | None]:
        capacity = actor.capacity
        budget = capacity.budget if capacity is not None else None
        load = capacity.load if capacity is not None else None
        r = self.restrictions
        if budget is not None and r.budget_left is not None:
            budget = r.budget_left.get(actor.id, budget)
        if load is not None and r.load_left is not None:
            load = r.load_left.get(actor.id, load)
        return budget, load

    # -- reading a solution -----------------------------------------------------------

    def accepted(self, value: Callable[[pulp.LpVariable], float | None] = solved_value) -> list[Bid]:
        return [b for b in self.bids if (value(self.accept[b.id]) or 0) > 0.5]

    def component_pays(self, accepted: list[Bid], value: Callable[[pulp.LpVariable], float | None] = solved_value
                       ) -> dict[tuple[int, str], float]:
        """The solved class flows as money per (pool, component), split in proportion to accepted costs.

        `value` reads a variable's value: by default what the solver wrote into it."""
        cost: dict[str, int] = {}
        for bid in accepted:
            for item in bid.items:
                if item.price:
                    cost[item.component] = cost.get(item.component, 0) + item.price
        out: dict[tuple[int, str], float] = {}
        for (pool_index, cls), var in self.pay.items():
            paid = (value(var) or 0.0) * self.money_unit
            if self.engaged or self.uses:
                # A solver may leave a pay of 1e-7 beside engaged or a gate at 0: that pledge pays nothing there.
                gates = [*self.uses.get((pool_index, self.challenge_of[cls]), ())]
                if pool_index in self.engaged:
                    gates.append(self.engaged[pool_index])
                if any((value(gate) or 0.0) < 0.5 for gate in gates):
                    continue
            total = sum(cost.get(key, 0) for key in self.classes[cls])
            if paid <= 0 or total <= 0:
                continue
            for key in self.classes[cls]:
                if cost.get(key):
                    out[pool_index, key] = paid * cost[key] / total
        return out

    def class_pays(self, pays: dict[tuple[int, str], float]) -> dict[tuple[int, str], float]:
        """Money per (pool, component) summed into the model's (pool, class) flows (for a warm start)."""
        out: dict[tuple[int, str], float] = {}
        for (pool_index, key), value in pays.items():
            cls = self.class_of.get(key)
            if cls is not None and (pool_index, cls) in self.pay:
                out[pool_index, cls] = out.get((pool_index, cls), 0.0) + value / self.money_unit
        return out

    @property
    def uses_1_1(self) -> bool:
        """True when the model has a version-1.1 row or bound (fixed bids, min_spend, shares, conditions)."""
        return bool(self.fixed) or any(pool.conditional for pool in self.pools)

    def size(self) -> dict[str, int]:
        # Every variable here was added through prob.add_variable, so PuLP's registry counts them all.
        return {"variables": backends.variable_count(self.prob), "constraints": self.prob.numConstraints(),
                "binaries": len(self.accept) + len(self.done) + len(self.funded) + len(self.engaged) + len(self.gates)}

    def yes_no(self) -> list[pulp.LpVariable]:
        """Every binary of the model: accept, done, funded, and the 1.1 engaged and gates."""
        return [*self.accept.values(), *self.done.values(), *self.funded.values(), *self.engaged.values(),
                *self.gates.values()]
