"""A round as a market: the `swarm-market/1` document built from the database, then read by the
solver's own loader (`solver.loading.parse_market`), exactly as a market file would be. A round that uses a
key of version 1.1 (a pledge's min_spend, max_challenge_share, conditions, its scope's all_tags or
exclude_tags, a fixed bid) gives a `swarm-market/1.1` document; any other the very bytes of version 1.

Withdrawn pledges and bids are left out, and so are those an analyst excluded (services.exclude).
Everything is in a fixed order (positions, then ids), so the same round gives the same document and the
same digest.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from solver.loading import FORMAT, FORMAT_1_1, parse_market
from solver.market import Market
from solver.money import format_money

from .models import Bid, BidItem, Challenge, Pledge, Round, RoundActor, RoundFunder
from .records import Record, declared_reliability, records

PLEDGE_KEYS_1_1 = ("min_spend", "max_challenge_share", "conditions")
SCOPE_KEYS_1_1 = ("all_tags", "exclude_tags")


def number(value: float | int) -> float | int:
    """Whole numbers as integers, so documents read like hand-written ones."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def round_document(session: Session, rnd: Round) -> dict[str, Any]:
    challenges = session.execute(
        select(Challenge).where(Challenge.round_id == rnd.id).order_by(Challenge.position, Challenge.id)
        .options(selectinload(Challenge.components))).scalars().all()
    funders = session.execute(select(RoundFunder).where(RoundFunder.round_id == rnd.id)
                              .order_by(RoundFunder.position, RoundFunder.id)).scalars().all()
    actors = session.execute(select(RoundActor).where(RoundActor.round_id == rnd.id)
                             .order_by(RoundActor.position, RoundActor.id)).scalars().all()
    pledges: dict[int, list[Pledge]] = {}
    for p in session.execute(select(Pledge).where(Pledge.round_id == rnd.id, Pledge.withdrawn.is_(False),
                                                 Pledge.excluded_at.is_(None), Pledge.tender_failure_id.is_(None))
                             .order_by(Pledge.id)).scalars():
        pledges.setdefault(p.funder_id, []).append(p)
    bids: dict[int, list[Bid]] = {}
    for b in session.execute(select(Bid).where(Bid.round_id == rnd.id, Bid.withdrawn.is_(False),
                                              Bid.excluded_at.is_(None), Bid.tender_failure_id.is_(None))
                             .order_by(Bid.id)
                             .options(selectinload(Bid.items).selectinload(BidItem.component))).scalars():
        bids.setdefault(b.actor_id, []).append(b)
    paths = {k.id: f"{c.key}/{k.key}" for c in challenges for k in c.components}

    doc: dict[str, Any] = {"format": FORMAT, "name": rnd.name, "currency": rnd.currency}
    if rnd.note:
        doc["note"] = rnd.note
    doc["challenges"] = [challenge_entry(c) for c in challenges]
    doc["funders"] = [_funder(f, pledges.get(f.id, [])) for f in funders]
    known = records(session, [a.id for a in actors]) if rnd.reliability_source == "track_record" else {}
    doc["actors"] = [_actor(a, bids.get(a.id, []), paths, known.get(a.id)) for a in actors]
    if uses_1_1(doc):
        doc["format"] = FORMAT_1_1
    return doc


def uses_1_1(doc: dict[str, Any]) -> bool:
    """Whether the document writes a key of version 1.1 (as `Market.uses_1_1` says of the market read)."""
    pledges = [p for f in doc["funders"] for p in f["pledges"]]
    return (any(key in p for p in pledges for key in PLEDGE_KEYS_1_1)
            or any(key in (p.get("scope") or {}) for p in pledges for key in SCOPE_KEYS_1_1)
            or any(b.get("fixed") for a in doc["actors"] for b in a["bids"]))


def challenge_entry(c: Challenge) -> dict[str, Any]:
    out: dict[str, Any] = {"id": c.key}
    if c.title is not None:
        out["title"] = c.title
    if c.tags:
        out["tags"] = list(c.tags)
    out["value"] = number(c.value)
    if c.reliability is not None:
        out["reliability"] = number(c.reliability)
    components = []
    for k in c.components:
        item: dict[str, Any] = {"id": k.key}
        for key in ("title", "unit"):
            if getattr(k, key) is not None:
                item[key] = getattr(k, key)
        item["quantity"] = k.quantity
        item["critical"] = k.critical
        if not k.critical and k.value:
            item["value"] = number(k.value)
        if k.requires:
            item["requires"] = list(k.requires)
        if k.min_reliability is not None:
            item["min_reliability"] = number(k.min_reliability)
        if k.max_unit_price_cents is not None:
            item["max_unit_price"] = format_money(k.max_unit_price_cents)
        components.append(item)
    out["components"] = components
    return out


def _funder(f: RoundFunder, pledges: list[Pledge]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": f.key}
    if f.name is not None:
        out["name"] = f.name
    out["pledges"] = [pledge_entry(p, p.amount_cents) for p in pledges]
    return out


def pledge_entry(p: Pledge, amount_cents: int, min_spend: bool = True) -> dict[str, Any]:
    """A pledge as a market file writes it, for `amount_cents` (a repair market: what it holds in escrow there)."""
    item: dict[str, Any] = {"id": p.key, "amount": format_money(amount_cents)}
    if p.scope is not None:
        item["scope"] = {k: list(v) for k, v in p.scope.items()}
    if p.max_share is not None:
        item["max_share"] = number(p.max_share)
    if p.match is not None:
        item["match"] = number(p.match)
    if min_spend and p.min_spend_cents is not None:
        item["min_spend"] = format_money(p.min_spend_cents)
    if p.max_challenge_share is not None:
        item["max_challenge_share"] = number(p.max_challenge_share)
    if p.conditions:
        item["conditions"] = [{"funder": c["funder"], "min": format_money(c["min_cents"])} for c in p.conditions]
    return item


def _actor(a: RoundActor, bids: list[Bid], paths: dict[int, str], record: Record | None = None) -> dict[str, Any]:
    """The actor as a market file writes it; with its track `record` (a round clearing on track records), each
    bid carries the record's estimate with its declared reliability as the prior (market/records.py)."""
    out: dict[str, Any] = {"id": a.key}
    if a.name is not None:
        out["name"] = a.name
    if a.reliability is not None:
        out["reliability"] = number(a.reliability)
    if a.has_capacity:
        capacity: dict[str, Any] = {}
        if a.budget_cents is not None:
            capacity["budget"] = format_money(a.budget_cents)
        if a.capacity_load is not None:
            capacity["load"] = number(a.capacity_load)
        out["capacity"] = capacity
    out["bids"] = []
    for b in bids:
        item: dict[str, Any] = {"id": b.key, "items": []}
        for i in b.items:
            entry: dict[str, Any] = {"component": paths[i.component_id]}
            if i.quantity is not None:
                entry["quantity"] = i.quantity
            entry["price"] = format_money(i.price_cents)
            item["items"].append(entry)
        if record is not None:
            declared = declared_reliability(b, a)
            item["reliability"] = number(round(record.estimate(declared), 9))
        elif b.reliability is not None:
            item["reliability"] = number(b.reliability)
        if b.load:
            item["load"] = number(b.load)
        if b.exclusive_group is not None:
            item["exclusive_group"] = b.exclusive_group
        if b.fixed:
            item["fixed"] = True
        out["bids"].append(item)
    return out


def digest(document: dict[str, Any]) -> str:
    """sha256 of the document's canonical JSON: the clearing's input, fingerprinted."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_market(document: dict[str, Any], source: str = "") -> Market:
    """The solver's Market, through the same loader as a market file."""
    return parse_market(document, source)
