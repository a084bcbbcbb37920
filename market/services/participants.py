"""Which funder or actor of a round a write is for.

A funder account pledges as the round's funder row it owns (`RoundFunder.user_id`), created on its
first pledge with the key "user-<id>"; an actor account likewise. The trusted command line names
the participant by its key in the payload (`funder` / `actor`), created if new.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import Conflict, Forbidden, InvalidInput
from ..models import Role, Round, RoundActor, RoundFunder, User
from .common import is_row_id, lock_round, require_open


def open_round_for_pledge(session: Session, user: User | None, round_id: int,
                          values: dict[str, Any]) -> tuple[Round, RoundFunder]:
    """The round, locked and open, and the funder a new pledge of `user` is from (`_open_round_for`)."""
    return _open_round_for(session, user, round_id, values, RoundFunder, Role.FUNDER, "funder", "pledge")


def open_round_for_bid(session: Session, user: User | None, round_id: int,
                       values: dict[str, Any]) -> tuple[Round, RoundActor]:
    """The round, locked and open, and the actor a new bid of `user` is from (`_open_round_for`)."""
    return _open_round_for(session, user, round_id, values, RoundActor, Role.ACTOR, "actor", "bid")


def _open_round_for(session: Session, user: User | None, round_id: int, values: dict[str, Any], model: Any,
                    role: Role, field: str, doing: str) -> tuple[Round, Any]:
    """The round is locked shared when the user's participant row exists already: new pledges and bids of
    many users are then written side by side (`lock_round`). It is locked exclusively when this write may
    create the participant (a user's first in the round; the command line, which names participants and
    keys itself), so that two first writes at once make one participant, each with its own position."""
    mine = user is not None and is_row_id(round_id) and session.execute(
        select(model.id).where(model.round_id == round_id, model.user_id == user.id)).first() is not None
    rnd = lock_round(session, round_id, shared=mine)
    require_open(rnd, f"{doing}s are accepted")
    return rnd, _participant(session, user, rnd, values, model, role, field, doing, may_create=not mine)


def _participant(session: Session, user: User | None, rnd: Round, values: dict[str, Any], model: Any, role: Role,
                 field: str, doing: str, may_create: bool = True) -> Any:
    """`may_create` False: the round is locked only shared, and the user had a participant row before; an
    analyst linking it to another account meanwhile (`link_participant`) makes this write a Conflict rather
    than a new participant made beside another write that might make one too."""
    if user is None:
        key = values.get(field)
        if key is None:
            raise InvalidInput({field: f"required: which {field} of the round this {doing} is from"})
        row = session.execute(select(model).where(model.round_id == rnd.id, model.key == key)).scalar_one_or_none()
        return row if row is not None else _new(session, rnd, model, key, None, None)
    if user.role != role:
        raise Forbidden(f"only {role.value}s may {doing}; {user.email} is {'an' if user.role[0] in 'aeiou' else 'a'} "
                        f"{user.role}")
    row = session.execute(select(model).where(model.round_id == rnd.id, model.user_id == user.id)).scalar_one_or_none()
    if field in values and values[field] != (row.key if row is not None else None):
        raise Forbidden(f"{user.email} may {doing} only as its own {field}, not as {values[field]!r}")
    if row is not None:
        return row
    if not may_create:
        raise Conflict(f"{user.email}'s {field} in round {rnd.id} was given to another account meanwhile; "
                       f"nothing was written, {doing} again")
    key = f"user-{user.id}"
    if session.execute(select(model.id).where(model.round_id == rnd.id, model.key == key)).first():
        raise InvalidInput({field: f"round {rnd.id} already has a {field} {key!r} not owned by {user.email}"})
    return _new(session, rnd, model, key, user.name, user.id)


def _new(session: Session, rnd: Round, model: Any, key: str, name: str | None, user_id: int | None) -> Any:
    position = session.execute(select(func.coalesce(func.max(model.position), -1))
                               .where(model.round_id == rnd.id)).scalar_one() + 1
    row = model(round_id=rnd.id, key=key, name=name, user_id=user_id, position=position)
    session.add(row)
    session.flush()
    return row



def participant(session: Session, user: User | None, round_id: int, values: dict[str, Any], model: Any) -> Any:
    """The funder or actor (`model`) a write of `user` is from, in a round that need not be open (a re-tender,
    issue 18), made if new; the caller holds the round's exclusive lock."""
    rnd = session.get(Round, round_id)
    assert rnd is not None
    if model is RoundActor:
        return _participant(session, user, rnd, values, RoundActor, Role.ACTOR, "actor", "bid")
    return _participant(session, user, rnd, values, RoundFunder, Role.FUNDER, "funder", "pledge")
