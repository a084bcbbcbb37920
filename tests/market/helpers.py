"""Shortcuts shared by the market tests: the small market (tests/small_market.py) as a round in `db`,
and what a clearing may touch."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from market import services
from market.models import AuditLog, Award, Flow, Round
from market.snapshot import round_document
from tests.small_market import draft_doc, import_market


def import_round(db: Any, doc: dict[str, Any] | None = None) -> int:
    return import_market(db.sessions, doc)


def draft_round(db: Any) -> int:
    """An open round with the small market's challenges and nobody in it yet."""
    return import_market(db.sessions, draft_doc())


def closed_round(db: Any, doc: dict[str, Any] | None = None) -> int:
    """A round holding `doc` (the small market unless given), closed: ready to clear."""
    round_id = import_round(db, doc)
    with db.sessions.begin() as session:
        services.close_round(session, None, round_id)
    return round_id


def state(db: Any, round_id: int) -> dict[str, Any]:
    """Everything a clearing may touch, to compare before and after."""
    with db.sessions.begin() as session:
        rnd = session.get(Round, round_id)
        return {
            "status": rnd.status, "changed_at": rnd.changed_at,
            "runs": [(r.id, r.is_result) for r in services.runs(session, round_id)],
            "awards": session.execute(select(func.count()).select_from(Award)).scalar_one(),
            "flows": session.execute(select(func.count()).select_from(Flow)).scalar_one(),
            "audit": session.execute(select(func.count()).select_from(AuditLog)).scalar_one(),
            "document": round_document(session, rnd),           # read, not exported: an export is audited
        }
