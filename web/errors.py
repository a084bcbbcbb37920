"""One place that turns refusals into pages: market.errors -> 400/403/404/409, CSRF -> 400."""
from __future__ import annotations

from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from market.errors import (ClearingFailed, Conflict, Forbidden, InvalidInput, JobActive, MarketDomainError, NotFound,
                           QueueUnavailable, WrongState)
from market.migrate import NotReady

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
        return render_template("error.html", code=503, title="Database not ready", message=str(error)), 503

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        response = error.get_response()
        response.set_data(render_template("error.html", code=error.code, title=error.name,
                                          message=error.description))
        response.content_type = "text/html; charset=utf-8"
        return response
