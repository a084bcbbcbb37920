"""Sealed bids: an actor adds, changes and withdraws its own, only while the round is open (who may: `access`).
Each write locks the round shared, as a pledge's does (`pledges`)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import schemas
from ..errors import Forbidden, InvalidInput, WrongState
from ..models import Bid, BidItem, Role, User, utcnow
from ..repair_market import awarded_bid_ids
from .access import bid_for
from .common import audit, flush_new, given_key, lock_round, named_components
from .fixing import require_not_fixed
from .participants import open_round_for_bid


def bid(session: Session, user: User | None, round_id: int, data: dict[str, Any]) -> Bid:
    """Add a bid `{"id"?, "items": [{"component": "c/k", "quantity"?, "price"}], "reliability"?, "load"?,
    "exclusive_group"?}` (plus `"actor"` from the command line, which must give the id; a signed-in user's is
    given here when left out: `given_key`)."""
    values = schemas.load(schemas.made(schemas.BidSchema), given_key(user, "b", data))
    rnd, actor = open_round_for_bid(session, user, round_id, values)
    if session.execute(select(Bid.id).where(Bid.round_id == rnd.id, Bid.key == values["id"])).first():
        raise InvalidInput({"id": f'bid id "{values["id"]}" is already used in round {rnd.id}'})
    items = _items(session, rnd.id, values["items"])
    row = Bid(round_id=rnd.id, actor=actor, key=values["id"], reliability=values.get("reliability"),
              load=values.get("load", 0), exclusive_group=values.get("exclusive_group"), items=items,
              standby_days=values.get("standby_days"), standby_price_cents=values.get("standby_price"))
    session.add(row)
    flush_new(session, "bid", row.key, rnd.id)
    audit(session, user, "create", "bid", row.id, rnd.id, key=row.key, actor=actor.key, **_state(row))
    return row


def change_bid(session: Session, user: User | None, round_id: int, key: str, data: dict[str, Any]) -> Bid:
    """Change some of items (replaced whole), reliability, load, exclusive_group."""
    values = schemas.load(schemas.made(schemas.BidSchema, ("id", "actor")), data, partial=True)
    rnd = lock_round(session, round_id, shared=True)
    row = bid_for(session, user, rnd.id, key, change=True, doing="bids change")
    require_not_fixed(row)
    before = _state(row)
    if "items" in values:
        items = _items(session, rnd.id, values["items"])
        row.items.clear()
        session.flush()                       # old items go before new ones may reuse their components
        row.items.extend(items)
    for name in ("reliability", "load", "exclusive_group", "standby_days"):
        if name in values:
            setattr(row, name, values[name])
    if "standby_price" in values or ("standby_days" in values and values["standby_days"] is None):
        row.standby_price_cents = values.get("standby_price")
    if row.standby_price_cents is not None and row.standby_days is None:
        raise InvalidInput({"standby_price": "a standby price needs the days the bid stands by (standby_days)"})
    row.changed_at = utcnow()
    session.flush()
    audit(session, user, "change", "bid", row.id, rnd.id, key=row.key, before=before, after=_state(row))
    return row


def withdraw_bid(session: Session, user: User | None, round_id: int, key: str) -> Bid:
    """The bid stays on record, marked withdrawn; it takes no part in the clearing."""
    rnd = lock_round(session, round_id, shared=True)
    row = bid_for(session, user, rnd.id, key, change=True, doing="bids are withdrawn")
    require_not_fixed(row)
    row.withdrawn = True
    row.changed_at = utcnow()
    session.flush()
    audit(session, user, "withdraw", "bid", row.id, rnd.id, key=row.key)
    return row


def _items(session: Session, round_id: int, raw: list[dict[str, Any]]) -> list[BidItem]:
    components = named_components(session, round_id, [item["component"] for item in raw])
    problems = {}
    items = []
    for i, item in enumerate(raw):
        component = components.get(item["component"])
        if component is None:
            problems[f"items[{i}].component"] = f'unknown component "{item["component"]}" in round {round_id}'
            continue
        items.append(BidItem(component=component, quantity=item.get("quantity"), price_cents=item["price"],
                             position=i))
    if problems:
        raise InvalidInput(problems)
    return items


def _state(row: Bid) -> dict[str, Any]:
    return {"items": [{"component_id": i.component_id, "quantity": i.quantity, "price_cents": i.price_cents}
                      for i in row.items],
            "reliability": row.reliability, "load": row.load, "exclusive_group": row.exclusive_group,
            "standby_days": row.standby_days, "standby_price_cents": row.standby_price_cents}


def withdraw_standby(session: Session, user: User | None, round_id: int, key: str) -> Bid:
    """Its actor withdraws a bid's standby offer, after the clearing too, until a repair calls the bid in (then
    it is a contract). The bid itself stays as it was."""
    lock_round(session, round_id, shared=True)
    row = bid_for(session, user, round_id, key, change=True)
    if user is not None and user.role != Role.ACTOR:
        raise Forbidden("a standby offer is withdrawn by its actor")
    if row.standby_days is None:
        raise WrongState(f"bid {key!r} offers no standby")
    if row.standby_withdrawn_at is not None:
        raise WrongState(f"bid {key!r}'s standby offer is withdrawn already")
    if row.id in awarded_bid_ids(session, round_id):
        raise WrongState(f"bid {key!r} is awarded: it is a contract, no longer a standby offer")
    row.standby_withdrawn_at = utcnow()
    session.flush()
    audit(session, user, "withdraw standby", "bid", row.id, round_id, key=row.key)
    return row
