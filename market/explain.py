"""Why each bid won or lost, from a clearing run's market document and allocation alone.

Only what is public after the clearing is used in a message: the bid's own items, the awards, the
challenges' outcomes and the unfunded reasons as the bid's viewer may read them (`sealing`); never another
actor's losing bid.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from solver.money import format_money_grouped, parse_money

from .sealing import Viewer, reasons_for


@dataclass(frozen=True)
class BidOutcome:
    bid: str
    won: bool
    price_cents: int                  # the bid's price (paid in full when it won: pay as bid)
    reasons: tuple[str, ...]          # why it lost; empty when it won


def bid_outcome(market: dict[str, Any], allocation: dict[str, Any], bid_key: str, seer: Viewer) -> BidOutcome:
    """The outcome of one bid of the market document that was cleared (KeyError if it is not in it), as
    `seer` (its actor, or an analyst) may read it."""
    actor, bid = _find_bid(market, bid_key)
    price = sum(parse_money(item["price"]) for item in bid["items"])
    awarded = {a["bid"]: a for a in allocation.get("awards", [])}
    if bid_key in awarded:
        return BidOutcome(bid_key, True, parse_money(awarded[bid_key]["price"]), ())
    return BidOutcome(bid_key, False, price, tuple(_why_lost(market, allocation, actor, bid, price, awarded, seer)))


def _find_bid(market: dict[str, Any], bid_key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for actor in market.get("actors", []):
        for bid in actor.get("bids", []):
            if bid["id"] == bid_key:
                return actor, bid
    raise KeyError(bid_key)


def _money(cents: int, currency: str) -> str:
    return f"{format_money_grouped(cents)} {currency}"


def _why_lost(market: dict[str, Any], allocation: dict[str, Any], actor: dict[str, Any], bid: dict[str, Any],
              price: int, awarded: dict[str, dict[str, Any]], seer: Viewer) -> list[str]:
    currency = market.get("currency", "USD")
    components = {f"{c['id']}/{k['id']}": (c, k) for c in market.get("challenges", []) for k in c["components"]}
    reliability = bid.get("reliability", actor.get("reliability", 1))
    reasons: list[str] = []
    # 1. not eligible at all: reserve prices and reliability floors
    for item in bid["items"]:
        challenge, component = components[item["component"]]
        quantity = item.get("quantity", component.get("quantity", 1))
        if component.get("max_unit_price") is not None:
            reserve = parse_money(component["max_unit_price"]) * quantity
            if parse_money(item["price"]) > reserve:
                asked = _money(parse_money(item["price"]), currency)
                reasons.append(f"not eligible: the price for {item['component']} ({asked}) "
                               f"is above its reserve of {_money(reserve, currency)} for {quantity} unit(s)")
        floor = component.get("min_reliability")
        if floor is not None and reliability < floor:
            reasons.append(f"not eligible: reliability {reliability:g} is below the {floor:g} that {item['component']} "
                           f"requires")
    if reasons:
        return reasons
    # 2. one of the actor's own bids in the same exclusive group won
    group = bid.get("exclusive_group")
    if group is not None:
        for other in actor.get("bids", []):
            if other["id"] != bid["id"] and other.get("exclusive_group") == group and other["id"] in awarded:
                reasons.append(f'your bid "{other["id"]}" in the same exclusive group "{group}" won, '
                               "and at most one bid of a group is accepted")
    # 3. a challenge it touches was not completed
    results = {c["id"]: c for c in allocation.get("challenges", [])}
    unfunded = {u["challenge"]: u["reasons"] for u in allocation.get("unfunded", [])}
    touched = list(dict.fromkeys(item["component"].split("/")[0] for item in bid["items"]))
    for key in touched:
        if not results.get(key, {}).get("completed", False):
            why = "; ".join(reasons_for(unfunded.get(key, []), seer)) or "no reason recorded"
            reasons.append(f'challenge "{key}" was not completed, so none of its components was funded: {why}')
    if reasons:
        return reasons
    # 4. the challenges were completed with other bids
    covering: dict[str, list[tuple[str, int]]] = {}
    for award in awarded.values():
        for item in award["items"]:
            covering.setdefault(item["component"], []).append((award["bid"], parse_money(item["price"])))
    others = sorted({b for item in bid["items"] for b, _ in covering.get(item["component"], [])})
    funded = {f"{c['id']}/{k['id']}": k["funded"] for c in allocation.get("challenges", []) for k in c["components"]}
    unfunded_optional = [item["component"] for item in bid["items"] if not funded.get(item["component"], False)]
    if unfunded_optional:
        reasons.append("not funded: " + ", ".join(unfunded_optional) + " (an optional component whose extra value "
                       "did not fit the money in scope)")
    reasons.extend(_as_good(market, components, bid, reliability, awarded, currency))
    if others:
        rival = sum(p for item in bid["items"] for _, p in covering.get(item["component"], []))
        reasons.append(f"the same components were covered by other awarded bids ({', '.join(others)}) that together "
                       f"cost {_money(rival, currency)} on them, against your {_money(price, currency)}: the clearing "
                       "picks the cheapest combination that completes the most value within the pledges' limits, "
                       "reliability targets and actors' capacities")
    capacity = actor.get("capacity")
    if capacity and capacity.get("budget") is not None:
        won = sum(parse_money(a["price"]) for a in awarded.values() if a["actor"] == actor["id"])
        if won + price > parse_money(capacity["budget"]):
            budget = parse_money(capacity["budget"])
            reasons.append(f"your budget of {_money(budget, currency)} left room for "
                           f"{_money(max(0, budget - won), currency)} beside your winning bids")
    if not reasons:
        reasons.append("a combination of other bids completed the same value at a lower total cost")
    return reasons


def _as_good(market: dict[str, Any], components: dict[str, Any], bid: dict[str, Any], reliability: float,
             awarded: dict[str, dict[str, Any]], currency: str) -> list[str]:
    """Awarded bids with exactly this bid's items (components and quantities), priced no higher on any
    item and at least as reliable: offers at least as good for the same work (the clearing sets aside,
    before solving, a bid that such a bid can always stand in for: solver/dominance.py)."""
    def items(entries: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
        return {i["component"]: (i.get("quantity", components[i["component"]][1].get("quantity", 1)),
                                 parse_money(i["price"])) for i in entries}

    mine = items(bid["items"])
    bids = {b["id"]: (a, b) for a in market.get("actors", []) for b in a.get("bids", [])}
    out = []
    for award in awarded.values():
        theirs = items(award["items"])
        if award["bid"] == bid["id"] or theirs.keys() != mine.keys():
            continue
        if any(theirs[k][0] != mine[k][0] or theirs[k][1] > mine[k][1] for k in mine):
            continue
        owner, other = bids.get(award["bid"], ({}, {}))
        if other.get("reliability", owner.get("reliability", 1)) < reliability:
            continue
        price = sum(p for _, p in theirs.values())
        out.append(f'the awarded bid "{award["bid"]}" offers the same items, no dearer on any of them '
                   f"({_money(price, currency)} in all) and at least as reliable: an offer at least as good as "
                   "yours for the same work")
    return out
