"""Rate limits on what is expensive (a solve, a clearing, a new API token) and on what can be guessed or
spammed (logins, sign-ups): Flask-Limiter, one Limiter per app, wrapped around the views GUARDS names.

    init_app(app)   (called from web.create_app once the blueprints are registered)

Each limit counts per user (the logged-in user, or the API token's user; per address when anonymous);
logins count failed attempts per account (the email as typed, normalised as the services do) and per
address. A limit is a Flask-Limiter string read from the app config on each request, so tests and
deployments set their own:

    SWARM_LIMIT_LOGIN          failed logins per account      "5 per minute;20 per hour"
    SWARM_LIMIT_LOGIN_ADDRESS  failed logins per address      "10 per minute;50 per hour"
    SWARM_LIMIT_SIGNUP         sign-ups tried per address     "5 per hour;20 per day"
    SWARM_LIMIT_SOLVE          POST /api/v1/solve per user     "10 per minute;100 per hour"
    SWARM_LIMIT_CLEAR          clearings per user (web + API)  "5 per minute;30 per hour"
    SWARM_LIMIT_TOKEN          API tokens made per user        "5 per minute;20 per day"
    SWARM_LIMIT_RESET          reset links asked per address   "5 per hour;20 per day"
    SWARM_LIMIT_PASSWORD       failed password changes per user "5 per minute;20 per hour"
    RATELIMIT_ENABLED          (True; the tests' make_app turns it off but for the limits' own tests)
    RATELIMIT_STORAGE_URI      SWARM_RATELIMIT_STORAGE_URL, else "memory://"

`memory://` counts in each process apart: with several gunicorn workers point them all at Redis
(`SWARM_RATELIMIT_STORAGE_URL=redis://127.0.0.1:6379/0`). While that Redis cannot be reached each process
counts in its own memory (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED), so nothing limited fails for it. Over a
limit: 429 with `Retry-After` (seconds), a page saying how long to wait, or under /api/v1 the API's JSON error.
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user

from . import health
from .api import is_api_request
from .api.errors import error_response

DEFAULTS = {
    "SWARM_LIMIT_LOGIN": "5 per minute;20 per hour",
    "SWARM_LIMIT_LOGIN_ADDRESS": "10 per minute;50 per hour",
    "SWARM_LIMIT_SIGNUP": "5 per hour;20 per day",
    "SWARM_LIMIT_SOLVE": "10 per minute;100 per hour",
    "SWARM_LIMIT_CLEAR": "5 per minute;30 per hour",
    "SWARM_LIMIT_TOKEN": "5 per minute;20 per day",
    "SWARM_LIMIT_RESET": "5 per hour;20 per day",
    "SWARM_LIMIT_PASSWORD": "5 per minute;20 per hour",
}


def address() -> str:
    return f"address:{get_remote_address()}"


def user_or_address() -> str:
    """The API token's user (set by the API's authentication, which runs before the view), else the
    logged-in user, else the address."""
    user = g.get("api_user") if is_api_request() else (current_user if current_user.is_authenticated else None)
    return address() if user is None else f"user:{user.id}"


def login_account() -> str:
    return "account:" + (request.form.get("email") or "").strip().lower()


def failed_login(response: Any) -> bool:
    """A login (or a password change) that worked redirects; anything else (wrong password, invalid form)
    is an attempt that counts."""
    return bool(response.status_code != 302)


def clearing_only() -> bool:
    """The analyst's round page posts open, close, reopen and clear to one view: only clear is limited."""
    return (request.view_args or {}).get("verb") != "clear"


@dataclass(frozen=True)
class Guard:
    endpoint: str
    setting: str
    key: Callable[[], str]
    message: str
    scope: str | None = None                     # endpoints with the same scope share one count
    options: dict[str, Any] = field(default_factory=dict)


GUARDS = [
    Guard("auth.login", "SWARM_LIMIT_LOGIN", login_account, "Too many failed logins for this account",
          options={"methods": ["POST"], "deduct_when": failed_login}),
    Guard("auth.login", "SWARM_LIMIT_LOGIN_ADDRESS", address, "Too many failed logins from your address",
          options={"methods": ["POST"], "deduct_when": failed_login}),
    Guard("auth.signup", "SWARM_LIMIT_SIGNUP", address, "Too many sign-ups from your address",
          options={"methods": ["POST"]}),
    # Each reset link asked for mails someone (or writes a log line); a stolen session must not guess the
    # current password by changing it again and again.
    Guard("account.forgot", "SWARM_LIMIT_RESET", address, "Too many password resets asked from your address",
          options={"methods": ["POST"]}),
    Guard("account.index", "SWARM_LIMIT_PASSWORD", user_or_address, "Too many failed password changes",
          options={"methods": ["POST"], "deduct_when": failed_login}),
    Guard("tokens.create", "SWARM_LIMIT_TOKEN", user_or_address, "Too many API tokens made"),
    Guard("api.solve", "SWARM_LIMIT_SOLVE", user_or_address, "Too many solves"),
    Guard("analyst.transition", "SWARM_LIMIT_CLEAR", user_or_address, "Too many clearings", scope="clearing",
          options={"exempt_when": clearing_only}),
    Guard("api.round_clear", "SWARM_LIMIT_CLEAR", user_or_address, "Too many clearings", scope="clearing"),
    # A retried job is another clearing: the same count.
    Guard("analyst.job_retry", "SWARM_LIMIT_CLEAR", user_or_address, "Too many clearings", scope="clearing"),
    Guard("api.job_retry", "SWARM_LIMIT_CLEAR", user_or_address, "Too many clearings", scope="clearing"),
]


def init_app(app: Flask) -> Limiter:
    """A Limiter of the app's own (its storage and switch are the app's: one per test app too), wrapped
    around each guarded view; kept in app.extensions["swarm_limiter"]."""
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    app.config.setdefault("RATELIMIT_STORAGE_URI", os.environ.get("SWARM_RATELIMIT_STORAGE_URL", "").strip()
                          or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)    # else no Retry-After
    # Redis away (stopped, restarting): count in this process's memory meanwhile, the same limits, and go back
    # to Redis once it answers again (Flask-Limiter checks it every 1, 2, 4 ... 32 s). A limit whose storage
    # fails otherwise is logged and let through, never a 500: a login or a clearing must not fail because
    # the counters cannot be reached (tests/faults/test_redis_stopped.py).
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    if str(app.config["RATELIMIT_STORAGE_URI"]).startswith(("redis://", "rediss://")):
        # a Redis host that drops packets: seconds, not the system's TCP timeout, before the fallback
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 2, "socket_timeout": 2})
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "swarm")
    app.after_request(_retry_after_only_when_refused)   # registered first: runs after the limiter's hook
    limiter = Limiter(key_func=user_or_address, app=app)
    for guard in GUARDS:
        app.view_functions[guard.endpoint] = _limit(limiter, guard)(app.view_functions[guard.endpoint])
    limiter.exempt(health.bp)       # a load balancer's probes, even under a default limit (RATELIMIT_DEFAULT)
    app.register_error_handler(RateLimitExceeded, too_many)
    app.extensions["swarm_limiter"] = limiter
    return limiter


def _limit(limiter: Limiter, guard: Guard) -> Any:
    def configured() -> str:
        return str(current_app.config[guard.setting])
    common: dict[str, Any] = {"key_func": guard.key, "error_message": guard.message, **guard.options}
    if guard.scope:
        return limiter.shared_limit(configured, guard.scope, **common)
    return limiter.limit(configured, **common)


def too_many(error: RateLimitExceeded) -> ResponseReturnValue:
    """429 with Retry-After: the API's JSON error, or a page saying how long to wait."""
    limiter: Limiter = current_app.extensions["swarm_limiter"]
    breached = limiter.current_limit
    wait = max(1, int(breached.reset_at - time.time())) if breached is not None else 60   # as the limiter counts
    message = f"{error.description}: try again in {_duration(wait)}."
    headers = {"Retry-After": str(wait)}
    if is_api_request():
        return error_response(429, {"": [message]}, headers)
    return render_template("error.html", code=429, title="Too many requests", message=message), 429, headers


def _retry_after_only_when_refused(response: Response) -> Response:
    """Flask-Limiter puts Retry-After (the end of the window) on every limited response, also on those it
    let through; it means "wait" only on a refusal."""
    if response.status_code not in (429, 503):
        response.headers.pop("Retry-After", None)
    return response


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes" if minutes < 120 else f"{math.ceil(minutes / 60)} hours"
