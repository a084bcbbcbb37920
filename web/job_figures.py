"""A clearing job as the analyst's page, its polling JSON and the API show it: the figures (raw) and the same
figures as text (`shown`), made here once so that the page's script writes exactly what the server would."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from market.models import Job
from market.services.jobs import ACTIVE, elapsed

NOT_REPORTED = "not reported yet"


def stamp(value: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes for what was stored as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def figures(job: Job) -> dict[str, Any]:
    """What a job is and how far it got; times as aware datetimes, the solver's figures as reported (None
    until the backend reports them)."""
    seconds = elapsed(job)
    return {"id": job.id, "round": job.round_id, "state": job.state, "active": job.state in ACTIVE,
            "stage": job.stage, "detail": job.detail,
            "elapsed_seconds": None if seconds is None else round(seconds, 3),
            "incumbent": job.incumbent, "bound": job.bound, "gap": job.rel_gap,
            "backend": job.backend, "time_limit": job.time_limit, "requested_gap": job.gap, "explain": job.explain,
            "cancel_requested": job.cancel_requested, "created_by": job.created_by,
            "created_at": stamp(job.created_at), "started_at": stamp(job.started_at),
            "finished_at": stamp(job.finished_at), "reason": job.reason, "run_id": job.run_id,
            "retry_of": job.retry_of}


def shown(job: Job) -> dict[str, str]:
    """The figures the job page shows, as text."""
    seconds = elapsed(job)
    return {"state": job.state + (" (cancel asked)" if job.cancel_requested and job.state in ACTIVE else ""),
            "stage": job.stage or ("waiting for a worker" if job.state == "queued" else "-"),
            "detail": job.detail or "",
            "elapsed": "not started" if seconds is None else f"{seconds:.1f} s",
            "incumbent": NOT_REPORTED if job.incumbent is None else f"{job.incumbent:,.6g}",
            "bound": NOT_REPORTED if job.bound is None else f"{job.bound:,.6g}",
            "gap": NOT_REPORTED if job.rel_gap is None else percent(job.rel_gap)}


def percent(gap: float) -> str:
    return f"{gap * 100:.4g}%"


def limits_text(job: Job) -> dict[str, str]:
    return {"time_limit": "none" if job.time_limit is None else f"{job.time_limit:g} s",
            "gap": "proven best (solver's default)" if job.gap is None else percent(job.gap)}
