"""Clearing jobs for the web and API tests: a job row in any state (written as a worker would leave it),
and waiting for a job run by a real queue to reach a state."""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask

from market.models import Job, JobState, utcnow
from web import db as web_db

# How a worker leaves a job in each state: a running one mid-search, the finished ones with their end.
STATES: dict[str, dict[str, Any]] = {
    JobState.QUEUED: {},
    JobState.RUNNING: {"stage": "value phase", "detail": "part 2 of 3", "incumbent": 12345.5, "bound": 13000.0,
                       "rel_gap": 0.053, "worker": "thread@test:1"},
    JobState.FAILED: {"stage": "value phase", "reason": "the cbc solver failed (RuntimeError: status 13)"},
    JobState.CANCELLED: {"stage": "cost phase", "reason": "cancelled during the cost phase",
                         "cancel_requested": True},
}


def job_in(app: Flask, round_id: int, state: str, **fields: Any) -> int:
    """A job of the round in `state` (succeeded: clear the round through a queue instead, for its run)."""
    now = utcnow()
    values: dict[str, Any] = {"round_id": round_id, "state": state, "created_by": "analyst@example.org",
                              "backend": "cbc", "time_limit": 60.0, "created_at": now - timedelta(seconds=20)}
    if state != JobState.QUEUED:
        values |= {"started_at": now - timedelta(seconds=12.5), "heartbeat_at": now}
    if state in (JobState.FAILED, JobState.CANCELLED):
        values["finished_at"] = now - timedelta(seconds=2.5)
    values |= STATES[state] | fields
    with web_db.sessions(app).begin() as session:
        job = Job(**values)
        session.add(job)
        session.flush()
        return job.id


def wait_for(read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool],
             within: float = 180) -> list[dict[str, Any]]:
    """Read a job (its JSON) every 0.1 s until `done` says so; every reading. A bound, not a speed check."""
    seen = [read()]
    waited_until = time.monotonic() + within
    while not done(seen[-1]):
        assert time.monotonic() < waited_until, f"the job did not get there within {within} s: {seen[-1]}"
        time.sleep(0.1)
        seen.append(read())
    return seen
