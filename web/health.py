"""Liveness and readiness for a load balancer or an orchestrator: no login, no CSRF (GET only), no rate
limit, no cookie, nothing cached, and no URL or password in the answer.

    GET /healthz   the process answers (touches nothing else): 200 {"status": "ok"}
    GET /readyz    the database is reachable and at the latest migration, and, when clearings go to Redis
                   (SWARM_QUEUE_URL), Redis answers: 200 {"status": "ready", "checks": {...}}, else 503
                   {"status": "not ready", "checks": {...}} with what is wrong in each failed check

A load balancer sends traffic to a node only while /readyz says 200, and restarts a process only when
/healthz fails: a database outage makes every node unready, never dead.
"""
from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, Flask, Response, current_app, jsonify

from market import health
from market.health import Check, Level
from market.migrate import NotReady
from market.queue import RedisQueue

from . import db

bp = Blueprint("health", __name__)

PATHS = ("/healthz", "/readyz")


@bp.route("/healthz")
def healthz() -> Response:
    return _answer({"status": "ok"}, 200)


@bp.route("/readyz")
def readyz() -> Response:
    checks = [_database(current_app)]
    redis_queue = _redis_queue(current_app)
    if redis_queue is not None:
        checks.append(health.queue(redis_queue))
    ready = all(check.ok for check in checks)
    body = {"status": "ready" if ready else "not ready",
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks}}
    return _answer(body, 200 if ready else 503)


def _database(app: Flask) -> Check:
    try:
        db.sessions(app)                # the app's own engine (a new SQLite file is migrated, as on first use)
    except NotReady as exc:
        if exc.unreachable:
            return Check("database", Level.FAIL, "unreachable")
        return Check("database", Level.FAIL, "not at the latest migration: run `swarm db upgrade`")
    return health.database(db.engine(app))


def _redis_queue(app: Flask) -> RedisQueue | None:
    """A RedisQueue of this module's own when clearings go to Redis (the app's queue is made with the
    database's sessions, which a readiness check must not need)."""
    state = app.extensions.setdefault("swarm_health", {})
    if "queue" not in state:
        setting = str(app.config.get("JOB_QUEUE") or "")
        state["queue"] = RedisQueue(setting) if setting.startswith(("redis://", "rediss://", "unix://")) else None
    found: RedisQueue | None = state["queue"]
    return found


def _answer(body: Mapping[str, object], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
