"""Logging in and out, and the server-side sessions behind the web's cookies.

`log_in` checks the password (in the same time for an unknown email, see passwords.password_matches) and
starts a `UserSession`: the browser keeps a random secret, the database only its sha256. `session_user`
is what the web asks on each request: the session's user while it is neither ended nor past its idle
timeout or absolute lifetime. Logging out, a password change (the user's other sessions) and a reset
(all of them) stamp `ended_at`, after which a copied cookie signs no one in.

Every login, failed login and logout is in the audit log; a failed one under "anonymous" (no one is signed
in yet), naming the account tried when there is one and the email typed when there is not.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models import User, UserSession, utcnow
from .common import as_utc, audit, audit_anonymous
from .passwords import password_matches
from .signup import user_by_email
from .tokens import hash_token

IDLE_TIMEOUT = timedelta(hours=2)
LIFETIME = timedelta(hours=12)
SEEN_EVERY = timedelta(minutes=1)           # last_seen_at is written at most this often, not on every request


def log_in(session: Session, email: str, password: str, source: str | None = None) -> tuple[User, str] | None:
    """(the user, the new session's secret) for the right password of a confirmed account, else None;
    audited either way. An unconfirmed account fails exactly as a wrong password does (after the same one
    hash check), so that logging in with a password just used to sign up tells no one whether the email
    was new."""
    user = user_by_email(session, email)
    if (not password_matches(None if user is None else user.password_hash, password) or user is None
            or user.confirmed_at is None):
        audit_anonymous(session, "login-failed", user, email, source)
        return None
    secret = secrets.token_urlsafe(32)
    row = UserSession(user_id=user.id, token_hash=hash_token(secret))
    session.add(row)
    session.flush()
    audit(session, user, "login", "user_session", row.id, source=source)
    return user, secret


def session_user(session: Session, secret: str, idle: timedelta = IDLE_TIMEOUT,
                 lifetime: timedelta = LIFETIME) -> User | None:
    """The user of a live session, else None; a session found past its time is ended now."""
    if not secret or len(secret) > 200:
        return None
    row = session.execute(select(UserSession).where(UserSession.token_hash == hash_token(secret))
                          ).scalar_one_or_none()
    if row is None or row.ended_at is not None:
        return None
    now = utcnow()
    if now - as_utc(row.last_seen_at) > idle or now - as_utc(row.created_at) > lifetime:
        row.ended_at = now
        return None
    if now - as_utc(row.last_seen_at) >= SEEN_EVERY:
        row.last_seen_at = now
    return row.user


def log_out(session: Session, secret: str, source: str | None = None) -> None:
    """End the session of `secret` (nothing to do when it is unknown or already ended)."""
    row = session.execute(select(UserSession).where(UserSession.token_hash == hash_token(secret or ""))
                          ).scalar_one_or_none()
    if row is None or row.ended_at is not None:
        return
    row.ended_at = utcnow()
    session.flush()
    audit(session, row.user, "logout", "user_session", row.id, source=source)


def end_sessions(session: Session, user_id: int, keep: str | None = None) -> int:
    """End every live session of a user but the one of `keep`; how many were ended."""
    query = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep:
        query = query.where(UserSession.token_hash != hash_token(keep))
    return session.execute(query.values(ended_at=utcnow())).rowcount  # type: ignore[attr-defined]
