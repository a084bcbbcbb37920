"""One place that turns refusals into pages: market.errors -> 400/403/404/409, CSRF -> 400, the job queue or
the database unreachable -> 503 (the API answers the same in JSON: web/api/errors.py)."""
from __future__ import annotations

import logging

from flask import Flask, g, render_template
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from market.errors import (ClearingFailed, Conflict, Forbidden, InvalidInput, JobActive, MarketDomainError, NotFound,
                           QueueUnavailable, WrongState)
from market.migrate import NotReady

from .extensions import login_manager

logger = logging.getLogger(__name__)

# The database could not be reached, or the connection broke under the request (PostgreSQL stopped or
# restarting, a failover, the network): a 503 to retry, not a 500. Each process's pool checks a connection
# before using it (pool_pre_ping, market.db), so once the database is back the next request works, with no
# restart. A write whose commit was cut off may have been done: the API's Idempotency-Key tells on a retry.
DATABASE_DOWN = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER = "10"             # seconds: PostgreSQL restarting, or a failover
QUEUE_RETRY_AFTER = "30"                # seconds: Redis restarting, or a failover
DATABASE_DOWN_MESSAGE = ("The site cannot reach its database just now. Try again in a few seconds; if you were "
                         "saving something, check whether it was saved before sending it again.")

STATUS: dict[type[MarketDomainError], tuple[int, str]] = {
    InvalidInput: (400, "That was not accepted"),
    Forbidden: (403, "Not allowed"),
    NotFound: (404, "Not found"),
    WrongState: (409, "Not possible now"),
    Conflict: (409, "The round changed"),
    ClearingFailed: (409, "The clearing failed"),
    JobActive: (409, "Already being cleared"),
    QueueUnavailable: (503, "The job queue is unavailable"),
}


def status_of(error: MarketDomainError) -> tuple[int, str]:
    """The status and title of the error's nearest class in STATUS: NotYours, a NotFound before it is a
    Forbidden, answers 404 exactly as an unknown key does."""
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400, "Not accepted"


def init_app(app: Flask) -> None:
    @app.errorhandler(MarketDomainError)
    def market_error(error: MarketDomainError) -> ResponseReturnValue:
        code, title = status_of(error)
        return render_template("error.html", code=code, title=title, message=str(error)), code

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        return render_template("error.html", code=400, title="The form expired",
                               message="The form's security token was missing or stale: go back, reload the "
                                       "page and send it again."), 400

    @app.errorhandler(NotReady)
    def not_ready(error: NotReady) -> ResponseReturnValue:
        if error.unreachable:
            return database_down(error)
        return render_template("error.html", code=503, title="Database not ready", message=str(error)), 503

    for kind in DATABASE_DOWN:
        app.register_error_handler(kind, database_down)

    @app.errorhandler(QueueUnavailable)
    def queue_unavailable(error: QueueUnavailable) -> ResponseReturnValue:
        code, title = status_of(error)
        return (render_template("error.html", code=code, title=title, message=str(error)), code,
                {"Retry-After": QUEUE_RETRY_AFTER})

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        response = error.get_response()
        response.set_data(render_template("error.html", code=error.code, title=error.name,
                                          message=error.description))
        response.content_type = "text/html; charset=utf-8"
        return response


def log_database_down(error: Exception) -> None:
    """One line, no traceback (an outage is not a bug), naming what failed (the drivers never say a password)."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines() if not isinstance(error, NotReady) else []
    logger.warning("the database is unreachable (%s%s): answered 503", type(cause).__name__,
                   f": {lines[0]}" if lines else "")


def database_down(error: Exception) -> ResponseReturnValue:
    """503 with a page of the site's own. The page is drawn for nobody signed in unless the user was read
    before the database went: reading it now (Flask-Login's loader) would fail again inside this page."""
    log_database_down(error)
    if "_login_user" not in g:
        g._login_user = login_manager.anonymous_user()
    return (render_template("error.html", code=503, title="Database unavailable", message=DATABASE_DOWN_MESSAGE),
            503, {"Retry-After": DATABASE_RETRY_AFTER})
