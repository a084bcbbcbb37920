"""Who took which of a round's files: every allocation download (web, API) is in the audit log; a market
file is recorded by `transfer.export_round` itself, whichever way it leaves (web, `swarm export`)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import AuditLog, User
from .common import audit


def record_download(session: Session, by: User | None, round_id: int, run_id: int, what: str) -> AuditLog:
    """`what`: the file or view taken, e.g. "allocation.csv" or "api allocation"."""
    return audit(session, by, "download", "clearing_run", run_id, round_id, file=what)
