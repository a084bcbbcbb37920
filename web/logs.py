"""The server's logs: a request id on every line logged during a request, one access line per request,
text or JSON lines, and never a one-time token of a password-reset or email-confirmation link in the
request log (its path, /reset/<token> or /confirm/<token>, would otherwise be written on every request).

    init_app(app)                 (first in web.create_app) the request id and the access line
    configure(fmt, level)         for `swarm serve`: the root logger's handler, text (default) or "json"
    JsonLines, TextLines, RequestContext   for a logging config of one's own (deploy/gunicorn.conf.py)

Each request gets an id: the incoming `X-Request-ID` when it looks like one (1-128 letters, digits and
`-_.:`; a proxy's id joins the two logs), else a new random one; it is echoed in the response's
`X-Request-ID`. The access line (logger `swarm.access`, INFO) holds the method, the path (no query string,
tokens hidden), the status and the milliseconds taken. JSON lines: one object per line with time, level,
logger, message, request_id, method, path, and status and duration_ms on access lines (exc_info, when
logged, under "exception"). `swarm serve --log-format json` (or SWARM_LOG_FORMAT=json) selects them;
under gunicorn, deploy/gunicorn.conf.py does.
"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request

_TOKEN_LINK = re.compile(r"/(reset|confirm)/[^\s?\"]+")
HIDDEN = r"/\1/[token hidden]"
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
ACCESS = logging.getLogger("swarm.access")
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
FORMATS = ("text", "json")


class HideResetTokens(logging.Filter):
    """Rewrites a record's text with every reset or confirmation link's token hidden; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "/reset/" in text or "/confirm/" in text:
            record.msg, record.args = _TOKEN_LINK.sub(HIDDEN, text), ()
        return True


def hide_reset_tokens(logger: logging.Logger) -> None:
    if not any(isinstance(f, HideResetTokens) for f in logger.filters):
        logger.addFilter(HideResetTokens())


def without_tokens(path: str) -> str:
    return _TOKEN_LINK.sub(HIDDEN, path)


# ---------------------------------------------------------------- the request id and the access line

def init_app(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_end)             # registered first: runs last, on the final response


def request_id() -> str:
    """This request's id (made on first use: a hook before ours may have refused the request)."""
    if "request_id" not in g:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    found: str = g.request_id
    return found


def _begin() -> None:
    g.request_started = time.perf_counter()
    request_id()


def _end(response: Response) -> Response:
    response.headers["X-Request-ID"] = request_id()
    started = g.get("request_started")
    duration = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    path = without_tokens(request.path)
    ACCESS.info("%s %s %s %s ms", request.method, path, response.status_code, duration,
                extra={"status": response.status_code, "duration_ms": duration})
    return response


# ---------------------------------------------------------------- formats

class RequestContext(logging.Filter):
    """Puts the request's id, method and path (tokens hidden) on each record logged during a request ("-"
    outside one: start-up, the clearing worker thread). A handler's filter, so that it sees the records of
    every logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = request_id()
            record.method = request.method
            record.path = without_tokens(request.path)
        else:
            record.request_id = getattr(record, "request_id", "-")
        return True


class TextLines(logging.Formatter):
    """`time LEVEL [request id] logger: message`."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, **kwargs: Any) -> None:
        super().__init__(fmt or TEXT_FORMAT, datefmt, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = "-"
        return super().format(record)


class JsonLines(logging.Formatter):
    """One JSON object per line (see the module's docstring for its keys)."""

    FIELDS = ("request_id", "method", "path", "status", "duration_ms")

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:                   # rendered already (a /solve child's records: solver/bounded.py)
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter(fmt: str) -> logging.Formatter:
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}: use text or json")
    return JsonLines() if fmt == "json" else TextLines()


def configure(fmt: str = "text", level: int = logging.INFO) -> logging.Handler:
    """The root logger writes to stderr in `fmt` at `level`, each line with its request's context. It
    replaces a handler `logging.basicConfig` made (the `swarm` group's) or an earlier call's, and no other."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(fmt))
    handler.addFilter(RequestContext())
    root = logging.getLogger()
    for old in root.handlers[:]:
        if type(old) is logging.StreamHandler:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
