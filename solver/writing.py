"""Writing a `Market` back to a market document: the loader's inverse.

`market_document(market)` is plain JSON data that loads (solver.loading) to an equal Market. It says
"swarm-market/1.1" and writes the version-1.1 keys exactly when the market uses one
(`Market.uses_1_1`); any other market is written as version 1, as it always was. Defaults are left
out, and so are the quantities and reliabilities a bid did not state, so that they load as defaults
again. Money is written as two-decimal strings.
"""
from __future__ import annotations

from typing import Any

from .generate import to_json
from .loading import FORMAT, FORMAT_1_1
from .market import Actor, Bid, Challenge, Component, Funder, Market, Pledge, Scope
from .money import format_money


def market_document(market: Market) -> dict[str, Any]:
    doc: dict[str, Any] = {"format": FORMAT_1_1 if market.uses_1_1 else FORMAT, "name": market.name,
                           "currency": market.currency}
    if market.note is not None:
        doc["note"] = market.note
    doc["challenges"] = [_challenge(c) for c in market.challenges]
    doc["funders"] = [_funder(f) for f in market.funders]
    doc["actors"] = [_actor(a) for a in market.actors]
    return doc


def market_json(market: Market) -> str:
    """The document as text, one line per challenge, funder and actor (as `swarm generate` writes)."""
    return to_json(market_document(market))


def _challenge(challenge: Challenge) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": challenge.id}
    _put(doc, "title", challenge.title)
    if challenge.tags:
        doc["tags"] = list(challenge.tags)
    if challenge.value:
        doc["value"] = challenge.value
    _put(doc, "reliability", challenge.reliability)
    doc["components"] = [_component(k) for k in challenge.components]
    return doc


def _component(component: Component) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": component.id}
    _put(doc, "title", component.title)
    _put(doc, "unit", component.unit)
    if component.quantity != 1:
        doc["quantity"] = component.quantity
    if not component.critical:
        doc["critical"] = False
        if component.value:
            doc["value"] = component.value
    if component.requires:
        doc["requires"] = list(component.requires)
    _put(doc, "min_reliability", component.min_reliability)
    if component.max_unit_price is not None:
        doc["max_unit_price"] = format_money(component.max_unit_price)
    return doc


def _funder(funder: Funder) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": funder.id}
    _put(doc, "name", funder.name)
    doc["pledges"] = [_pledge(p) for p in funder.pledges]
    return doc


def _pledge(pledge: Pledge) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": pledge.id, "amount": format_money(pledge.amount)}
    if pledge.scope is not None:
        doc["scope"] = _scope(pledge.scope)
    _put(doc, "max_share", pledge.max_share)
    _put(doc, "match", pledge.match)
    if pledge.min_spend is not None:
        doc["min_spend"] = format_money(pledge.min_spend)
    _put(doc, "max_challenge_share", pledge.max_challenge_share)
    if pledge.conditions:
        doc["conditions"] = [{"funder": c.funder_id, "min": format_money(c.min)} for c in pledge.conditions]
    return doc


def _scope(scope: Scope) -> dict[str, Any]:
    # Empty lists are left out: they change nothing, and a version-1 file may not carry the 1.1 keys.
    lists = {"challenges": scope.challenges, "components": scope.components, "tags": scope.tags,
             "all_tags": scope.all_tags, "exclude_tags": scope.exclude_tags}
    return {key: list(values) for key, values in lists.items() if values}


def _actor(actor: Actor) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": actor.id}
    _put(doc, "name", actor.name)
    if actor.reliability != 1:
        doc["reliability"] = actor.reliability
    if actor.capacity is not None:
        capacity: dict[str, Any] = {}
        if actor.capacity.budget is not None:
            capacity["budget"] = format_money(actor.capacity.budget)
        _put(capacity, "load", actor.capacity.load)
        doc["capacity"] = capacity
    doc["bids"] = [_bid(b) for b in actor.bids]
    return doc


def _bid(bid: Bid) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for item in bid.items:
        entry: dict[str, Any] = {"component": item.component}
        if item.quantity_given:
            entry["quantity"] = item.quantity
        entry["price"] = format_money(item.price)
        items.append(entry)
    doc: dict[str, Any] = {"id": bid.id, "items": items}
    if bid.reliability_given:
        doc["reliability"] = bid.reliability
    if bid.load:
        doc["load"] = bid.load
    _put(doc, "exclusive_group", bid.exclusive_group)
    if bid.fixed:
        doc["fixed"] = True
    return doc


def _put(doc: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        doc[key] = value
