"""Analysts leave a pledge or a bid out of a round's clearing, with the reason, and take it back in: the
way out of a round that cannot be cleared with it. Open or closed rounds only (a cleared round's result
stands: reopen it first). The row stays as its owner made it; the owner sees that it was excluded and why."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from .. import schemas
from ..errors import WrongState
from ..models import Bid, Pledge, RoundStatus, User, utcnow
from .access import bid_for, pledge_for
from .common import STAFF, audit, lock_round, require_role, touch

EXCLUDABLE = (RoundStatus.OPEN, RoundStatus.CLOSED)


def exclude(session: Session, user: User | None, round_id: int, kind: str, key: str,
            data: dict[str, Any]) -> Pledge | Bid:
    """Leave pledge or bid (`kind`) `key` out of the clearing, `data` = {"reason": why} (required)."""
    require_role(user, STAFF, f"exclude {kind}s from the clearing")
    reason = schemas.load(schemas.made(schemas.ExclusionSchema), data)["reason"]
    row = _excludable(session, user, round_id, kind, key)
    if row.withdrawn:
        raise WrongState(f"{kind} {key!r} was withdrawn: it takes no part in the clearing already")
    if getattr(row, "fixed", False):
        # Fixed means every clearing must accept it; left out, it would be dropped without a word (rule 9).
        raise WrongState(f"{kind} {key!r} is fixed: every clearing must accept it; unfix it before excluding it")
    before = row.excluded_reason
    row.excluded_reason, row.excluded_at = reason, utcnow()
    session.flush()
    audit(session, user, "exclude", kind, row.id, round_id, key=key, reason=reason, before=before)
    return row


def include(session: Session, user: User | None, round_id: int, kind: str, key: str) -> Pledge | Bid:
    """Take an excluded pledge or bid back into the clearing."""
    require_role(user, STAFF, f"include {kind}s in the clearing")
    row = _excludable(session, user, round_id, kind, key)
    if row.excluded_at is None:
        raise WrongState(f"{kind} {key!r} is not excluded")
    reason = row.excluded_reason
    row.excluded_reason, row.excluded_at = None, None
    session.flush()
    audit(session, user, "include", kind, row.id, round_id, key=key, reason=reason)
    return row


def _excludable(session: Session, user: User | None, round_id: int, kind: str, key: str) -> Pledge | Bid:
    rnd = lock_round(session, round_id)
    if rnd.status not in EXCLUDABLE:
        raise WrongState(f"round {rnd.id} is {rnd.status}; pledges and bids are excluded or included only while "
                         "it is open or closed")
    row: Pledge | Bid = (pledge_for if kind == "pledge" else bid_for)(session, user, rnd.id, key)
    touch(rnd)
    return row
