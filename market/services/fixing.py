"""Version 1.1 fixed bids: an analyst (or admin) marks a bid fixed, contracted already (work under way, or
delivered and paid), so that every clearing of the round must accept it, and unmarks it; each with a reason,
audited with who did it. Open or closed rounds only: a fixed bid matters for clearing the round again, and a
cleared round's result stands (reopen it first), as for exclusions.

A fixed bid is sealed like any bid: its actor sees that it is fixed and why, the analysts see all, nobody else
sees it (an allocation names only the winning bids, and they are accepted whether fixed or not). Its actor may
no longer change or withdraw it (`require_not_fixed`): ask an analyst to unfix it first.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from .. import schemas
from ..errors import WrongState
from ..models import Bid, User, utcnow
from .access import bid_for
from .common import STAFF, audit, lock_round, require_role, touch
from .exclusion import EXCLUDABLE


def fix_bid(session: Session, user: User | None, round_id: int, key: str, data: dict[str, Any]) -> Bid:
    """Mark bid `key` fixed, `data` = {"reason": why} (required). Not a withdrawn bid (it takes no part), nor
    one excluded (take it back in first: fixed and left out contradict each other)."""
    require_role(user, STAFF, "fix bids")
    reason = schemas.load(schemas.made(schemas.ExclusionSchema), data)["reason"]
    row = _fixable(session, user, round_id, key)
    if row.withdrawn:
        raise WrongState(f"bid {key!r} was withdrawn: it takes no part in the clearing")
    if row.excluded_at is not None:
        raise WrongState(f"bid {key!r} is excluded from the clearing: include it before fixing it")
    if row.fixed:
        raise WrongState(f"bid {key!r} is fixed already")
    row.fixed, row.fixed_reason = True, reason
    row.changed_at = utcnow()
    session.flush()
    audit(session, user, "fix", "bid", row.id, round_id, key=key, reason=reason)
    return row


def unfix_bid(session: Session, user: User | None, round_id: int, key: str, data: dict[str, Any]) -> Bid:
    """Take the mark off, `data` = {"reason": why} (required): the bid competes again like any other."""
    require_role(user, STAFF, "unfix bids")
    reason = schemas.load(schemas.made(schemas.ExclusionSchema), data)["reason"]
    row = _fixable(session, user, round_id, key)
    if not row.fixed:
        raise WrongState(f"bid {key!r} is not fixed")
    before = row.fixed_reason
    row.fixed, row.fixed_reason = False, None
    row.changed_at = utcnow()
    session.flush()
    audit(session, user, "unfix", "bid", row.id, round_id, key=key, reason=reason, before=before)
    return row


def require_not_fixed(row: Bid) -> None:
    """An actor's change or withdrawal of a fixed bid is refused: the bid is contracted."""
    if row.fixed:
        raise WrongState(f"bid {row.key!r} is fixed (contracted) by an analyst: it cannot be changed or withdrawn "
                         "unless an analyst unfixes it")


def _fixable(session: Session, user: User | None, round_id: int, key: str) -> Bid:
    rnd = lock_round(session, round_id)
    if rnd.status not in EXCLUDABLE:
        raise WrongState(f"round {rnd.id} is {rnd.status}; bids are fixed or unfixed only while it is open or "
                         "closed")
    row = bid_for(session, user, rnd.id, key)
    touch(rnd)                       # the round's clearing input changed, as for an exclusion
    return row
