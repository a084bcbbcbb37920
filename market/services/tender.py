"""A failure's short re-tender (issue 18): after the clearing, an analyst opens it for a few days; actors bid on
the challenges the failed award touches and funders add money to their repair. Both take part only in that
failure's repair market (market/repair_market.py), never in the round's own clearing or market file.

A re-tender bid is a bid like any other (sealed: its actor and the analysts see it), whose items are all on the
failure's challenges; a re-tender pledge is new money whose scope is those challenges. Both are refused once the
re-tender has closed or the failure is repaired.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import schemas
from ..errors import Forbidden, InvalidInput, NotFound, WrongState
from ..models import AwardFailure, Bid, FailureState, Pledge, Role, RoundActor, RoundFunder, User, utcnow
from . import notifications
from .bids import _items
from .common import STAFF, as_utc, audit, flush_new, given_key, lock_round, require_role
from .participants import participant
from .repair import failed_actor, get_failure, get_failure_any, touched_challenges

MAX_DAYS = 60


def open_tender(session: Session, user: User | None, failure_id: Any, data: dict[str, Any],
                now: datetime | None = None) -> AwardFailure:
    """An analyst opens (or extends) the failure's re-tender for `data["days"]` days (1 to 60)."""
    require_role(user, STAFF, "open re-tenders")
    days = data.get("days")
    if isinstance(days, str) and days.strip().isascii() and days.strip().isdigit():
        days = int(days)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise InvalidInput({"days": f"a number of days from 1 to {MAX_DAYS}"})
    failure = get_failure(session, user, failure_id)
    lock_round(session, failure.round_id)
    if failure.state != FailureState.OPEN:
        raise WrongState(f"failure {failure.id} is {failure.state}: its repair is committed already")
    failure.tender_until = (now or utcnow()) + timedelta(days=days)
    session.flush()
    challenges = touched_challenges(session, failure)
    audit(session, user, "tender", "failure", failure.id, failure.round_id, until=failure.tender_until.isoformat(),
          challenges=[c.key for c in challenges])
    actors = session.scalars(select(RoundActor.user_id).where(RoundActor.round_id == failure.round_id))
    funders = session.scalars(select(RoundFunder.user_id).where(RoundFunder.round_id == failure.round_id))
    notifications.notify(session, list(actors) + list(funders), "re-tender",
                         f"A re-tender is open until {failure.tender_until:%Y-%m-%d}: an award on "
                         f"{', '.join(c.title or c.key for c in challenges)} failed; actors may bid to replace it "
                         "and funders may add money to its repair", f"/tenders/{failure.id}", failure.round_id)
    return failure


def tender_open(failure: AwardFailure, now: datetime | None = None) -> bool:
    return (failure.state == FailureState.OPEN and failure.tender_until is not None
            and (now or utcnow()) <= as_utc(failure.tender_until))


def open_tenders(session: Session, now: datetime | None = None) -> list[AwardFailure]:
    """Every re-tender open now (any signed-in user may read which challenges they are on)."""
    rows = session.scalars(select(AwardFailure).where(AwardFailure.state == FailureState.OPEN,
                                                      AwardFailure.tender_until.is_not(None))
                           .order_by(AwardFailure.id))
    return [f for f in rows if tender_open(f, now)]


def open_failure(session: Session, failure_id: Any, now: datetime | None = None, lock: bool = False
                 ) -> AwardFailure:
    """The failure whose re-tender is open (its round locked, for a write); else the same NotFound as for no
    failure at all: a failure is told only while its re-tender is open."""
    failure = get_failure_any(session, failure_id)
    if lock:
        lock_round(session, failure.round_id)
    if not tender_open(failure, now):
        raise NotFound(f"no re-tender {failure_id} is open")
    return failure


def tender_bid(session: Session, user: User | None, failure_id: Any, data: dict[str, Any],
               now: datetime | None = None) -> Bid:
    """An actor bids in the re-tender: a bid (as `services.bid` takes it) whose items are all on the failure's
    challenges."""
    values = schemas.load(schemas.made(schemas.BidSchema), given_key(user, "b", data))
    if user is not None and user.role != Role.ACTOR:
        raise Forbidden(f"only actors bid; you are logged in as {user.role}")
    failure = open_failure(session, failure_id, now, lock=True)
    keys = {c.key for c in touched_challenges(session, failure)}
    problems = {f"items[{i}].component": f"{item['component']!r} is not on the challenges being repaired "
                                         f"({', '.join(sorted(keys))})"
                for i, item in enumerate(values["items"]) if item["component"].split("/", 1)[0] not in keys}
    if problems:
        raise InvalidInput(problems)
    if session.scalar(select(Bid.id).where(Bid.round_id == failure.round_id, Bid.key == values["id"])):
        raise InvalidInput({"id": f'bid id "{values["id"]}" is already used in round {failure.round_id}'})
    actor = participant(session, user, failure.round_id, values, RoundActor)
    if actor.id == failed_actor(session, failure):
        raise Forbidden("the actor whose award failed does not bid to replace it")
    row = Bid(round_id=failure.round_id, actor=actor, key=values["id"], reliability=values.get("reliability"),
              load=values.get("load", 0), items=_items(session, failure.round_id, values["items"]),
              tender_failure_id=failure.id)
    session.add(row)
    flush_new(session, "bid", row.key, failure.round_id)
    audit(session, user, "tender bid", "bid", row.id, failure.round_id, key=row.key, failure=failure.id,
          actor=actor.key, price_cents=sum(i.price_cents for i in row.items))
    return row


def tender_pledge(session: Session, user: User | None, failure_id: Any, data: dict[str, Any],
                  now: datetime | None = None) -> Pledge:
    """A funder adds money to the repair: `{"amount": money}` (plus `"funder"` from the command line); its scope
    is the failure's challenges."""
    if not isinstance(data, dict):
        raise InvalidInput({"amount": "send an object with the amount"})
    values = schemas.load(schemas.made(schemas.PledgeSchema), given_key(user, "p", {
        k: v for k, v in data.items() if k in ("amount", "funder", "id", "listed")}))
    if user is not None and user.role != Role.FUNDER:
        raise Forbidden(f"only funders pledge; you are logged in as {user.role}")
    failure = open_failure(session, failure_id, now, lock=True)
    if session.scalar(select(Pledge.id).where(Pledge.round_id == failure.round_id, Pledge.key == values["id"])):
        raise InvalidInput({"id": f'pledge id "{values["id"]}" is already used in round {failure.round_id}'})
    funder = participant(session, user, failure.round_id, values, RoundFunder)
    scope = {"challenges": [c.key for c in touched_challenges(session, failure)]}
    row = Pledge(round_id=failure.round_id, funder=funder, key=values["id"], amount_cents=values["amount"],
                 scope=scope, listed=values.get("listed", False), tender_failure_id=failure.id)
    session.add(row)
    flush_new(session, "pledge", row.key, failure.round_id)
    audit(session, user, "tender pledge", "pledge", row.id, failure.round_id, key=row.key, failure=failure.id,
          funder=funder.key, amount_cents=row.amount_cents)
    return row

