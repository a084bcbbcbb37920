"""Is a deployment's state usable: the database reachable and at the latest migration, the job queue's
Redis answering, `swarm worker`s registered. Shared by the web's /readyz (web/health.py) and `swarm doctor`
(web/doctor.py). Each check answers a Check; its `detail` never holds a URL or a password (it is shown to
anyone asking /readyz), only what is wrong and what to do.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

import redis
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from . import migrate
from .queue import QUEUE_NAME, RedisQueue


class Level(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    detail: str

    @property
    def ok(self) -> bool:
        return self.level != Level.FAIL


@cache
def head() -> str | None:
    """The latest migration shipped with this code (read once: the scripts do not change under a process)."""
    return migrate.head()


def database(engine: Engine) -> Check:
    """Reachable, and at the latest migration."""
    try:
        revision = migrate.current(engine)
    except SQLAlchemyError as exc:
        return Check("database", Level.FAIL, f"unreachable ({type(getattr(exc, 'orig', None) or exc).__name__})")
    if revision is None:
        return Check("database", Level.FAIL, "not set up: run `swarm db upgrade`")
    if revision != head():
        return Check("database", Level.FAIL, f"at migration {revision}, not {head()}: run `swarm db upgrade`")
    return Check("database", Level.OK, f"reachable, at migration {revision}")


def queue(redis_queue: RedisQueue) -> Check:
    """The job queue's Redis answers a ping."""
    try:
        redis_queue.connection.ping()
    except redis.RedisError as exc:
        return Check("queue", Level.FAIL, f"Redis unreachable ({type(exc).__name__}): clearings cannot be queued")
    return Check("queue", Level.OK, "Redis answers")


def workers(redis_queue: RedisQueue) -> Check:
    """How many `swarm worker`s RQ knows of, listening on the clearing queue (a WARN when none: jobs wait)."""
    from rq import Worker
    try:
        listening = [w for w in Worker.all(connection=redis_queue.connection) if QUEUE_NAME in w.queue_names()]
    except redis.RedisError as exc:
        return Check("workers", Level.FAIL, f"Redis unreachable ({type(exc).__name__})")
    if not listening:
        return Check("workers", Level.WARN, "no `swarm worker` is registered: queued clearings wait for one")
    return Check("workers", Level.OK, f"{len(listening)} `swarm worker` process{'es' if len(listening) > 1 else ''}"
                 " registered")
