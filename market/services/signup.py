"""Self-service accounts for the web: anyone may sign up as a funder or an actor (analysts and admins
are made from the command line), and look-ups for logging in."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InvalidInput
from ..models import Role, User
from ..text import text_problem
from .accounts import check_account_fields, create_user
from .common import audit, audit_anonymous
from .passwords import hash_password, weakness

SELF_SERVICE = (Role.FUNDER, Role.ACTOR)


def sign_up(session: Session, email: str, name: str, role: str, password: str,
            confirmed: bool = True) -> User | None:
    """A new funder or actor account with `password` (strength-checked, stored hashed); audited as the new
    user. With `confirmed` false it cannot log in until its email is confirmed (credentials.confirm_email).
    An email that already has an account gives None and changes nothing, after the same work (the checks and
    the hashing), so that the caller can answer exactly as for a new account: no stranger learns which
    emails have one. Any other refusal is InvalidInput, whether or not the email is taken."""
    problems: dict[str, str] = {}
    if role not in {r.value for r in SELF_SERVICE}:
        problems["role"] = "choose funder or actor"
    try:
        email, name = check_account_fields(email, name, Role.FUNDER)
    except InvalidInput as exc:
        problems.update(exc.fields)
    weak = "required" if not password else weakness(password, email, name)
    if weak:
        problems["password"] = weak
    if problems:
        raise InvalidInput(problems)
    password_hash = hash_password(password)
    existing = user_by_email(session, email)
    if existing is None:
        try:
            user = create_user(session, None, email, name, role, password_hash)
        except InvalidInput as exc:
            if not exc.fields.get("email", "").endswith("already has an account"):
                raise
            existing = user_by_email(session, email)       # a sign-up with the same email won the race
        else:
            if not confirmed:
                user.confirmed_at = None
            audit(session, user, "sign-up", "user", user.id, email=user.email, role=user.role, confirmed=confirmed)
            return user
    if existing is None:
        raise InvalidInput({"email": "try again"})          # the account that won the race is gone already
    audit_anonymous(session, "sign-up-taken", existing, email, role=role)
    return None


def user_by_email(session: Session, email: str) -> User | None:
    email = (email or "").strip().lower()
    if text_problem(email):                     # no account has one (and PostgreSQL cannot compare a NUL)
        return None
    return session.execute(select(User).where(User.email == email)).scalar_one_or_none()
