"""`swarm doctor`: a deployment's configuration checked, from the environment the web app and `swarm worker`
read, one Check per line (OK, WARN or FAIL, what is wrong and what to do); the command exits 1 on any FAIL.

    database     SWARM_DATABASE_URL set (else the SQLite file), reachable, at the latest migration; SQLite
                 is a WARN (one machine, one writer at a time)
    secret key   SWARM_SECRET_KEY set (not instance/secret_key, which each web node would make its own) and
                 at least MIN_SECRET_CHARACTERS long
    cookies      SWARM_SECURE_COOKIES=1 (behind HTTPS)
    queue        SWARM_QUEUE_URL: unset is the embedded worker thread (WARN); Redis answering (FAIL if not),
                 and `swarm worker`s registered with RQ (WARN if none)
    rate limits  SWARM_RATELIMIT_STORAGE_URL shared (Redis) when the queue is Redis (several processes serve)
    mail         SWARM_MAIL_SERVER set, else reset links go to the server log (WARN)
    solvers      CBC (the default backend: FAIL without) and HiGHS (WARN without) available

URLs are shown without their passwords.
"""
from __future__ import annotations

import os
from collections.abc import Mapping

import redis
from sqlalchemy.engine import make_url

from market import health
from market.db import ENV_URL, make_engine
from market.health import Check, Level
from market.queue import RedisQueue, shown
from solver import backends

MIN_SECRET_CHARACTERS = 32
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def checks(environ: Mapping[str, str] | None = None) -> list[Check]:
    env = dict(os.environ if environ is None else environ)
    queue_url = env.get("SWARM_QUEUE_URL", "").strip()
    return [*database(env.get(ENV_URL, "").strip()), secret_key(env.get("SWARM_SECRET_KEY", "").strip()),
            cookies(env.get("SWARM_SECURE_COOKIES", "")), *queue(queue_url),
            rate_limits(env.get("SWARM_RATELIMIT_STORAGE_URL", "").strip(), queue_url.startswith(REDIS_SCHEMES)),
            mail(env.get("SWARM_MAIL_SERVER", "").strip(), env.get("SWARM_MAIL_PORT", "").strip()), *solvers()]


def database(url: str) -> list[Check]:
    if not url:
        return [Check("database", Level.WARN, f"{ENV_URL} is not set: an SQLite file instance/swarm.sqlite3 under "
                      "the folder each process starts in; production: PostgreSQL "
                      "(postgresql+psycopg://USER@HOST/DB)")]
    found: list[Check] = []
    try:
        parsed = make_url(url)
    except Exception:
        return [Check("database", Level.FAIL, f"{ENV_URL} is not a database URL")]
    where = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        found.append(Check("database", Level.WARN, f"SQLite ({where}): one machine, one writer at a time; "
                           "production: PostgreSQL"))
        engine = make_engine(url)
    else:
        engine = make_engine(url, connect_args={"connect_timeout": 5})
    try:
        check = health.database(engine)
    finally:
        engine.dispose()
    found.append(Check("database", check.level, f"{check.detail} ({where})"))
    return found


def secret_key(key: str) -> Check:
    if not key:
        return Check("secret key", Level.FAIL, "SWARM_SECRET_KEY is not set: each web node makes a key of its own in "
                     "its instance folder, and a login made on one is refused by the others")
    if len(key) < MIN_SECRET_CHARACTERS:
        return Check("secret key", Level.FAIL, f"SWARM_SECRET_KEY has {len(key)} characters: use at least "
                     f"{MIN_SECRET_CHARACTERS} (python -c 'import secrets; print(secrets.token_hex(32))')")
    return Check("secret key", Level.OK, f"SWARM_SECRET_KEY set ({len(key)} characters)")


def cookies(setting: str) -> Check:
    if setting.strip() == "1":
        return Check("cookies", Level.OK, "Secure session cookies and HSTS (SWARM_SECURE_COOKIES=1)")
    return Check("cookies", Level.FAIL, "SWARM_SECURE_COOKIES is not 1: login cookies may travel over plain HTTP; "
                 "behind the TLS proxy set it to 1")


def queue(url: str) -> list[Check]:
    if not url or url in ("thread", "inline"):
        return [Check("queue", Level.WARN, "SWARM_QUEUE_URL is not set: clearings run on a worker thread in each web "
                      "process (one machine); production: redis://HOST:6379/N and `swarm worker` processes")]
    if not url.startswith(REDIS_SCHEMES):
        return [Check("queue", Level.FAIL, f"SWARM_QUEUE_URL {url!r} is not a redis:// URL")]
    redis_queue = RedisQueue(url)
    try:
        reached = health.queue(redis_queue)
        found = [Check("queue", reached.level, f"{reached.detail} ({shown(url)})")]
        if reached.ok:
            found.append(health.workers(redis_queue))
        return found
    finally:
        redis_queue.connection.close()


def rate_limits(url: str, several_processes: bool) -> Check:
    if not url or url.startswith("memory://"):
        level = Level.FAIL if several_processes else Level.WARN
        return Check("rate limits", level, "SWARM_RATELIMIT_STORAGE_URL is not set: each process counts apart, so "
                     "N gunicorn workers allow N times the limits; set it to a Redis URL")
    if not url.startswith(REDIS_SCHEMES):
        return Check("rate limits", Level.OK, f"shared storage {shown(url)} (not checked here)")
    connection = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        connection.ping()
    except redis.RedisError as exc:
        return Check("rate limits", Level.FAIL, f"the storage is unreachable ({type(exc).__name__}) ({shown(url)}): "
                     "every limited request fails")
    finally:
        connection.close()
    return Check("rate limits", Level.OK, f"shared in Redis ({shown(url)})")


def mail(server: str, port: str) -> Check:
    if not server:
        return Check("mail", Level.WARN, "SWARM_MAIL_SERVER is not set: password-reset links are written to the "
                     "server log for an admin to pass on, and new accounts confirm no email")
    return Check("mail", Level.OK, f"mail through {server}:{port or 25} (not connected to here)")


def solvers() -> list[Check]:
    cbc = Check("solvers", Level.OK, "CBC available") if backends.available("cbc") else \
        Check("solvers", Level.FAIL, "CBC (the default backend) is not available: reinstall PuLP 3.3.2")
    highs = Check("solvers", Level.OK, "HiGHS available") if backends.available("highs") else \
        Check("solvers", Level.WARN, "HiGHS is not available (pip install highspy): --solver highs fails")
    return [cbc, highs]
