"""Personal API tokens: made for one user, shown once, stored only as a sha256 hash, revocable.

A token reads `swm_<43 url-safe characters>` (256 random bits); `prefix` (its first 12 characters)
names it in lists. The web's token page and `swarm token` call these; the API authenticates with
`user_for_token`.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..errors import Forbidden, InvalidInput, NotFound, WrongState
from ..models import ApiToken, Role, User, utcnow
from ..text import text_problem
from .common import as_utc, audit, by_id

PREFIX = "swm_"
MAX_ACTIVE = 20
USED_EVERY = timedelta(minutes=1)      # a token's last use is kept to the minute (the pages show minutes)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _may_manage(by: User | None, owner_id: int) -> None:
    """Users manage their own tokens; admins and the command line (None) anyone's."""
    if by is not None and by.id != owner_id and by.role != Role.ADMIN:
        raise Forbidden("a user manages only its own API tokens")


def create_token(session: Session, by: User | None, owner_id: int, name: str = "") -> tuple[ApiToken, str]:
    """A new token for user `owner_id`: (row, the secret, which is never stored and shown only now)."""
    _may_manage(by, owner_id)
    name = (name or "").strip()
    if len(name) > 100:
        raise InvalidInput({"name": "at most 100 characters"})
    if problem := text_problem(name):
        raise InvalidInput({"name": problem})
    # The owner's row, locked until the transaction ends: two creations at once count the active tokens
    # one after the other, so the cap holds (without the lock, each counted the same 19 on PostgreSQL).
    owner = by_id(session, User, owner_id, lock=True)
    if owner is None:
        raise NotFound(f"no user {owner_id}")
    active = session.execute(select(ApiToken.id).where(ApiToken.user_id == owner_id,
                                                       ApiToken.revoked_at.is_(None))).all()
    if len(active) >= MAX_ACTIVE:
        raise InvalidInput({"name": f"{owner.email} already has {MAX_ACTIVE} active tokens: revoke one first"})
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=owner_id, name=name, prefix=secret[:12], token_hash=hash_token(secret))
    session.add(row)
    session.flush()
    audit(session, by, "create", "api_token", row.id, user=owner.email, name=name, prefix=row.prefix)
    return row, secret


def list_tokens(session: Session, by: User | None, owner_id: int) -> list[ApiToken]:
    _may_manage(by, owner_id)
    return list(session.execute(select(ApiToken).where(ApiToken.user_id == owner_id)
                                .order_by(ApiToken.id)).scalars())


def revoke_token(session: Session, by: User | None, token_id: int, owner_id: int | None = None) -> ApiToken:
    """Revoke a token (someone else's is NotFound for a plain user). `owner_id`, if given, must match."""
    row = by_id(session, ApiToken, token_id)
    if row is None or (owner_id is not None and row.user_id != owner_id) or \
            (by is not None and by.role != Role.ADMIN and row.user_id != by.id):
        raise NotFound(f"no API token {token_id}")
    if row.revoked_at is not None:
        raise WrongState(f"API token {token_id} is already revoked")
    row.revoked_at = utcnow()
    session.flush()
    audit(session, by, "revoke", "api_token", row.id, prefix=row.prefix)
    return row


def user_for_token(session: Session, secret: str) -> User | None:
    """The user of an active token, else None. Its last use is stamped at most once per USED_EVERY: every
    API request asks this, and an UPDATE on each made each one a write (and a commit waiting for the disk)."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(secret))
                          .options(joinedload(ApiToken.user))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - as_utc(row.last_used_at) >= USED_EVERY:
        row.last_used_at = now
    return row.user
