"""Which funder or actor of a round a write is for.

A funder account pledges as the round's funder row it owns (`RoundFunder.user_id`), created on its
first pledge with the key "user-<id>"; an actor account likewise. The trusted command line names
the participant by its key in the payload (`funder` / `actor`), created if new.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import Forbidden, InvalidInput
from ..models import Role, Round, RoundActor, RoundFunder, User


def funder_for(session: Session, user: User | None, rnd: Round, values: dict[str, Any]) -> RoundFunder:
    return _participant(session, user, rnd, values, RoundFunder, Role.FUNDER, "funder", "pledge")


def actor_for(session: Session, user: User | None, rnd: Round, values: dict[str, Any]) -> RoundActor:
    return _participant(session, user, rnd, values, RoundActor, Role.ACTOR, "actor", "bid")


def _participant(session: Session, user: User | None, rnd: Round, values: dict[str, Any], model: Any, role: Role,
                 field: str, doing: str) -> Any:
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

