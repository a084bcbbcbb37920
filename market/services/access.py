"""Who may see a pledge or a bid and who may change it, decided here once for every read and write of the
web pages, the JSON API and the services:

- its owner (the account linked to the pledge's funder or the bid's actor) sees and changes it; the
  trusted command line (user None) sees and changes every one;
- analysts and admins see every one and change none: Forbidden (403);
- anyone else finds it absent: NotYours, a NotFound (404) with the very message an unknown key gets, so
  that no answer tells whether someone else holds a key (sealed means someone else's looks absent);
- a change asked of a withdrawn one is Withdrawn (409): it stays on record as it was.

A change is refused in that order: absent (404) first, so that a round's state tells nothing about someone
else's; then, where the caller names what it is doing, a round that is not open (409); then staff (403);
then withdrawn (409).

The lists (`visible_pledges`, `visible_bids`) follow the same rule.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.base import ExecutableOption

from ..errors import Forbidden, NotFound, NotYours, Withdrawn
from ..models import Bid, BidItem, Pledge, Role, RoundActor, RoundFunder, User
from .common import STAFF, is_key, is_row_id, require_open

Owned = TypeVar("Owned", Pledge, Bid)


@dataclass(frozen=True)
class _Kind(Generic[Owned]):
    name: str                                    # in messages
    model: type[Owned]
    owner: str                                   # the relationship to the participant it belongs to
    participant: type[RoundFunder | RoundActor]
    role: Role                                   # the one role that has its own
    staff_refusal: str                           # why staff, who see it, may not change it
    loads: tuple[ExecutableOption, ...]          # what the pages and the services read next


PLEDGES = _Kind("pledge", Pledge, "funder", RoundFunder, Role.FUNDER, "a funder changes only its own pledges",
                (selectinload(Pledge.funder),))
BIDS = _Kind("bid", Bid, "actor", RoundActor, Role.ACTOR, "an actor changes only its own bids",
             (selectinload(Bid.actor), selectinload(Bid.items).selectinload(BidItem.component)))


def pledge_for(session: Session, user: User | None, round_id: int, key: str, *, change: bool = False,
               doing: str | None = None) -> Pledge:
    """Pledge `key` of the round as `user` may have it: to read it, or (`change`) to change or withdraw it;
    `doing` ("pledges change") also asks that the round be open for it."""
    return _one(PLEDGES, session, user, round_id, key, change, doing)


def bid_for(session: Session, user: User | None, round_id: int, key: str, *, change: bool = False,
            doing: str | None = None) -> Bid:
    """Bid `key` of the round as `user` may have it: to read it, or (`change`) to change or withdraw it;
    `doing` ("bids change") also asks that the round be open for it."""
    return _one(BIDS, session, user, round_id, key, change, doing)


def visible_pledges(session: Session, user: User | None, round_id: int) -> list[Pledge]:
    """A funder sees its own pledges; analysts, admins and the command line see all; actors none."""
    return _visible(PLEDGES, session, user, round_id)


def visible_bids(session: Session, user: User | None, round_id: int) -> list[Bid]:
    """Bids are sealed: an actor sees only its own; analysts, admins and the command line see all; funders none."""
    return _visible(BIDS, session, user, round_id)


def _one(kind: _Kind[Owned], session: Session, user: User | None, round_id: int, key: str, change: bool,
         doing: str | None) -> Owned:
    query = select(kind.model).where(kind.model.round_id == round_id, kind.model.key == key).options(*kind.loads)
    if change:
        # Locked until the transaction ends (FOR NO KEY UPDATE, the lock its UPDATE takes anyway) and read
        # fresh: writes of pledges and bids lock the round only shared, so two changes of one pledge wait for
        # each other here, and each reads (and audits as "before") what the other left.
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    row = session.execute(query).scalar_one_or_none() if is_key(key) and is_row_id(round_id) else None
    if row is None:
        raise NotFound(_absent(kind, user, round_id, key))
    mine = _owns(user, getattr(row, kind.owner))
    if not (mine or _staff(user)):
        raise NotYours(_absent(kind, user, round_id, key))
    if change and doing is not None:
        require_open(row.round, doing)
    if change and not mine:
        raise Forbidden(f"{kind.name} {key!r} is not yours: {kind.staff_refusal}")
    if change and row.withdrawn:
        raise Withdrawn(f"{kind.name} {key!r} was withdrawn")
    return row


def _visible(kind: _Kind[Owned], session: Session, user: User | None, round_id: int) -> list[Owned]:
    query = select(kind.model).where(kind.model.round_id == round_id).order_by(kind.model.id)
    if user is not None and not _staff(user):
        if user.role != kind.role:
            return []
        query = query.join(getattr(kind.model, kind.owner)).where(kind.participant.user_id == user.id)
    return list(session.execute(query).scalars())


def _absent(kind: _Kind[Owned], user: User | None, round_id: int, key: str) -> str:
    """The one message for an unknown key and for someone else's; the command line, which sees all, is told
    only that there is none."""
    none = f"no {kind.name} {key!r} in round {round_id}"
    return none if user is None else f"{none}, or it is not yours"


def _owns(user: User | None, participant: RoundFunder | RoundActor) -> bool:
    return user is None or (participant.user_id is not None and participant.user_id == user.id)


def _staff(user: User | None) -> bool:
    return user is not None and user.role in STAFF
