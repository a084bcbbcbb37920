"""The API's one error shape, `{"status": 404, "error": "Not Found", "errors": {"field.path": ["message"]}}`
(the key "" for the request as a whole), and the answers in it: to werkzeug's HTTP errors, to the services'
refusals (market.errors, with the web pages' statuses; invalid fields are a 422 here) and to a database
that is not migrated yet or cannot be reached (503 with Retry-After)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from market.errors import InvalidInput, MarketDomainError, QueueUnavailable
from market.migrate import NotReady
from market.schemas import flatten_messages

from ..errors import DATABASE_DOWN, DATABASE_RETRY_AFTER, QUEUE_RETRY_AFTER, log_database_down, status_of

DATABASE_DOWN_MESSAGE = ("the database cannot be reached just now; try again in a few seconds. A write whose answer "
                         "was lost may have been done: send it again with the same Idempotency-Key to be answered "
                         "as it was, never done twice")
LOCATIONS = {"json": "", "query": "query", "querystring": "query", "headers": "header", "view_args": "path"}


def error_response(status: int, errors: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    body = {"status": status, "error": HTTP_STATUS_CODES.get(status, "Error"),
            "errors": {str(k): ([str(m) for m in v] if isinstance(v, (list, tuple)) else [str(v)])
                       for k, v in errors.items()}}
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def http_error_body(error: HTTPException) -> Response:
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("errors") or data.get("messages")
    errors: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        location: str  # flask-smorest's locations: json, query, headers...
        for location, inner in messages.items():
            prefix = LOCATIONS.get(location, location)
            errors.update(flatten_messages(inner, prefix))
    if not errors:
        text = data.get("message") or (error.description if code < 500 else None) or error.name
        errors = {"": [text]}
    headers = {k: v for k, v in error.get_headers() if k.lower() not in ("content-type", "content-length")}
    if code == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="swarm-market"'
    return error_response(code, errors, headers)


def domain_error_response(error: MarketDomainError) -> Response:
    if isinstance(error, InvalidInput):
        return error_response(422, {k: [v] for k, v in error.fields.items()})
    code, _ = status_of(error)
    headers = {"Retry-After": QUEUE_RETRY_AFTER} if isinstance(error, QueueUnavailable) else None
    return error_response(code, {"": [str(error)]}, headers)


def not_ready_response(error: NotReady) -> Response:
    if error.unreachable:
        return database_down_response(error)
    return error_response(503, {"": [str(error)]})


def database_down_response(error: Exception) -> Response:
    log_database_down(error)
    return error_response(503, {"": [DATABASE_DOWN_MESSAGE]}, {"Retry-After": DATABASE_RETRY_AFTER})


def register(blueprint: Blueprint) -> None:
    """Answer the refusals raised in the blueprint's views in the one shape (HTTP errors are `Api`'s)."""
    blueprint.register_error_handler(MarketDomainError, domain_error_response)
    blueprint.register_error_handler(NotReady, not_ready_response)
    for kind in DATABASE_DOWN:
        blueprint.register_error_handler(kind, database_down_response)
