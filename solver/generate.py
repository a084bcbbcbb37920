"""Synthetic water-and-sanitation markets of any size, for benchmarks and load tests.

`generate(challenges, funders, actors, seed)` returns a swarm-market/1 document
(plain JSON data) that uses every feature of the format: tag-, challenge- and
component-scoped pledges, unscoped money, max-share and matching pledges,
crowd pools of equal pledges; single bids, partial quantities, bundles inside a
challenge and across neighbouring challenges, exclusive alternatives, actor
budgets and loads; reliability targets and floors, reserve prices, optional
components that require others.

It is built to be as hard as a real programme, not to fall apart: challenges
sit in regions inside countries, and most money is tied to overlapping scopes
(a sector, a country, a region, one challenge) beside a share of unscoped
money, so the pledge scopes chain every challenge to every other. Money is
scarce: about half of what completing everything would cost. Actors work in a
few neighbouring regions, so their capacities and cross-challenge bundles link
challenges too.

Deterministic: one `random.Random(seed)` drawn from in a fixed order, so the
same arguments always give the same document, byte for byte once written.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any, TypedDict

from .generate_1_1 import add_1_1
from .money import format_money

FORMAT = "swarm-market/1"
VERSIONS = ("1", "1.1")           # of the format, for `swarm generate --format`


@dataclass(frozen=True, slots=True)
class Size:
    name: str
    challenges: int
    funders: int
    actors: int
    competition: float = 1.0      # bidders per component, as a multiple of the usual 1-4


# The sizes the benchmark names. XL is sized for about 100,000 bids: a programme three times L
# whose tenders draw three times the bidders (about 8 a component, as big public tenders do).
SIZES = {
    "S": Size("S", 20, 60, 30),
    "M": Size("M", 200, 600, 300),
    "L": Size("L", 1000, 3000, 1500),
    "XL": Size("XL", 3000, 9000, 4500, competition=3.0),
}

# (component id, unit, unit cost in USD, quantity range, skill an actor needs)
Part = tuple[str, str, int, tuple[int, int], str]


# Actors (as documents) who have a skill and work in a region.
Bidders = dict[tuple[str, int], list[dict[str, Any]]]


class Sector(TypedDict):
    sdg: str
    critical: list[Part]
    extra: list[Part]
    optional: list[Part]


# What a challenge of each sector is made of. The first entries are critical.
CATALOGUE: dict[str, Sector] = {
    "water": {
        "sdg": "sdg:6.1",
        "critical": [("boreholes", "borehole", 14000, (2, 16), "drilling"),
                     ("hand-pumps", "pump", 1300, (2, 16), "pumps"),
                     ("water-testing", "test", 180, (2, 16), "lab")],
        "extra": [("storage-tanks", "tank", 5200, (1, 6), "construction"),
                  ("pipeline", "km", 13000, (1, 10), "construction")],
        "optional": [("committee-training", "committee", 900, (1, 12), "training"),
                     ("om-fund", "fund", 6000, (1, 1), "finance")],
    },
    "sanitation": {
        "sdg": "sdg:6.2",
        "critical": [("latrine-blocks", "block", 4800, (4, 30), "construction"),
                     ("handwashing", "station", 650, (4, 30), "supplies")],
        "extra": [("faecal-sludge", "truck", 38000, (1, 2), "vehicles"),
                  ("sewer-connections", "connection", 420, (20, 120), "construction")],
        "optional": [("hygiene-clubs", "club", 300, (4, 30), "training"),
                     ("menstrual-hygiene", "kit", 40, (50, 400), "supplies")],
    },
    "wastewater": {
        "sdg": "sdg:6.3",
        "critical": [("treatment-plant", "plant", 160000, (1, 1), "engineering"),
                     ("collector-sewer", "km", 42000, (1, 6), "construction")],
        "extra": [("sludge-drying", "bed", 9000, (2, 8), "construction")],
        "optional": [("operator-training", "operator", 1200, (2, 10), "training"),
                     ("effluent-monitoring", "year", 8000, (1, 3), "lab")],
    },
    "efficiency": {
        "sdg": "sdg:6.4",
        "critical": [("leak-detection", "km", 900, (10, 80), "engineering"),
                     ("smart-meters", "meter", 110, (100, 900), "supplies")],
        "extra": [("pipe-replacement", "km", 15000, (1, 8), "construction")],
        "optional": [("billing-system", "system", 25000, (1, 1), "engineering"),
                     ("utility-training", "staff", 700, (4, 20), "training")],
    },
}
SECTORS = tuple(CATALOGUE)
SECTOR_WEIGHTS = (5, 3, 1, 1)
ACTOR_KINDS: dict[str, tuple[tuple[str, ...], int, float, tuple[float, float]]] = {
    # kind: (skills, share of actors, load per unit of work, reliability range)
    "drilling-firm": (("drilling", "pumps"), 14, 1.0, (0.82, 0.97)),
    "contractor": (("construction", "vehicles"), 28, 0.5, (0.80, 0.96)),
    "supplier": (("pumps", "supplies"), 18, 0.1, (0.90, 0.995)),
    "engineering-firm": (("engineering", "construction"), 10, 2.0, (0.85, 0.98)),
    "ngo": (("training", "finance", "supplies"), 18, 0.2, (0.85, 0.99)),
    "laboratory": (("lab",), 12, 0.05, (0.92, 0.995)),
}
SCARCITY = 0.5                    # money pledged / what completing every challenge would cost


def size_named(name: str) -> Size:
    try:
        return SIZES[name.upper()]
    except KeyError:
        raise ValueError(f"unknown size {name!r}; choose one of {', '.join(SIZES)}") from None


def generate(challenges: int, funders: int, actors: int, seed: int = 0, name: str | None = None,
             competition: float = 1.0, version: str = "1") -> dict[str, Any]:
    """`version` "1.1" lays funders' conditions, narrower scopes and fixed bids over the version-1 market
    of the same seed (generate_1_1.py); "1" is the version-1 market, byte for byte as it always was."""
    if challenges < 1 or funders < 1 or actors < 1:
        raise ValueError("challenges, funders and actors must each be at least 1")
    if not 0 < competition <= 20:
        raise ValueError("competition must be above 0 and at most 20")
    if version not in VERSIONS:
        raise ValueError(f"unknown format version {version!r}; choose one of {', '.join(VERSIONS)}")
    suffix = "" if competition == 1 else f"-x{competition:g}"
    suffix += "" if version == "1" else f"-v{version}"
    document = _Generator(challenges, funders, actors, seed, competition).document(
        name or f"generated-c{challenges}-f{funders}-a{actors}-s{seed}{suffix}")
    if version == "1.1":
        document = add_1_1(document, seed)
    return document


def to_json(document: dict[str, Any]) -> str:
    """One line per challenge, funder and actor: diffable, and compact enough for 100,000 bids."""
    lines = ["{"]
    head = {k: v for k, v in document.items() if not isinstance(v, list)}
    for key, value in head.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},")
    lists = [k for k, v in document.items() if isinstance(v, list)]
    for n, key in enumerate(lists):
        items = document[key]
        lines.append(f"  {json.dumps(key)}: [")
        for i, item in enumerate(items):
            comma = "," if i < len(items) - 1 else ""
            lines.append("    " + json.dumps(item, ensure_ascii=False, separators=(", ", ": ")) + comma)
        lines.append("  ]" + ("," if n < len(lists) - 1 else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


@dataclass
class _Challenge:
    id: str
    sector: str
    country: int
    region: int
    doc: dict[str, Any]
    cost: int                     # cents: what completing it would cost at reference prices
    parts: list[tuple[str, int, int, str, bool]]   # (component id, quantity, unit cost cents, skill, critical)


class _Generator:
    def __init__(self, challenges: int, funders: int, actors: int, seed: int, competition: float = 1.0) -> None:
        self.rng = random.Random(seed)
        self.competition = competition
        self.n_challenges, self.n_funders, self.n_actors = challenges, funders, actors
        # About 25 challenges a region and 4 regions a country: big enough to compete inside,
        # small enough that scopes overlap in many ways.
        self.n_regions = max(2, round(challenges / 25))
        self.n_countries = max(1, round(self.n_regions / 4))
        self.region_price = [round(self.rng.uniform(0.8, 1.3), 2) for _ in range(self.n_regions)]

    def country_of(self, region: int) -> int:
        return region * self.n_countries // self.n_regions

    def document(self, name: str) -> dict[str, Any]:
        challenges = self.make_challenges()
        actors = self.make_actors(challenges)
        funders = self.make_funders(challenges)
        return {
            "format": FORMAT,
            "name": name,
            "currency": "USD",
            "note": (f"Synthetic SDG 6 market (swarm generate): {self.n_challenges} challenges in "
                     f"{self.n_regions} regions of {self.n_countries} countries, {self.n_funders} funders, "
                     f"{self.n_actors} actors; money is about {SCARCITY:.0%} of the reference cost."),
            "challenges": [c.doc for c in challenges],
            "funders": funders,
            "actors": actors,
        }

    # -- challenges ---------------------------------------------------------------------

    def make_challenges(self) -> list[_Challenge]:
        rng = self.rng
        out = []
        for i in range(self.n_challenges):
            sector = rng.choices(SECTORS, SECTOR_WEIGHTS)[0]
            region = i * self.n_regions // self.n_challenges
            country = self.country_of(region)
            spec = CATALOGUE[sector]
            picked = list(spec["critical"])
            picked += [c for c in spec["extra"] if rng.random() < 0.4]
            optional = [c for c in spec["optional"] if rng.random() < 0.5]
            cid = f"{sector[:3]}-r{region:03d}-{i:05d}"
            components, parts, cost = [], [], 0
            for comp_id, unit, usd, (lo, hi), skill in picked + optional:
                critical = (comp_id, unit, usd, (lo, hi), skill) not in optional
                qty = rng.randint(lo, hi)
                unit_cents = round(usd * 100 * self.region_price[region])
                doc = {"id": comp_id, "unit": unit, "quantity": qty}
                if not critical:
                    doc["critical"] = False
                    doc["value"] = rng.randint(1, 20) * 50
                    # The last optional component needs the first one (an O&M fund needs a trained committee).
                    if len(optional) == 2 and comp_id == optional[1][0]:
                        doc["requires"] = [optional[0][0]]
                if critical and rng.random() < 0.08:
                    doc["max_unit_price"] = format_money(round(unit_cents * rng.uniform(0.95, 1.2)))
                if rng.random() < 0.06:
                    doc["min_reliability"] = rng.choice((0.85, 0.9))
                components.append(doc)
                parts.append((comp_id, qty, unit_cents, skill, critical))
                if critical:
                    cost += qty * unit_cents
            people = max(100, round(cost / 100 / rng.uniform(20, 120), -1))   # 20-120 USD a person served
            doc = {"id": cid, "title": f"{sector.title()} scheme {i} in region {region}",
                   "tags": [spec["sdg"], f"sector:{sector}", f"country:c{country:02d}", f"region:r{region:03d}"],
                   "value": int(people), "components": components}
            if rng.random() < 0.35:
                doc["reliability"] = rng.choice((0.6, 0.7, 0.75, 0.8))
            out.append(_Challenge(cid, sector, country, region, doc, cost, parts))
        return out

    # -- actors and bids -------------------------------------------------------------------

    def make_actors(self, challenges: list[_Challenge]) -> list[dict[str, Any]]:
        rng = self.rng
        kinds = list(ACTOR_KINDS)
        weights = [ACTOR_KINDS[k][1] for k in kinds]
        actors: list[dict[str, Any]] = []
        for a in range(self.n_actors):
            kind = rng.choices(kinds, weights)[0]
            skills, _, _, (lo, hi) = ACTOR_KINDS[kind]
            home = a * self.n_regions // self.n_actors
            reach = sorted({home} | {min(max(home + d, 0), self.n_regions - 1) for d in (-1, 1) if rng.random() < 0.5})
            actors.append({"id": f"{kind}-{a:05d}", "kind": kind, "skills": skills, "regions": reach,
                           "reliability": round(rng.uniform(lo, hi), 3), "bids": [], "load": 0.0})
        by_skill_region: Bidders = {}
        for actor in actors:
            for skill in actor["skills"]:
                for region in actor["regions"]:
                    by_skill_region.setdefault((skill, region), []).append(actor)

        for ch in challenges:
            self.bid_on(ch, by_skill_region)
        self.bid_across(challenges, by_skill_region)

        out = []
        for actor in actors:
            if not actor["bids"]:
                continue
            doc = {"id": actor["id"], "name": f"{actor['kind'].replace('-', ' ')} {actor['id'][-5:]}",
                   "reliability": actor["reliability"]}
            total = sum(int(round(float(b["items"][0]["price"]) * 100)) for b in actor["bids"] if len(b["items"]) == 1)
            if len(actor["bids"]) >= 3 and rng.random() < 0.6:
                capacity: dict[str, object] = {"load": round(actor["load"] * rng.uniform(0.35, 0.7), 1)}
                if rng.random() < 0.3 and total:
                    capacity["budget"] = format_money(round(total * rng.uniform(0.4, 0.8)))
                doc["capacity"] = capacity
            doc["bids"] = actor["bids"]
            out.append(doc)
        return out

    def _bidders(self, skill: str, region: int, by_skill_region: Bidders, count: int) -> list[dict[str, Any]]:
        pool = by_skill_region.get((skill, region), [])
        if not pool:
            # Nobody local: firms from anywhere with the skill may come (rare on big markets).
            pool = [a for (s, _), group in sorted(by_skill_region.items()) if s == skill for a in group]
        if not pool:
            return []
        return self.rng.sample(pool, min(count, len(pool)))

    def _add_bid(self, actor: dict[str, Any], items: list[tuple[str, int, int]], load_units: float,
                 reliability: float | None = None, group: str | None = None) -> None:
        bid: dict[str, object] = {"id": f"{actor['id']}-b{len(actor['bids']) + 1:03d}",
                                  "items": [{"component": c, "quantity": q, "price": format_money(p)}
                                            for c, q, p in items]}
        load = round(load_units * ACTOR_KINDS[actor["kind"]][2], 2)
        if load:
            bid["load"] = load
            actor["load"] += load
        if reliability is not None:
            bid["reliability"] = reliability
        if group is not None:
            bid["exclusive_group"] = group
        actor["bids"].append(bid)

    def bid_on(self, ch: _Challenge, by_skill_region: Bidders) -> None:
        rng = self.rng
        for comp_id, qty, unit_cents, skill, _critical in ch.parts:
            key = f"{ch.id}/{comp_id}"
            wanted = max(1, round(rng.choice((1, 2, 2, 3, 3, 4)) * self.competition))
            bidders = self._bidders(skill, ch.region, by_skill_region, wanted)
            for actor in bidders:
                markup = rng.uniform(0.82, 1.35)
                if qty >= 4 and rng.random() < 0.25:
                    # Partial offers: a firm that can do only part of the job, in one or two lots.
                    part = rng.randint(qty // 3, (2 * qty) // 3)
                    for lot in (part, qty - part) if rng.random() < 0.5 else (part,):
                        self._add_bid(actor, [(key, lot, round(lot * unit_cents * markup))], lot)
                    continue
                reliability = None
                if rng.random() < 0.1:   # a premium, more reliable offer (bid's own reliability)
                    reliability = round(min(0.995, actor["reliability"] + rng.uniform(0.02, 0.08)), 3)
                    markup *= 1.15
                self._add_bid(actor, [(key, qty, round(qty * unit_cents * markup))], qty, reliability)
        # Bundles inside the challenge: a firm with two of the skills offers both parts together at a
        # discount, as an exclusive alternative to its single bids on them.
        for n in range(len(ch.parts) - 1):
            first, second = ch.parts[n], ch.parts[n + 1]
            if rng.random() > 0.35:
                continue
            both = [a for a in by_skill_region.get((first[3], ch.region), []) if second[3] in a["skills"]]
            if not both:
                continue
            actor = rng.choice(both)
            discount = rng.uniform(0.78, 0.95)
            group = f"{ch.id}:{first[0]}+{second[0]}"
            items = [(f"{ch.id}/{c}", q, round(q * u * discount * rng.uniform(0.95, 1.1))) for c, q, u, _, _ in
                     (first, second)]
            self._add_bid(actor, items, first[1] + second[1], group=group)
            # The same firm's separate offers, in the same exclusive group: either the bundle or the parts.
            for c, q, u, _, _ in (first, second):
                self._add_bid(actor, [(f"{ch.id}/{c}", q, round(q * u * rng.uniform(0.9, 1.25)))], q, group=group)

    def bid_across(self, challenges: list[_Challenge], by_skill_region: Bidders) -> None:
        """Bundles over two challenges of one region: the same work twice, with one mobilisation."""
        rng = self.rng
        by_region: dict[int, list[_Challenge]] = {}
        for ch in challenges:
            by_region.setdefault(ch.region, []).append(ch)
        for region in sorted(by_region):
            group = by_region[region]
            for _ in range(max(1, len(group) // 5)):
                if len(group) < 2:
                    break
                a, b = rng.sample(group, 2)
                shared = [(pa, pb) for pa in a.parts for pb in b.parts if pa[0] == pb[0] and pa[4] and pb[4]]
                if not shared:
                    continue
                pa, pb = rng.choice(shared)
                bidders = [x for x in by_skill_region.get((pa[3], region), [])]
                if not bidders:
                    continue
                actor = rng.choice(bidders)
                discount = rng.uniform(0.8, 0.95)
                items = [(f"{a.id}/{pa[0]}", pa[1], round(pa[1] * pa[2] * discount)),
                         (f"{b.id}/{pb[0]}", pb[1], round(pb[1] * pb[2] * discount))]
                self._add_bid(actor, items, pa[1] + pb[1])

    # -- funders and pledges ---------------------------------------------------------------

    def make_funders(self, challenges: list[_Challenge]) -> list[dict[str, Any]]:
        rng = self.rng
        total = sum(c.cost for c in challenges)
        budget = total * SCARCITY
        by_region: dict[int, list[_Challenge]] = {}
        for ch in challenges:
            by_region.setdefault(ch.region, []).append(ch)
        # (kind, share of funders, share of money)
        kinds = [("foundation", 6, 0.30), ("agency", 6, 0.22), ("government", 14, 0.16),
                 ("corporate", 14, 0.12), ("diaspora", 30, 0.08), ("matching", 5, 0.05), ("crowd", 25, 0.07)]
        counts = _apportion(self.n_funders, [k[1] for k in kinds])
        funders: list[dict[str, Any]] = []
        for (kind, _, money_share), count in zip(kinds, counts):
            if count == 0:
                continue
            weights = [rng.paretovariate(1.6) for _ in range(count)]
            scale = budget * money_share / sum(weights)
            crowd_amount = _round_amount(budget * money_share / count)
            for n, weight in enumerate(weights):
                fid = f"{kind}-{len(funders):05d}"
                amount = crowd_amount if kind == "crowd" else _round_amount(weight * scale)
                pledges = self.pledges_of(kind, fid, amount, challenges, by_region, n)
                funders.append({"id": fid, "name": f"{kind} {len(funders)}", "pledges": pledges})
        return funders

    def pledges_of(self, kind: str, fid: str, amount: int, challenges: list[_Challenge],
                   by_region: dict[int, list[_Challenge]], n: int) -> list[dict[str, Any]]:
        rng = self.rng
        region = rng.randrange(self.n_regions)
        country = self.country_of(region)
        sector = rng.choices(SECTORS, SECTOR_WEIGHTS)[0]
        scopes: list[dict[str, Any] | None]
        limits: dict[str, object] = {}
        if kind == "foundation":        # broad: unscoped, or a goal across countries
            scopes = [None] if rng.random() < 0.5 else [{"tags": [CATALOGUE[sector]["sdg"]]}]
            if rng.random() < 0.5:
                other = self.country_of(rng.randrange(self.n_regions))
                scopes.append({"tags": [f"country:c{country:02d}", f"country:c{other:02d}"]})
        elif kind == "agency":          # a country, sometimes one sector of it
            scopes = [{"tags": [f"country:c{country:02d}"]}]
            if rng.random() < 0.4:
                scopes.append({"tags": [f"sector:{sector}"]})
            if rng.random() < 0.3:
                limits["max_share"] = rng.choice((0.5, 0.6, 0.75))
        elif kind == "government":      # its own region
            scopes = [{"tags": [f"region:r{region:03d}"]}]
        elif kind == "corporate":       # where it operates: one or two regions, paying part of any component
            near = min(region + 1, self.n_regions - 1)
            tags = [f"region:r{region:03d}"] + ([f"region:r{near:03d}"] if rng.random() < 0.4 else [])
            scopes = [{"tags": tags}]
            limits["max_share"] = rng.choice((0.25, 0.5))
        elif kind == "diaspora":        # one or two challenges back home, or one component
            local = by_region[region] if region in by_region else challenges
            picks = rng.sample(local, min(len(local), rng.choice((1, 1, 2))))
            if rng.random() < 0.25:
                ch = picks[0]
                comp = rng.choice([p for p in ch.parts if p[4]])
                scopes = [{"components": [f"{ch.id}/{comp[0]}"]}]
            else:
                scopes = [{"challenges": [c.id for c in picks]}]
        elif kind == "matching":        # matches what others give in a region or a country
            area = f"region:r{region:03d}" if rng.random() < 0.6 else f"country:c{country:02d}"
            scopes = [{"tags": [area]}]
            limits["match"] = rng.choice((0.5, 1.0))
        else:                           # crowd: many equal pledges to one of a few regional appeals
            scopes = [{"tags": [f"region:r{(n * 7) % self.n_regions:03d}"]}]
        pledges = []
        parts = _split(amount, len(scopes), rng)
        for i, (scope, part) in enumerate(zip(scopes, parts)):
            if part <= 0:
                continue
            pledge: dict[str, object] = {"id": f"{fid}-p{i + 1}", "amount": format_money(part)}
            if scope is not None:
                pledge["scope"] = {k: sorted(set(v)) for k, v in scope.items()}
            if i == 0:                  # a cap or a match ratio belongs to the funder's main programme
                pledge.update(limits)
            pledges.append(pledge)
        return pledges


def _apportion(total: int, weights: list[int]) -> list[int]:
    """`total` split by `weights` into whole numbers that sum to `total` (largest remainders)."""
    raw = [total * w / sum(weights) for w in weights]
    counts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _round_amount(cents: float) -> int:
    """Funders pledge round sums: to 1,000 USD above 10,000, else to 100 USD (at least 100 USD)."""
    step = 100_000 if cents >= 1_000_000 else 10_000
    return max(10_000, int(round(cents / step)) * step)


def _split(amount: int, parts: int, rng: random.Random) -> list[int]:
    if parts == 1:
        return [amount]
    first = _round_amount(amount * rng.uniform(0.4, 0.7))
    return [min(first, amount), max(amount - first, 0)]
