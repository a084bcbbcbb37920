"""What every service shares: who may act, the locked round, and the audit row."""
from __future__ import annotations

import re
import secrets
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from solver.ids import ID

from ..db import Base
from ..errors import Forbidden, NotFound, RoundNotOpen
from ..models import AuditLog, Role, Round, RoundStatus, User, utcnow

CLI = "cli"
STAFF = (Role.ANALYST, Role.ADMIN)
# Row ids are 32-bit integer columns: PostgreSQL refuses even to compare a larger number with one.
MAX_ROW_ID = 2**31 - 1

Row = TypeVar("Row", bound=Base)


def is_row_id(value: Any) -> bool:
    """Whether some row could have this id (the web and the API route any 64-bit number, the command
    line any integer)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ROW_ID


def by_id(session: Session, model: type[Row], row_id: Any, lock: bool = False) -> Row | None:
    """The row of `model` with this id, or None (without asking the database when no row could have it).
    `lock`: locked for the rest of the transaction (FOR UPDATE on PostgreSQL; on SQLite the transaction
    began IMMEDIATE and already holds the write lock), and re-read, never cached."""
    if not is_row_id(row_id):
        return None
    return session.get(model, row_id, with_for_update=lock, populate_existing=lock)


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


def lock_round(session: Session, round_id: int) -> Round:
    """The round row, locked for the rest of the transaction and re-read (`by_id`'s lock)."""
    found = by_id(session, Round, round_id, lock=True)
    if found is None:
        raise NotFound(f"no round {round_id!r}")
    return found


def get_round(session: Session, round_id: int) -> Round:
    found = by_id(session, Round, round_id)
    if found is None:
        raise NotFound(f"no round {round_id!r}")
    return found


def require_open(rnd: Round, doing: str) -> None:
    if rnd.status != RoundStatus.OPEN:
        raise RoundNotOpen(f"round {rnd.id} is {rnd.status}: {doing} only while it is open")


def touch(rnd: Round) -> None:
    rnd.changed_at = utcnow()


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
