"""Self-service accounts for the web: anyone may sign up as a funder or an actor (analysts and admins
are made from the command line), and look-ups for logging in."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InvalidInput
from ..models import Role, User
from ..text import text_problem
from .accounts import create_user
from .common import audit

SELF_SERVICE = (Role.FUNDER, Role.ACTOR)


def sign_up(session: Session, email: str, name: str, role: str, password_hash: str) -> User:
    """A new funder or actor account with its (already hashed) password; audited as the new user."""
    if role not in {r.value for r in SELF_SERVICE}:
        raise InvalidInput({"role": "choose funder or actor"})
    if not password_hash:
        raise InvalidInput({"password": "required"})
    user = create_user(session, None, email, name, role, password_hash)
    audit(session, user, "sign-up", "user", user.id, email=user.email, role=user.role)
    return user


def user_by_email(session: Session, email: str) -> User | None:
    email = (email or "").strip().lower()
    if text_problem(email):                     # no account has one (and PostgreSQL cannot compare a NUL)
        return None
    return session.execute(select(User).where(User.email == email)).scalar_one_or_none()
