"""The JSON API under /api/v1: flask-smorest views over the same services and schemas as the web pages.

    init_app(app)   (called last in web.create_app)

- Auth: `Authorization: Bearer swm_...` (personal tokens: the web's /tokens page or `swarm token create`);
  the same role and ownership rules as the web. Session cookies are not accepted, so CSRF does not apply.
- Errors (web/api/errors.py): always JSON `{"status": 404, "error": "Not Found", "errors": {"field.path": ["message"]}}`
  (the key "" holds messages about the request as a whole): 400 malformed JSON, 401 no or bad token,
  403 wrong role (analysts and admins see every pledge and bid but change none), 404 unknown or not yours
  (someone else's pledge or bid looks absent; `market.services.access` decides), 405 (with Allow),
  409 wrong round state or a changed round, 413 too large, 422 invalid fields, 429 over a rate limit (with
  Retry-After; web/limits.py), 503 with Retry-After (the database or the job queue cannot be reached), 500 a bug.
- Writes (POST, PATCH, DELETE) take an `Idempotency-Key` header: the first successful response is stored
  with the write in one transaction and replayed to retries (`Idempotent-Replayed: true`); the same key
  with another request is a 422. A write answered 503, or not at all, is safe to send again with its key.
- Lists are paginated with `?page=1&page_size=20` (at most 100), the counts in the `X-Pagination` header.
- The spec: /api/v1/openapi.json; a reference page rendered from it: /api/v1/docs (no CDN).
"""
from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Flask, request
from flask.typing import ResponseReturnValue
from flask_smorest import Api as SmorestApi
from werkzeug.exceptions import HTTPException

from .errors import http_error_body
from .schemas import ApiErrorSchema, money_attributes

PREFIX = "/api/v1"


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


class Api(SmorestApi):
    """flask-smorest, with JSON errors only under /api/v1 (the web pages keep their HTML error pages), in
    one shape, keeping werkzeug's headers (a 405 keeps its Allow)."""

    ERROR_SCHEMA = ApiErrorSchema

    def _register_pagination_header(self) -> None:
        """X-Pagination is a JSON text: documented as a string (flask-smorest gives it an object schema,
        which no header value can match)."""
        self.spec.components.header("PAGINATION", {
            "description": 'Pagination as JSON: {"total", "total_pages", "first_page", "last_page", "page", '
                           '"previous_page", "next_page"}',
            "schema": {"type": "string"}}, lazy=True)

    def _register_error_handlers(self) -> None:
        app = self._app
        previous = app.error_handler_spec.get(None, {}).get(None, {}).get(HTTPException)

        def http_error(error: HTTPException) -> ResponseReturnValue:
            if is_api_request() or previous is None:
                return http_error_body(error)
            return previous(error)

        app.register_error_handler(HTTPException, http_error)


def init_app(app: Flask) -> Api:
    """One Api (and spec) per app, kept in app.extensions["swarm_api"]."""
    app.config.setdefault("API_TITLE", "Swarm Market API")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": DESCRIPTION},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearerAuth": []}],
    })
    api = Api(app)
    api.ma_plugin.converter.add_attribute_function(money_attributes)
    from . import views
    api.register_blueprint(views.blp)
    document_common(api, views.IDEMPOTENCY_PARAM)
    app.register_blueprint(views.pages)
    from ..extensions import csrf
    csrf.exempt(views.blp)
    app.extensions["swarm_api"] = api
    return api


def document_common(api: Api, idempotency_param: dict[str, Any]) -> None:
    """Add what every operation shares to the generated spec: the Idempotency-Key header on writes (a
    `@blp.doc(parameters=...)` would replace the query parameters flask-smorest documents), and the error
    statuses each operation may answer, all with the one error schema."""
    for path, operations in api.spec._paths.items():     # apispec keeps the generated paths here
        for method, operation in operations.items():
            if method not in ("get", "post", "patch", "delete"):
                continue
            codes = [401, 503]                                   # 503: the database cannot be reached
            if "{" in path:                                      # a path parameter: a round, a milestone...
                codes.append(404)
            if method != "get" and not path.endswith("/solve"):
                operation.setdefault("parameters", []).append(dict(idempotency_param))
                codes += [403, 409, 413, 422]
            if method == "get" and path.endswith(("/pledges", "/bids", "/runs", "/runs/{run_id}", "/verifiers",
                                                  "/statement", "/statements", "/disputes")):
                codes.append(403)
            if path.endswith("/statement"):
                codes.append(422)                               # staff: which funder's?
            if path.endswith(("/allocation", "/progress")):
                codes.append(409)
            if path.endswith("/solve"):
                codes += [400, 413, 422]                        # and 503: killed at its hard bound
            if path.endswith(("/solve", "/clear", "/retry")):
                codes.append(429)                               # web/limits.py
            if "/jobs" in path:
                codes += [403, 404] if method == "get" else [404]
            responses = operation.setdefault("responses", {})
            for code in codes:
                if str(code) not in responses:
                    responses[str(code)] = api.spec.components.get_ref("response", HTTPStatus(code).name)


DESCRIPTION = """
The Swarm Market API: rounds and their transitions, challenges, your own pledges and sealed bids, clearing
runs and allocations, and a stateless solver.

**Auth**: `Authorization: Bearer <token>`; make a token on the web's *API tokens* page or with
`swarm token create --email you@example.org`. Only its sha256 is stored.

**Errors** are always JSON: `{"status": 422, "error": "Unprocessable Entity", "errors": {"items[0].price":
["amount '1.234' has more than two fraction digits"]}}`. The key `""` holds messages about the request as a
whole, `query.<name>` and `header.<name>` name query parameters and headers. 400: malformed JSON;
401: no or bad token; 403: your role may not do this; 404: no such thing, or not yours (pledges and bids of
others look absent); 405: wrong method (see `Allow`); 409: the round's state forbids this now, or it changed
during a clearing, or a clearing of the round is already queued or running (the message names the job);
413: request too large; 422: invalid fields; 503 (with `Retry-After`): the database cannot be reached
(every operation), or, clearing, the job queue (nothing was queued).

**Clearing is a job**: `POST /rounds/{id}/clear` answers 202 at once with the job and
`Location: /api/v1/jobs/{id}`; poll `GET /jobs/{id}` for its state (queued, running, succeeded, failed,
cancelled), the solver's stage, elapsed seconds and the incumbent, bound and gap the backend reports;
`POST /jobs/{id}/cancel` stops it (the round stays as it was), `POST /jobs/{id}/retry` queues a failed or
cancelled one again. One clearing of a round at a time (the database refuses a second: 409). Jobs show the
solver's figures: analysts and admins only.

**Money** is a decimal string with at most two fraction digits (`"1250.50"`), in and out.

**Idempotency**: POST, PATCH and DELETE (all but the stateless `/solve`, which stores nothing) accept
`Idempotency-Key` (1-255 visible ASCII characters). The first
successful response is stored with the write, in the same transaction, and replayed (same status and body,
header `Idempotent-Replayed: true`) to any retry with the same key, method, path and body; the same key
with a different request is refused with 422. Refused requests (4xx) store nothing and may be retried.
A write that got no answer (the connection dropped) or a 503 may or may not have been done (the database
went away around its commit): send it again with the same key and it is either done now or answered as it
was done (replayed), never done twice.

**Solve**: `POST /api/v1/solve` needs a token (any role); at most 2 MB, 500 challenges, 5000 components,
20000 bids or pledges (413 beyond); `explain=true` for the reasons. `time_limit` 1-20 s (default 20) bounds
the whole request, from when it arrives, reasons included: the search gets at most 80% of it when reasons
are asked for, the reasons' extra solves what is left, and a reason the time left no room for says "not
explained: time limit". The answer comes within `time_limit` plus a few seconds of fixed overhead (reading
and checking the market, building its model, rounding the flows to cents and checking the allocation;
bounded by the size limits above). The solve runs in a process of its own, killed at a hard bound of
`time_limit` + 10 s whatever the solver does: then 503 with a JSON error, and no solver process outlives
the request.

**Limits**: `/solve` and clearing a round (a retried job counts as a clearing) are limited per user (by
default 10 solves a minute and 100 an hour; 5 clearings a minute and 30 an hour): beyond, 429 with
`Retry-After` (seconds to wait).

**Pages**: lists take `page` (from 1) and `page_size` (1-100, default 20); the `X-Pagination` header holds
`{"total", "total_pages", "first_page", "last_page", "page", "previous_page", "next_page"}`.
""".strip()
