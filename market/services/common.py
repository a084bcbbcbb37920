"""What every service shares: who may act, the locked round, and the audit row."""
from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

from solver.ids import ID

from ..db import Base
from ..errors import Forbidden, InvalidInput, NotFound, RoundNotOpen
from ..models import AuditLog, Challenge, Component, Role, Round, RoundStatus, User, as_utc, utcnow

CLI = "cli"
STAFF = (Role.ANALYST, Role.ADMIN)
# Row ids are 32-bit integer columns: PostgreSQL refuses even to compare a larger number with one.
MAX_ROW_ID = 2**31 - 1

Row = TypeVar("Row", bound=Base)


def is_row_id(value: Any) -> bool:
    """Whether some row could have this id (the web and the API route any 64-bit number, the command
    line any integer)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ROW_ID


def by_id(session: Session, model: type[Row], row_id: Any, lock: bool = False, shared: bool = False) -> Row | None:
    """The row of `model` with this id, or None (without asking the database when no row could have it).
    `lock`: locked for the rest of the transaction (FOR UPDATE on PostgreSQL, or FOR SHARE when `shared`; on
    SQLite the transaction began IMMEDIATE and already holds the write lock), and re-read, never cached."""
    if not is_row_id(row_id):
        return None
    mode: bool | dict[str, bool] = {"read": True} if lock and shared else lock
    return session.get(model, row_id, with_for_update=mode, populate_existing=lock)


def is_key(key: Any) -> bool:
    """Whether a pledge, bid, challenge or participant could have this key: an id of the market format
    (a key from a URL may hold anything, a NUL among it, which PostgreSQL refuses even to compare)."""
    return isinstance(key, str) and ID.fullmatch(key) is not None


def who(user: User | None) -> str:
    return CLI if user is None else user.email


def require_role(user: User | None, roles: tuple[Role, ...], doing: str) -> None:
    """`user` None is the trusted command line, which may do anything."""
    if user is not None and user.role not in roles:
        allowed = " or ".join(str(r.value) + "s" for r in roles)
        raise Forbidden(f"only {allowed} may {doing}; {user.email} is {_article(user.role)} {user.role}")


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def given_key(user: User | None, prefix: str, data: Any) -> Any:
    """`data` with the id of a signed-in user's new pledge or bid ("p" or "b") given here, as the web form and
    the API do: keys are unique in a round across its users, so a key the user chose and was refused would
    tell that someone else holds it. The command line (user None) names its own."""
    if user is None or not isinstance(data, dict) or "id" in data:
        return data
    return data | {"id": f"{prefix}-u{user.id}-{secrets.token_hex(4)}"}


def lock_round(session: Session, round_id: int, shared: bool = False) -> Round:
    """The round row, locked for the rest of the transaction and re-read (`by_id`'s lock).

    Exclusive (FOR UPDATE on PostgreSQL) for what changes the round itself or needs it still: its status
    (open, close, clear), its challenges, exclusions; such a write waits for every write in flight in the
    round and holds off the next. `shared` (FOR SHARE) for the writes of pledges and bids, which then run
    side by side, each still never beside a close or a clearing: a pledge written while the round is open
    is committed before the close reads the round, or refused after it. On SQLite every transaction begins
    IMMEDIATE with the database's one write lock, so there writes never run side by side at all."""
    found = by_id(session, Round, round_id, lock=True, shared=shared)
    if found is None:
        raise NotFound(f"no round {round_id!r}")
    return found


def named_components(session: Session, round_id: int, paths: list[str]) -> dict[str, Component]:
    """The round's components among `paths` ("<challenge id>/<component id>", checked as such by the schemas),
    by path, each with its challenge loaded; the paths the round has not are left out. Only these are
    read: a write names a few of a round's hundreds."""
    pairs = {tuple(path.split("/", 1)) for path in paths if path.count("/") == 1}
    if not pairs:
        return {}
    found = session.execute(select(Component).join(Component.challenge)
                            .where(Challenge.round_id == round_id, tuple_(Challenge.key, Component.key).in_(pairs))
                            .options(contains_eager(Component.challenge))).scalars()
    return {component.path: component for component in found}


def get_round(session: Session, round_id: int) -> Round:
    found = by_id(session, Round, round_id)
    if found is None:
        raise NotFound(f"no round {round_id!r}")
    return found


def require_open(rnd: Round, doing: str, now: datetime | None = None) -> None:
    """Open, and not past its scheduled closing time (issue 19: refused then even if no analyst closed it)."""
    if rnd.status != RoundStatus.OPEN:
        raise RoundNotOpen(f"round {rnd.id} is {rnd.status}: {doing} only while it is open")
    if rnd.closes_at is not None and (now or utcnow()) >= as_utc(rnd.closes_at):
        raise RoundNotOpen(f"round {rnd.id} closed at {as_utc(rnd.closes_at):%Y-%m-%d %H:%M} UTC: {doing} only "
                           "before its closing time")


def touch(rnd: Round) -> None:
    """The round itself changed (its status, challenges, exclusions). Pledges and bids have their own
    changed_at: a write of one does not touch the round, whose row it only locks shared (`lock_round`)."""
    rnd.changed_at = utcnow()


def flush_new(session: Session, what: str, key: str, round_id: int) -> None:
    """Flush a new pledge or bid whose key was checked free in the round. Writes of pledges and bids run side
    by side (`lock_round(shared=True)`), so one made meanwhile with the same key may have taken it: then the
    unique constraint refuses this one, which is answered as the check would have (the caller's transaction
    rolls back, as on any refusal)."""
    try:
        session.flush()
    except IntegrityError as exc:
        if not violates(exc, f"uq_{what}s_round_id_key", f"{what}s.round_id, {what}s.key"):
            raise
        raise InvalidInput({"id": f'{what} id "{key}" is already used in round {round_id}'}) from None


def violates(exc: IntegrityError, constraint: str, sqlite_columns: str) -> bool:
    """Whether the database refused a write for this unique constraint: PostgreSQL names it (psycopg's
    diagnostics), SQLite names its columns ("UNIQUE constraint failed: pledges.round_id, pledges.key")."""
    diagnostics = getattr(exc.orig, "diag", None)
    name = getattr(diagnostics, "constraint_name", None)
    if name is not None:
        return bool(name == constraint)
    return f"UNIQUE constraint failed: {sqlite_columns}" in str(exc.orig)


def audit(session: Session, by: User | None, action: str, entity: str, entity_id: Any = None,
          round_id: int | None = None, **details: Any) -> AuditLog:
    """One append-only row per write: who (email, or "cli"), what, when, and the details."""
    row = AuditLog(who=who(by), user_id=None if by is None else by.id, action=action, entity=entity,
                   entity_id=None if entity_id is None else str(entity_id), round_id=round_id, details=details)
    session.add(row)
    return row


ANONYMOUS = "anonymous"
_LOOKS_LIKE_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def audit_anonymous(session: Session, action: str, user: User | None, email: str, source: str | None = None,
                    **details: Any) -> AuditLog:
    """An audit row for what someone not signed in did to an account (`user`), or tried with an email that
    has none: then the email typed is kept, unless it is no email (a password typed in the wrong field)."""
    if user is None:
        typed = (email or "").strip().lower()[:254]
        details["email"] = typed if _LOOKS_LIKE_EMAIL.fullmatch(typed) else "(not an email address)"
    row = AuditLog(who=ANONYMOUS, user_id=None, action=action, entity="user",
                   entity_id=None if user is None else str(user.id), details={**details, "source": source})
    session.add(row)
    return row
