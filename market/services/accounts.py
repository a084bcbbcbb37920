"""Accounts: users with a role, and which user owns which funder or actor of a round."""
from __future__ import annotations

import re
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound
from ..models import Role, Round, RoundActor, RoundFunder, User
from ..text import text_problem
from .common import STAFF, audit, by_id, is_key, lock_round, require_role

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def create_user(session: Session, by: User | None, email: str, name: str, role: str | Role,
                password_hash: str | None = None) -> User:
    """Only admins (or the command line) create accounts."""
    require_role(by, (Role.ADMIN,), "create accounts")
    email, name = check_account_fields(email, name, role)
    if session.execute(select(User.id).where(User.email == email)).first():
        raise InvalidInput({"email": f"{email} already has an account"})
    user = User(email=email, name=name, role=str(role), password_hash=password_hash)
    try:
        with session.begin_nested():             # a concurrent sign-up with the same email loses cleanly
            session.add(user)
            session.flush()
    except IntegrityError:
        raise InvalidInput({"email": f"{email} already has an account"}) from None
    audit(session, by, "create", "user", user.id, email=email, role=str(role))
    return user


def check_account_fields(email: str, name: str, role: str | Role) -> tuple[str, str]:
    """The email (lower case) and name as they will be stored, or InvalidInput naming each problem."""
    problems = {}
    email = (email or "").strip().lower()
    if not _EMAIL.fullmatch(email) or len(email) > 254 or text_problem(email):
        problems["email"] = "not an email address"
    name = (name or "").strip()
    if not name:
        problems["name"] = "required"
    elif len(name) > 200:                       # the column's width: longer would fail in the database
        problems["name"] = "at most 200 characters"
    elif problem := text_problem(name):
        problems["name"] = problem
    if role not in {r.value for r in Role}:
        problems["role"] = f"must be one of {', '.join(r.value for r in Role)}"
    if problems:
        raise InvalidInput(problems)
    return email, name


def get_user(session: Session, user_id: int) -> User:
    user = by_id(session, User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def link_participant(session: Session, by: User | None, round_id: int, key: str,
                     user_id: int) -> RoundFunder | RoundActor:
    """Give a user the funder (for a funder account) or actor (for an actor account) `key` of a round,
    e.g. after an import. Staff only."""
    require_role(by, STAFF, "link accounts to participants")
    rnd = lock_round(session, round_id)
    user = get_user(session, user_id)
    if user.role == Role.FUNDER:
        return _link(session, by, rnd, RoundFunder, key, user)
    if user.role == Role.ACTOR:
        return _link(session, by, rnd, RoundActor, key, user)
    raise InvalidInput({"user": f"{user.email} is {user.role}: only funder and actor accounts own participants"})


# Constrained, so that the rows read back are typed as the model asked for.
Participant = TypeVar("Participant", RoundFunder, RoundActor)


def _link(session: Session, by: User | None, rnd: Round, model: type[Participant], key: str,
          user: User) -> Participant:
    row = session.execute(select(model).where(model.round_id == rnd.id, model.key == key)
                          ).scalar_one_or_none() if is_key(key) else None
    if row is None:
        raise NotFound(f"round {rnd.id} has no {model.__name__[5:].lower()} {key!r}")
    taken = session.execute(
        select(model).where(model.round_id == rnd.id, model.user_id == user.id)).scalar_one_or_none()
    if taken is not None and taken is not row:
        raise InvalidInput({"user": f"{user.email} already is {taken.key!r} in round {rnd.id}"})
    row.user_id = user.id
    session.flush()
    audit(session, by, "link", model.__tablename__, row.id, rnd.id, key=key, user=user.email)
    return row
