"""Repair on a market file (issue 18): when accepted bids fail, re-clear the challenges they touch as a repair market
(market format 1.1), as the database does after an award failure (market/repair_market.py), for `swarm simulate
--repair`.

The repair market of a set of failed accepted bids: the completed challenges they touch; every other accepted bid
on them as a fixed bid (its items on those challenges, at their prices: in a simulation nothing is paid yet); every
losing bid wholly on those challenges, of an actor other than the failing ones, as a standby bid (a market file
says nothing of standby offers, so each losing bid is taken to stand by at its own price); each pledge's flows
into those challenges as a pledge of that amount (its min_spend dropped: it was met by the clearing); no
capacities (they bounded the clearing). Accepted bids keep their exclusive groups.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..clearing import clear
from ..loading import FORMAT_1_1, parse_market
from ..market import Market
from ..money import format_money, parse_money
from ..solving import ClearOptions
from ..writing import market_document

OPTIONS = ClearOptions(explain=False, workers=1)


def narrow_scope(scope: dict[str, Any], challenges: set[str]) -> dict[str, Any]:
    """A pledge's scope in a repair market: the challenges and components it names that the repair market has
    (a market file may not name others); tags stay as they are."""
    kept = dict(scope)
    if "challenges" in kept:
        kept["challenges"] = [c for c in kept["challenges"] if c in challenges]
    if "components" in kept:
        kept["components"] = [k for k in kept["components"] if k.split("/", 1)[0] in challenges]
    return kept


def repair_document(market: Market, allocation: dict[str, Any], challenges: set[str],
                    failed: Iterable[str], standby_percent: int = 100) -> dict[str, Any]:
    """The repair market of `challenges` once the accepted bids `failed` failed; standby bids at
    `standby_percent` of their own prices (whole cents, rounded down)."""
    failed = set(failed)
    doc = market_document(market)
    accepted = {a["bid"] for a in allocation.get("awards", [])}
    effective = {b.id: b.reliability for b in market.bids}
    failing = {b.actor_id for b in market.bids if b.id in failed}       # a failing actor does not replace itself

    def on(path: str) -> bool:
        return path.split("/", 1)[0] in challenges

    actors = []
    for actor in doc["actors"]:
        bids = []
        for bid in actor["bids"]:
            if bid["id"] in failed:
                continue
            inside = [item for item in bid["items"] if on(item["component"])]
            if not inside:
                continue
            if bid["id"] in accepted:
                fixed = {"id": bid["id"], "items": inside, "reliability": effective[bid["id"]], "fixed": True}
                if bid.get("exclusive_group") is not None:
                    fixed["exclusive_group"] = bid["exclusive_group"]
                bids.append(fixed)
            elif len(inside) == len(bid["items"]) and actor["id"] not in failing:
                priced = [{**item, "price": format_money(parse_money(item["price"]) * standby_percent // 100)}
                          for item in inside]
                standby = {"id": bid["id"], "items": priced, "reliability": effective[bid["id"]]}
                if bid.get("exclusive_group") is not None:
                    standby["exclusive_group"] = bid["exclusive_group"]
                bids.append(standby)
        if bids:
            actors.append({"id": actor["id"], "bids": bids})
    paid: dict[str, int] = {}
    for flow in allocation.get("flows", []):
        if on(flow["component"]):
            paid[flow["pledge"]] = paid.get(flow["pledge"], 0) + parse_money(flow["amount"])
    named = {c["funder"] for f in doc["funders"] for p in f["pledges"] if p["id"] in paid
             for c in p.get("conditions", [])}
    funders = []
    for funder in doc["funders"]:
        pledges = []
        for pledge in funder["pledges"]:
            if paid.get(pledge["id"], 0) > 0:
                kept = {k: v for k, v in pledge.items() if k != "min_spend"}
                kept["amount"] = format_money(paid[pledge["id"]])
                if "scope" in kept:
                    kept["scope"] = narrow_scope(kept["scope"], challenges)
                pledges.append(kept)
        if pledges or funder["id"] in named:
            funders.append({"id": funder["id"], "pledges": pledges})
    return {"format": FORMAT_1_1, "name": f"{market.name or 'market'}: repair", "currency": market.currency,
            "challenges": [c for c in doc["challenges"] if c["id"] in challenges], "funders": funders,
            "actors": actors}


@dataclass(frozen=True)
class Repaired:
    """What a repair gives: the challenges it completes and the standby bids it calls in (None: infeasible)."""
    completed: frozenset[str]
    called: tuple[str, ...]


class Repairer:
    """Repairs of one market and allocation, each solved once (a simulation meets the same ones again)."""

    def __init__(self, market: Market, allocation: dict[str, Any], options: ClearOptions = OPTIONS,
                 standby_percent: int = 100) -> None:
        self.market, self.allocation, self.options = market, allocation, options
        self.standby_percent = standby_percent
        self.accepted = {a["bid"] for a in allocation.get("awards", [])}
        self.cache: dict[tuple[frozenset[str], frozenset[str]], Repaired | None] = {}

    def repair(self, challenges: frozenset[str], failed: frozenset[str]) -> Repaired | None:
        key = (challenges, failed)
        if key not in self.cache:
            doc = repair_document(self.market, self.allocation, set(challenges), failed, self.standby_percent)
            result = clear(parse_market(doc, "repair"), self.options)
            if result.status == "infeasible":
                self.cache[key] = None
            else:
                self.cache[key] = Repaired(frozenset(c.id for c in result.challenges if c.completed),
                                           tuple(sorted(a.bid for a in result.awards if a.bid not in self.accepted)))
        return self.cache[key]
