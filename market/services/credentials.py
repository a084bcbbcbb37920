"""Changing a password, resetting a forgotten one with a one-time token, and confirming a new account's email.

A reset token is random (256 bits), shown once (mailed, or written to the server log when no mail server
is configured) and kept only as its sha256; it works once, for RESET_LIFETIME. Changing a password ends the
user's other sessions; a reset ends them all. Each step is in the audit log, never the password or token.

A confirmation token (a self-service sign-up with a mail server) is made and kept the same way and works once,
for CONFIRM_LIFETIME; a reset confirms the email too, since its link reached the owner as well.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound
from ..models import EmailConfirmation, PasswordReset, User, utcnow
from .common import as_utc, audit, audit_anonymous
from .logins import end_sessions
from .passwords import hash_password, password_matches, require_strong
from .signup import user_by_email
from .tokens import hash_token

RESET_LIFETIME = timedelta(hours=1)
BAD_TOKEN = "this reset link is unknown, used or expired: ask for a new one"
CONFIRM_LIFETIME = timedelta(hours=48)
BAD_CONFIRMATION = ("this confirmation link is unknown, used or expired: if your account is not confirmed yet, "
                    "use \"Forgot your password?\" to confirm it")


def change_password(session: Session, user_id: int, current: str, new: str, keep_session: str | None = None) -> User:
    """A signed-in user's new password (the current one must be right); every other session is ended."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    if not password_matches(user.password_hash, current):
        raise InvalidInput({"current_password": "not your current password"})
    require_strong(new, user.email, user.name, "new_password")
    user.password_hash = hash_password(new)
    ended = end_sessions(session, user.id, keep=keep_session)
    audit(session, user, "change-password", "user", user.id, sessions_ended=ended)
    return user


def request_password_reset(session: Session, email: str, source: str | None = None) -> tuple[User, str] | None:
    """(the user, a new one-time token) when `email` has an account, else None: the caller answers the same."""
    user = user_by_email(session, email)
    if user is None:
        audit_anonymous(session, "request-password-reset", None, email, source)
        return None
    token = secrets.token_urlsafe(32)
    row = PasswordReset(user_id=user.id, token_hash=hash_token(token), expires_at=utcnow() + RESET_LIFETIME)
    session.add(row)
    session.flush()
    audit_anonymous(session, "request-password-reset", user, email, source)
    return user, token


def reset_password(session: Session, token: str, new: str) -> User:
    """Set the password of the token's account: the token (and any other of the account's) is spent and
    every session of the account ended."""
    _row, user, now = _spend(session, PasswordReset, token, BAD_TOKEN)
    require_strong(new, user.email, user.name, "new_password")
    user.password_hash = hash_password(new)
    if user.confirmed_at is None:
        user.confirmed_at = now
    session.execute(update(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
                    .values(used_at=now))
    ended = end_sessions(session, user.id)
    audit(session, user, "reset-password", "user", user.id, sessions_ended=ended)
    return user


def request_email_confirmation(session: Session, user: User) -> str:
    """A new one-time token confirming `user`'s email (to be mailed to it)."""
    token = secrets.token_urlsafe(32)
    session.add(EmailConfirmation(user_id=user.id, token_hash=hash_token(token),
                                  expires_at=utcnow() + CONFIRM_LIFETIME))
    session.flush()
    return token


def confirm_email(session: Session, token: str, source: str | None = None) -> User:
    """Confirm the email of the token's account, which may then log in; the token is spent."""
    row, user, now = _spend(session, EmailConfirmation, token, BAD_CONFIRMATION)
    row.used_at = now
    if user.confirmed_at is None:
        user.confirmed_at = now
    audit(session, user, "confirm-email", "user", user.id, source=source)
    return user


Token = TypeVar("Token", PasswordReset, EmailConfirmation)


def _spend(session: Session, kind: type[Token], token: str, bad: str) -> tuple[Token, User, datetime]:
    """The live (unused, unexpired) row of `token`, locked, its user and now; else InvalidInput `bad`."""
    row = None if not token or len(token) > 200 else session.execute(
        select(kind).where(kind.token_hash == hash_token(token)).with_for_update()
    ).scalar_one_or_none()
    now = utcnow()
    if row is None or row.used_at is not None or as_utc(row.expires_at) <= now:
        raise InvalidInput({"token": bad})
    user = session.get(User, row.user_id)
    if user is None:
        raise InvalidInput({"token": bad})
    return row, user, now
