"""What every service shares: who may act, the locked round, and the audit row."""
from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Forbidden, NotFound, RoundNotOpen
from ..models import AuditLog, Role, Round, RoundStatus, User, utcnow

CLI = "cli"
STAFF = (Role.ANALYST, Role.ADMIN)


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
    """The round row, locked for the rest of the transaction (FOR UPDATE on PostgreSQL; on SQLite
    the transaction began IMMEDIATE and already holds the write lock). Re-read, never cached."""
    if isinstance(round_id, bool) or not isinstance(round_id, int):
        raise NotFound(f"no round {round_id!r}")
    found = session.execute(select(Round).where(Round.id == round_id).with_for_update()
                            .execution_options(populate_existing=True)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no round {round_id}")
    return found


def get_round(session: Session, round_id: int) -> Round:
    found = session.get(Round, round_id) if isinstance(round_id, int) and not isinstance(round_id, bool) else None
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
