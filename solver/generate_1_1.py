"""`swarm generate --format 1.1`: a generated market with funders' conditions, narrower scopes and fixed
bids laid over the version-1 market of the same seed.

The version-1 document is built first, exactly as without the option, and then changed here with a
random generator of its own (seeded from the same seed), so that the default output stays byte for byte
what it was and a 1.1 market differs from its version-1 twin only by the 1.1 features (the benchmark
compares the two):

- conflict zones: in a few regions, most challenges carry the tag "risk:conflict";
- foundations: some never pay in a conflict zone (`exclude_tags`; an unscoped one then starts from every
  component), some pay at most part of any challenge's cost (`max_challenge_share`), and about half
  split off a programme in one country (or one sector of it: `all_tags`) that pays only where the
  government of a region of that country pays too (`conditions`): it can pay nowhere else in the
  country, and where it pays the government must co-fund. A corporate pledge in that region may in
  turn pay only where the foundation pays (a chain of conditions);
- agencies: some fund one sector of their country only (`all_tags`), some will not engage below a
  `min_spend`, as do some corporates, some foundations' conditional programmes and some diaspora pledges
  (whose money often goes unspent, so that the limit makes them sit out); some governments and diaspora
  pledges pay at most part of any challenge (`max_challenge_share`);
- fixed bids (already contracted work), about one challenge in twenty: the cheapest eligible offer on a
  component of a challenge with good value for money that unconditional money can complete. Each comes
  with a way to complete its challenge that the ways of the others leave room for (class _Proof), so
  the market stays feasible.
"""
from __future__ import annotations

import copy
import random
from typing import Any

from .loading import FORMAT_1_1, parse_market
from .market import Bid, Challenge, Component, Market, Pledge
from .money import format_money, parse_money

CONFLICT = "risk:conflict"


def add_1_1(document: dict[str, Any], seed: int) -> dict[str, Any]:
    """The version-1 `document` (from generate.generate) with version 1.1 features; a new document."""
    return _Layer(document, seed).document()


def _round(cents: float) -> int:
    """A round sum: to 100 USD, at least 100 USD."""
    return max(10_000, int(round(cents / 10_000)) * 10_000)


def _kind(funder_id: str) -> str:
    return funder_id.rsplit("-", 1)[0]


def _tag(tags: list[str], prefix: str) -> str:
    return next(t for t in tags if t.startswith(prefix))


class _Layer:
    proof: _Proof | None = None        # after fix_bids: the allocation that shows the market feasible

    def __init__(self, document: dict[str, Any], seed: int) -> None:
        self.doc = copy.deepcopy(document)
        self.rng = random.Random(f"swarm-market/1.1:{seed}")
        self.challenges: list[dict[str, Any]] = self.doc["challenges"]
        self.funders: list[dict[str, Any]] = self.doc["funders"]
        # region tag -> country tag, and country tag -> sector tags of its challenges (in market order)
        self.country: dict[str, str] = {}
        self.sectors: dict[str, list[str]] = {}
        for ch in self.challenges:
            region, country = _tag(ch["tags"], "region:"), _tag(ch["tags"], "country:")
            self.country[region] = country
            sectors = self.sectors.setdefault(country, [])
            if _tag(ch["tags"], "sector:") not in sectors:
                sectors.append(_tag(ch["tags"], "sector:"))
        self.counts = {"conflict": 0, "conditions": 0, "fixed": 0}

    def document(self) -> dict[str, Any]:
        self.doc["format"] = FORMAT_1_1
        self.conflict_zones()
        self.limits()
        self.conditions()
        self.fix_bids()
        self.doc["note"] += (f" Format 1.1: {self.counts['conflict']} challenges in conflict zones, "
                             f"{self.counts['conditions']} conditions, {self.counts['fixed']} fixed bids.")
        return self.doc

    # -- tags and limits --------------------------------------------------------------------------------

    def conflict_zones(self) -> None:
        regions = sorted(self.country)
        zones = set(self.rng.sample(regions, max(1, round(len(regions) / 6))))
        for ch in self.challenges:
            if _tag(ch["tags"], "region:") in zones and self.rng.random() < 0.6:
                ch["tags"].append(CONFLICT)
                self.counts["conflict"] += 1
        if not self.counts["conflict"]:          # a tiny market: one conflict zone all the same
            self.challenges[0]["tags"].append(CONFLICT)
            self.counts["conflict"] = 1

    def limits(self) -> None:
        rng = self.rng
        for funder in self.funders:
            if not funder["pledges"]:
                continue
            kind, main = _kind(funder["id"]), funder["pledges"][0]
            if kind == "foundation":
                if rng.random() < 0.5:          # never in a conflict zone, wherever else
                    main["scope"] = {**main.get("scope", {}), "exclude_tags": [CONFLICT]}
                if rng.random() < 0.35:
                    main["max_challenge_share"] = rng.choice((0.5, 0.6, 0.75))
            elif kind == "agency":
                country = main["scope"]["tags"][0]
                if rng.random() < 0.35 and country in self.sectors:   # one sector of its country
                    main["scope"] = {**main["scope"], "all_tags": [rng.choice(self.sectors[country])]}
                if rng.random() < 0.25:
                    self.min_spend(main)
            elif kind == "government":      # pays at most part of any project in its region
                if rng.random() < 0.3:
                    main["max_challenge_share"] = rng.choice((0.5, 0.6, 0.75))
            elif kind == "corporate":
                if rng.random() < 0.2:
                    self.min_spend(main)
            elif kind == "diaspora":
                # Money here often goes unspent (its one or two challenges are not completed), so this is
                # where limits bite: a min_spend above what it may put in makes it sit out.
                if rng.random() < 0.15:
                    main["max_challenge_share"] = rng.choice((0.5, 0.6, 0.8))
                if rng.random() < 0.2:
                    self.min_spend(main, (0.6, 0.9))

    def min_spend(self, pledge: dict[str, Any], fraction: tuple[float, float] = (0.3, 0.6)) -> None:
        amount = parse_money(pledge["amount"])
        pledge["min_spend"] = format_money(min(amount, _round(amount * self.rng.uniform(*fraction))))

    # -- conditions ---------------------------------------------------------------------------------------

    def conditions(self) -> None:
        """Foundations' programmes that pay only where a region's government co-funds, and chains."""
        rng = self.rng
        governments = [f for f in self.funders if _kind(f["id"]) == "government" and f["pledges"]]
        foundations = [f for f in self.funders if _kind(f["id"]) == "foundation" and f["pledges"]]
        if not governments or not foundations:
            return
        chosen = rng.sample(foundations, max(1, len(foundations) // 2))
        for foundation in sorted(chosen, key=self.funders.index):
            government = rng.choice(governments)
            gov_pledge = government["pledges"][0]
            region = gov_pledge["scope"]["tags"][0]
            country = self.country.get(region)
            main = foundation["pledges"][0]
            amount = parse_money(main["amount"])
            part = _round(amount * rng.uniform(0.3, 0.5))
            if country is None or amount - part < 10_000:
                continue
            gov_amount = parse_money(gov_pledge["amount"])
            least = min(gov_amount, _round(gov_amount * rng.uniform(0.1, 0.25)))
            # The country, or one sector of it written either way ("country and sector").
            sector = _tag(self.challenge_in(region)["tags"], "sector:")
            scope: dict[str, Any] = rng.choice(({"tags": [country]}, {"tags": [country], "all_tags": [sector]},
                                                {"all_tags": [country, sector]}))
            main["amount"] = format_money(amount - part)
            programme: dict[str, Any] = {"id": f"{foundation['id']}-c1", "amount": format_money(part), "scope": scope,
                                         "conditions": [{"funder": government["id"], "min": format_money(least)}]}
            if rng.random() < 0.4:              # a programme of this size or none at all
                self.min_spend(programme, (0.5, 0.8))
            foundation["pledges"].append(programme)
            self.counts["conditions"] += 1
            self.chain(foundation["id"], region, least)

    def challenge_in(self, region: str) -> dict[str, Any]:
        return next(ch for ch in self.challenges if region in ch["tags"])

    def chain(self, foundation_id: str, region: str, least: int) -> None:
        """A corporate pledge in the region that pays only where the foundation pays too."""
        corporates = [f for f in self.funders if _kind(f["id"]) == "corporate" and f["pledges"]
                      and region in f["pledges"][0].get("scope", {}).get("tags", ())
                      and "conditions" not in f["pledges"][0]]
        if corporates:
            pledge = self.rng.choice(corporates)["pledges"][0]
            pledge["conditions"] = [{"funder": foundation_id, "min": format_money(_round(least / 2))}]
            self.counts["conditions"] += 1

    # -- fixed bids ------------------------------------------------------------------------------------

    def fix_bids(self) -> None:
        """A few challenges' cheapest eligible covers, one of which is fixed, with a proof of feasibility:
        the covers of all of them together, each paid by unconditional money, keep every rule."""
        market = parse_market(self.doc)
        proof = self.proof = _Proof(market)
        rng = self.rng
        # Value for money first, with some chance mixed in: contracted work is what looked good.
        order = sorted(market.challenges, key=lambda c: (-c.value / max(1, proof.reference(c)) * rng.uniform(0.6, 1.4),
                                                         c.id))
        wanted = max(1, len(market.challenges) // 20)
        fixed: list[str] = []
        for challenge in order:
            if len(fixed) == wanted:
                break
            covers = proof.complete(challenge)
            if covers:
                fixed.append(covers[rng.randrange(len(covers))].id)
        for actor in self.doc["actors"]:
            for bid in actor["bids"]:
                if bid["id"] in fixed:
                    bid["fixed"] = True
        self.counts["fixed"] = len(fixed)


class _Proof:
    """An allocation that accepts the covers of the challenges completed so far (single-item offers of the
    whole quantity, paid by pledges with no limit but their scope and amount) and keeps every rule:
    eligibility, reliability targets, actor budgets and loads, exclusive groups, and pledge amounts."""

    def __init__(self, market: Market) -> None:
        self.free = [p for p in market.pledges if not p.conditional and p.max_share is None and p.match is None]
        self.left = {p.id: p.amount for p in self.free}
        self.actors = {a.id: a for a in market.actors}
        self.budget = {a.id: 0 for a in market.actors}
        self.load: dict[str, float] = {a.id: 0 for a in market.actors}
        self.groups: set[tuple[str, str]] = set()
        self.accepted: list[str] = []                           # bid ids
        self.flows: dict[str, list[tuple[str, int]]] = {}       # pledge id -> [(component key, cents)]
        self.offers: dict[str, list[Bid]] = {}
        for bid in market.bids:
            if len(bid.items) == 1:
                self.offers.setdefault(bid.items[0].component, []).append(bid)
        for offers in self.offers.values():
            offers.sort(key=lambda b: (b.price, b.id))

    def reference(self, challenge: Challenge) -> int:
        return sum(min((b.price for b in self.offers.get(k.key, ())), default=0)
                   for k in challenge.components if k.critical)

    def complete(self, challenge: Challenge) -> list[Bid]:
        """Covers of every critical component that fit what is left, now reserved; [] when there are none."""
        budget, load, groups, left = dict(self.budget), dict(self.load), set(self.groups), dict(self.left)
        covers: list[Bid] = []
        payments: list[tuple[str, str, int]] = []
        reliability = 1.0
        for component in challenge.components:
            if not component.critical:
                continue
            cover = next((b for b in self.offers.get(component.key, ())
                          if _eligible(b, component) and self.fits(b, budget, load, groups)), None)
            paid = None if cover is None else _pay(challenge, component, cover.price, self.free, left)
            if cover is None or paid is None:
                return []
            payments += paid
            budget[cover.actor_id] += cover.price
            load[cover.actor_id] += cover.load
            if cover.exclusive_group is not None:
                groups.add((cover.actor_id, cover.exclusive_group))
            covers.append(cover)
            reliability *= cover.reliability
        if challenge.reliability is not None and reliability < challenge.reliability:
            return []
        self.budget, self.load, self.groups, self.left = budget, load, groups, left
        self.accepted += [b.id for b in covers]
        for pledge_id, key, cents in payments:
            self.flows.setdefault(pledge_id, []).append((key, cents))
        return covers

    def fits(self, bid: Bid, budget: dict[str, int], load: dict[str, float], groups: set[tuple[str, str]]) -> bool:
        capacity = self.actors[bid.actor_id].capacity
        if bid.exclusive_group is not None and (bid.actor_id, bid.exclusive_group) in groups:
            return False
        if capacity is None:
            return True
        return ((capacity.budget is None or budget[bid.actor_id] + bid.price <= capacity.budget)
                and (capacity.load is None or load[bid.actor_id] + bid.load <= capacity.load))


def _pay(challenge: Challenge, component: Component, price: int, free: list[Pledge], left: dict[str, int]
         ) -> list[tuple[str, str, int]] | None:
    """Take `price` from the pledges in `free` that admit the component, in market order: the payments
    (pledge id, component key, cents), or None when they cannot pay it all."""
    payments = []
    for pledge in free:
        if price == 0:
            break
        if left[pledge.id] and pledge.admits(challenge, component):
            paid = min(price, left[pledge.id])
            left[pledge.id] -= paid
            price -= paid
            payments.append((pledge.id, component.key, paid))
    return payments if price == 0 else None


def _eligible(bid: Bid, component: Component) -> bool:
    item = bid.items[0]
    if item.quantity < component.quantity:
        return False
    if component.max_unit_price is not None and item.price > item.quantity * component.max_unit_price:
        return False
    return component.min_reliability is None or bid.reliability >= component.min_reliability

