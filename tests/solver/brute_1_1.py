"""An independent optimum and rule check for tiny `swarm-market/1.1` documents, from the spec alone.

Reads the JSON document itself (not `solver.loading`, not `solver.market`), so a fault in the engine's
reading, scopes or model cannot hide here too.

`optimum(doc)` tries every set of bids that holds all fixed bids, best (value, cost) first: structure
(rules 1-4, 6, 7, 9) is checked directly; money (rules 5 and 8) is an exact question about real-valued
flows, answered by a depth-first search over the two disjunctions of rule 8:

- a pledge with `min_spend` is either engaged (its flows total at least min_spend) or pays nothing;
- a pledge with `conditions` either may pay into a challenge (each named funder's pledges pay at least
  `min` into it) or pays nothing into it.

Each node of the search is an LP (one flow per pledge and paid component in its scope); undecided
choices are left out of it (both flows allowed and no lower bound), which only widens the set of flows,
so an infeasible node prunes its whole subtree and a leaf (every choice decided) is exactly rule 5 + 8.

`rule_problems(doc, allocation)` checks on the allocation's whole-cent flows what version 1.1 adds:
narrowed scopes, min_spend and conditions exactly, max_challenge_share within the spec's allowance,
fixed bids accepted, and the shape of an "infeasible" allocation.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pulp

from solver import backends

RELIABILITY_TOLERANCE = 1e-9


def to_cents(raw: str | int) -> int:
    """The format's money (a decimal string, or a JSON integer of whole units) in cents."""
    if isinstance(raw, int):
        return raw * 100
    whole, _, fraction = raw.partition(".")
    return int(whole) * 100 + int((fraction + "00")[:2])


@dataclass
class Component:
    key: str
    challenge: str
    quantity: int
    critical: bool
    value: float
    requires: list[str]
    min_reliability: float | None
    max_unit_price: int | None


@dataclass
class Challenge:
    id: str
    tags: set[str]
    value: float
    reliability: float | None
    components: list[Component]


@dataclass
class Pledge:
    id: str
    funder: str
    amount: int
    admits: set[str]                            # component keys in scope
    max_share: float | None
    match: float | None
    min_spend: int | None
    challenge_share: float | None
    conditions: list[tuple[str, int]]           # (funder id, min cents)


@dataclass
class Bid:
    id: str
    actor: str
    items: list[tuple[str, int, int]]           # (component key, quantity, price cents)
    reliability: float
    load: float
    group: str | None
    fixed: bool

    @property
    def price(self) -> int:
        return sum(price for _, _, price in self.items)


@dataclass
class Actor:
    id: str
    budget: int | None
    load: float | None
    bids: list[Bid] = field(default_factory=list)


@dataclass
class Market:
    challenges: list[Challenge]
    components: dict[str, Component]
    pledges: list[Pledge]
    actors: list[Actor]

    @property
    def bids(self) -> list[Bid]:
        return [b for a in self.actors for b in a.bids]


def _in_scope(scope: dict[str, Any] | None, challenge: Challenge, key: str) -> bool:
    """Version 1: any listed challenge, component or tag (an empty scope admits nothing); version 1.1:
    and every `all_tags`, and none of `exclude_tags`; listing only those starts from every component."""
    if scope is None:
        return True
    listed = scope.get("challenges", []) or scope.get("components", []) or scope.get("tags", [])
    all_tags, exclude = scope.get("all_tags", []), scope.get("exclude_tags", [])
    if listed:
        base = (challenge.id in scope.get("challenges", []) or key in scope.get("components", [])
                or bool(challenge.tags & set(scope.get("tags", []))))
    else:
        base = bool(all_tags or exclude)
    return base and set(all_tags) <= challenge.tags and not challenge.tags & set(exclude)


def read(doc: dict[str, Any]) -> Market:
    challenges = []
    components: dict[str, Component] = {}
    for c in doc["challenges"]:
        challenge = Challenge(c["id"], set(c.get("tags", [])), c.get("value", 0), c.get("reliability"), [])
        for k in c["components"]:
            key = f"{c['id']}/{k['id']}"
            unit = k.get("max_unit_price")
            component = Component(key, c["id"], k.get("quantity", 1), k.get("critical", True), k.get("value", 0),
                                  [f"{c['id']}/{r}" for r in k.get("requires", [])], k.get("min_reliability"),
                                  None if unit is None else to_cents(unit))
            challenge.components.append(component)
            components[key] = component
        challenges.append(challenge)
    pledges = []
    for f in doc["funders"]:
        for p in f["pledges"]:
            scope = p.get("scope")
            admits = {k.key for c in challenges for k in c.components if _in_scope(scope, c, k.key)}
            low = p.get("min_spend")
            pledges.append(Pledge(p["id"], f["id"], to_cents(p["amount"]), admits, p.get("max_share"),
                                  p.get("match"), None if low is None else to_cents(low),
                                  p.get("max_challenge_share"),
                                  [(c["funder"], to_cents(c["min"])) for c in p.get("conditions", [])]))
    actors = []
    for a in doc["actors"]:
        capacity = a.get("capacity", {})
        budget = capacity.get("budget")
        actor = Actor(a["id"], None if budget is None else to_cents(budget), capacity.get("load"))
        for b in a["bids"]:
            items = [(i["component"], i.get("quantity", components[i["component"]].quantity), to_cents(i["price"]))
                     for i in b["items"]]
            actor.bids.append(Bid(b["id"], a["id"], items, b.get("reliability", a.get("reliability", 1.0)),
                                  b.get("load", 0), b.get("exclusive_group"), b.get("fixed", False)))
        actors.append(actor)
    return Market(challenges, components, pledges, actors)


# -- structure: rules 1-4, 6, 7 --------------------------------------------------------------------------

def structure(market: Market, chosen: list[Bid]) -> tuple[float, int, dict[str, int]] | None:
    """(value, cost, item prices per component) if `chosen` may be the accepted bids, else None."""
    covered: dict[str, int] = {}
    paid: dict[str, int] = {}
    for bid in chosen:
        for key, quantity, price in bid.items:
            k = market.components[key]
            if k.max_unit_price is not None and price > quantity * k.max_unit_price:
                return None
            if k.min_reliability is not None and bid.reliability < k.min_reliability:
                return None
            covered[key] = covered.get(key, 0) + quantity
            paid[key] = paid.get(key, 0) + price
    funded = {key: covered.get(key, 0) >= k.quantity for key, k in market.components.items()}
    value = 0.0
    for challenge in market.challenges:
        completed = all(funded[k.key] for k in challenge.components if k.critical)
        for k in challenge.components:
            have = covered.get(k.key, 0)
            if 0 < have < k.quantity or (have and not completed):
                return None
            if funded[k.key] and not all(funded[r] for r in k.requires):
                return None
        if not completed:
            continue
        value += challenge.value + sum(k.value for k in challenge.components if not k.critical and funded[k.key])
        if challenge.reliability is not None:
            product = 1.0
            for bid in chosen:
                if any(market.components[key].challenge == challenge.id for key, _, _ in bid.items):
                    product *= bid.reliability
            if product < challenge.reliability * (1 - RELIABILITY_TOLERANCE):
                return None
    for actor in market.actors:
        won = [b for b in chosen if b.actor == actor.id]
        if actor.budget is not None and sum(b.price for b in won) > actor.budget:
            return None
        if actor.load is not None and sum(b.load for b in won) > actor.load + 1e-9:
            return None
        groups = [b.group for b in won if b.group is not None]
        if len(groups) != len(set(groups)):
            return None
    return value, sum(b.price for b in chosen), {key: c for key, c in paid.items() if c}


# -- money: rules 5 and 8, exactly, over real-valued flows ------------------------------------------------

class _Payer:
    """Whether the pledges can pay exactly `paid` (cents per component)."""

    def __init__(self, market: Market, paid: dict[str, int]) -> None:
        self.market = market
        self.paid = paid
        self.challenge_cost: dict[str, int] = {}
        for key, cost in paid.items():
            c = market.components[key].challenge
            self.challenge_cost[c] = self.challenge_cost.get(c, 0) + cost
        self.lps = 0
        # The choices of rule 8: (pledge index, None) engagement of a min_spend pledge; (pledge index,
        # challenge) whether a conditional pledge may pay into a challenge it can reach.
        self.choices: list[tuple[int, str | None]] = []
        for n, p in enumerate(market.pledges):
            reach = sorted({market.components[k].challenge for k in paid if k in p.admits})
            if p.min_spend is not None and reach:
                self.choices.append((n, None))
            if p.conditions:
                self.choices.extend((n, c) for c in reach)

    def feasible(self) -> bool:
        return self._search({})

    def _search(self, decided: dict[tuple[int, str | None], bool]) -> bool:
        flows = self._lp(decided)
        if flows is None:
            return False
        open_ = [c for c in self.choices if c not in decided]
        if not open_:
            return True
        choice = open_[0]
        n, challenge = choice
        # Try first what the relaxed flows already do: fewer LPs, same answer.
        mine = sum(v for (m, key), v in flows.items()
                   if m == n and (challenge is None or self.market.components[key].challenge == challenge))
        first = mine > 1e-6
        return any(self._search({**decided, choice: option}) for option in (first, not first))

    def _lp(self, decided: dict[tuple[int, str | None], bool]) -> dict[tuple[int, str], float] | None:
        self.lps += 1
        market, paid = self.market, self.paid
        prob = pulp.LpProblem("pay", pulp.LpMinimize)
        flow: dict[tuple[int, str], pulp.LpVariable] = {}
        for n, p in enumerate(market.pledges):
            if decided.get((n, None)) is False:
                continue                            # min_spend not reached: pays nothing
            for m, (key, cost) in enumerate(sorted(paid.items())):
                if key not in p.admits or decided.get((n, market.components[key].challenge)) is False:
                    continue
                upper = cost if p.max_share is None else p.max_share * cost
                flow[n, key] = prob.add_variable(f"f_{n}_{m}", lowBound=0, upBound=upper)
        for m, (key, cost) in enumerate(sorted(paid.items())):
            into = [v for (_, k), v in flow.items() if k == key]
            if not into:
                return None
            prob += pulp.lpSum(into) == cost, f"paid_{m}"
        base_into: dict[str, list[pulp.LpVariable]] = {}
        for (n, key), v in flow.items():
            if market.pledges[n].match is None:
                base_into.setdefault(market.components[key].challenge, []).append(v)
        for n, p in enumerate(market.pledges):
            mine = [(key, v) for (m, key), v in flow.items() if m == n]
            if not mine:
                continue
            prob += pulp.lpSum(v for _, v in mine) <= p.amount, f"amount_{n}"
            if p.min_spend is not None and decided.get((n, None)):
                prob += pulp.lpSum(v for _, v in mine) >= p.min_spend, f"min_spend_{n}"
            for i, challenge in enumerate(market.challenges):
                into_c = [v for key, v in mine if market.components[key].challenge == challenge.id]
                if not into_c:
                    continue
                if p.match is not None:
                    prob += pulp.lpSum(into_c) <= p.match * pulp.lpSum(base_into.get(challenge.id, [])), \
                        f"match_{n}_{i}"
                if p.challenge_share is not None:
                    prob += pulp.lpSum(into_c) <= p.challenge_share * self.challenge_cost[challenge.id], \
                        f"challenge_share_{n}_{i}"
                if decided.get((n, challenge.id)):
                    for j, (funder, low) in enumerate(p.conditions):
                        theirs = [v for (m, key), v in flow.items() if market.pledges[m].funder == funder
                                  and market.components[key].challenge == challenge.id]
                        if not theirs:
                            return None
                        prob += pulp.lpSum(theirs) >= low, f"condition_{n}_{i}_{j}"
        prob += pulp.lpSum([])
        prob.solve(pulp.HiGHS(msg=False, threads=backends.highs_threads()))
        status = pulp.LpStatus[prob.status]
        assert status in ("Optimal", "Infeasible"), status
        if status != "Optimal":
            return None
        return {k: v.value() or 0.0 for k, v in flow.items()}


@dataclass
class Optimum:
    value: float
    cost: int
    bids: list[str]                             # one best set (ties may have others)
    lps: int                                    # LPs solved: for keeping the tests' markets tiny


def optimum(doc: dict[str, Any]) -> Optimum | None:
    """The best (value, cost) over every set of bids holding all fixed bids; None when no set can be
    paid for (the market is infeasible)."""
    market = read(doc)
    fixed = [b for b in market.bids if b.fixed]
    free = [b for b in market.bids if not b.fixed]
    candidates = []
    for size in range(len(free) + 1):
        for chosen in itertools.combinations(free, size):
            bids = fixed + list(chosen)
            found = structure(market, bids)
            if found is not None:
                candidates.append((found, [b.id for b in bids]))
    candidates.sort(key=lambda c: (-round(c[0][0], 6), c[0][1]))    # values in tenths add up with float noise
    lps = 0
    payable: dict[tuple[tuple[str, int], ...], bool] = {}
    for (value, cost, paid), ids in candidates:
        key = tuple(sorted(paid.items()))
        if key not in payable:
            payer = _Payer(market, paid)
            payable[key] = payer.feasible()
            lps += payer.lps
        if payable[key]:
            return Optimum(value, cost, ids, lps)
    return None


# -- the allocation's side of rules 5 (scopes), 8 and 9 ---------------------------------------------------

def rule_problems(doc: dict[str, Any], allocation: dict[str, Any]) -> list[str]:
    """What the allocation breaks of version 1.1, on its whole-cent flows; empty when nothing."""
    market = read(doc)
    problems: list[str] = []
    by_id = {p.id: p for p in market.pledges}
    if allocation["status"] == "infeasible":
        if allocation["awards"] or allocation["flows"]:
            problems.append("infeasible: has awards or flows")
        for p in allocation["pledges"]:
            if p["spent"] != "0.00" or to_cents(p["returned"]) != by_id[p["id"]].amount:
                problems.append(f"infeasible: pledge {p['id']} not returned whole")
        reasons = {u["challenge"]: u["reasons"] for u in allocation["unfunded"]}
        for c in market.challenges:
            if not reasons.get(c.id):
                problems.append(f"infeasible: challenge {c.id} has no reason")
        return problems
    awarded = {a["bid"] for a in allocation["awards"]}
    problems += [f"fixed bid {b.id} not accepted" for b in market.bids if b.fixed and b.id not in awarded]
    challenge_cost: dict[str, int] = {}
    for bid in market.bids:
        if bid.id in awarded:
            for key, _, price in bid.items:
                c = market.components[key].challenge
                challenge_cost[c] = challenge_cost.get(c, 0) + price
    total: dict[str, int] = {}
    into: dict[tuple[str, str], list[int]] = {}           # (pledge, challenge): its flows
    funder_into: dict[tuple[str, str], int] = {}
    for f in allocation["flows"]:
        amount = f["amount"]
        if not (isinstance(amount, str) and len(amount.partition(".")[2]) == 2):
            problems.append(f"flow {f}: not whole cents")
            continue
        p, c = by_id[f["pledge"]], market.components[f["component"]].challenge
        if f["component"] not in p.admits:
            problems.append(f"flow {f}: component out of pledge {p.id}'s scope")
        cents = to_cents(amount)
        total[p.id] = total.get(p.id, 0) + cents
        into.setdefault((p.id, c), []).append(cents)
        funder_into[p.funder, c] = funder_into.get((p.funder, c), 0) + cents
    for p in market.pledges:
        spent = total.get(p.id, 0)
        if p.min_spend is not None and 0 < spent < p.min_spend:
            problems.append(f"pledge {p.id} spends {spent} cents, below its min_spend {p.min_spend}")
    for (pid, c), flows in into.items():
        p = by_id[pid]
        paid = sum(flows)
        if p.challenge_share is not None and paid - p.challenge_share * challenge_cost[c] >= len(flows):
            problems.append(f"pledge {pid} pays {paid} cents into {c}, over {p.challenge_share} of its cost "
                            f"{challenge_cost[c]} by a cent or more per flow")
        for funder, low in p.conditions:
            if funder_into.get((funder, c), 0) < low:
                problems.append(f"pledge {pid} pays into {c} but funder {funder} pays "
                                f"{funder_into.get((funder, c), 0)} cents there, below {low}")
    return problems
