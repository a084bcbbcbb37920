"""The app's job queue (config JOB_QUEUE, from SWARM_QUEUE_URL: "thread", the default, runs clearings on a
worker thread in this process; a redis:// URL hands them to `swarm worker` processes through RQ; "inline"
runs them in the request, for tests). Made lazily, once per app; a thread queue starts its worker with the
app's first request, so jobs left queued by a stopped server run after a restart."""
from __future__ import annotations

import threading

from flask import Flask, current_app, request

from market.queue import JobQueue
from market.worker import ThreadWorker, queue_for

from .db import sessions

_lock = threading.Lock()


def init_app(app: Flask) -> None:
    app.extensions["swarm_queue"] = {"queue": None}

    @app.before_request
    def _start_thread_worker() -> None:
        state = app.extensions["swarm_queue"]
        if state.get("started") or request.blueprint == "health":     # a probe needs no database (web/health.py)
            return
        state["started"] = True
        queue = job_queue(app)
        if isinstance(queue, ThreadWorker):
            queue.start()


def job_queue(app: Flask | None = None) -> JobQueue:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    state = app.extensions["swarm_queue"]
    if state["queue"] is None:
        with _lock:
            if state["queue"] is None:
                state["queue"] = queue_for(app.config.get("JOB_QUEUE") or "thread", sessions(app))
    queue: JobQueue = state["queue"]
    return queue


def stop(app: Flask) -> None:
    """Stop the app's worker thread, if it has one (tests, and a clean shutdown)."""
    queue = app.extensions.get("swarm_queue", {}).get("queue")
    if isinstance(queue, ThreadWorker):
        queue.stop()
