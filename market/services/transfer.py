"""Market files in and out: `import_market` makes an open round of a checked Market;
`export_round` gives the round back as a `swarm-market/1` document (`swarm-market/1.1` when the round uses a
key of version 1.1: market.snapshot)."""
from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.orm import Session

from solver.market import Market

from ..errors import InvalidInput
from ..models import Bid, BidItem, Challenge, Component, Pledge, Round, RoundActor, RoundFunder, RoundStatus, User
from ..snapshot import round_document
from ..text import text_problem
from .common import STAFF, audit, get_round, require_role
from .pledges import SCOPE_KEYS

# Why a bid the market file says is fixed is fixed: the file does not say, and every fixed bid has a reason.
IMPORTED_FIXED = "fixed in the imported market file"


def import_market(session: Session, user: User | None, market: Market) -> Round:
    """A new round holding the market's challenges, funders, pledges, actors and bids, in file order.
    The round starts open. Defaults stay defaults (an item without quantity, a bid without its own
    reliability), so exporting gives the same market back."""
    require_role(user, STAFF, "import markets")
    problems = unstorable_text(market)
    if problems:
        raise InvalidInput(problems)
    rnd = Round(name=market.name, currency=market.currency, note=market.note, status=RoundStatus.OPEN.value)
    session.add(rnd)
    components: dict[str, Component] = {}
    for i, c in enumerate(market.challenges):
        challenge = Challenge(round=rnd, key=c.id, title=c.title, value=c.value, reliability=c.reliability,
                              tags=list(c.tags), position=i)
        for j, k in enumerate(c.components):
            component = Component(key=k.id, title=k.title, unit=k.unit, quantity=k.quantity, critical=k.critical,
                                  value=k.value, requires=list(k.requires), min_reliability=k.min_reliability,
                                  max_unit_price_cents=k.max_unit_price, position=j)
            challenge.components.append(component)
            components[k.key] = component
        session.add(challenge)
    for i, f in enumerate(market.funders):
        funder = RoundFunder(round=rnd, key=f.id, name=f.name, position=i)
        session.add(funder)
        for p in f.pledges:
            scope = None if p.scope is None else {k: list(getattr(p.scope, k)) for k in SCOPE_KEYS
                                                  if getattr(p.scope, k)}
            conditions = [{"funder": c.funder_id, "min_cents": c.min} for c in p.conditions] or None
            funder.pledges.append(Pledge(round=rnd, key=p.id, amount_cents=p.amount, scope=scope,
                                         max_share=p.max_share, match=p.match, min_spend_cents=p.min_spend,
                                         max_challenge_share=p.max_challenge_share, conditions=conditions))
    for i, a in enumerate(market.actors):
        actor = RoundActor(round=rnd, key=a.id, name=a.name, position=i,
                           reliability=None if a.reliability == 1.0 else a.reliability,
                           has_capacity=a.capacity is not None,
                           budget_cents=a.capacity.budget if a.capacity else None,
                           capacity_load=a.capacity.load if a.capacity else None)
        session.add(actor)
        for b in a.bids:
            actor.bids.append(Bid(
                round=rnd, key=b.id, reliability=b.reliability if b.reliability_given else None, load=b.load,
                exclusive_group=b.exclusive_group, fixed=b.fixed,
                fixed_reason=IMPORTED_FIXED if b.fixed else None,
                items=[BidItem(component=components[item.component], position=n, price_cents=item.price,
                               quantity=item.quantity if item.quantity_given else None)
                       for n, item in enumerate(b.items)]))
    session.flush()
    audit(session, user, "import", "round", rnd.id, rnd.id, name=rnd.name, challenges=len(market.challenges),
          pledges=len(market.pledges), bids=len(market.bids))
    return rnd


def export_round(session: Session, user: User | None, round_id: int) -> dict[str, Any]:
    """The round as a market document (staff and the command line: it shows every sealed bid); audited,
    as every way a round's sealed bids leave the database."""
    require_role(user, STAFF, "export rounds")
    document = round_document(session, get_round(session, round_id))
    audit(session, user, "export", "round", round_id, round_id)
    return document


def unstorable_text(value: Any, path: str = "") -> dict[str, str]:
    """Text the market refuses (market.text; JSON allows any character), at its path in the file; the
    market's `note` alone may span lines."""
    out: dict[str, str] = {}
    if isinstance(value, str):
        problem = text_problem(value, multiline=path == "note")
        if problem:
            out[path or "text"] = problem
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            out.update(unstorable_text(getattr(value, f.name), f"{path}.{f.name}" if path else f.name))
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            out.update(unstorable_text(item, f"{path}[{i}]"))
    return out
