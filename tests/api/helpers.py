"""What the API tests share: a client speaking to /api/v1 as one account, tokens, and the one error shape."""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from market import services
from tests.web_fixtures import Accounts
from web import db as web_db

API = "/api/v1"


class Api:
    """A test client speaking to /api/v1 as one account (or as nobody: token None)."""

    def __init__(self, app: Flask, token: str | None, user_id: int | None = None) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        self.token = token
        self.user_id = user_id

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        out = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        out.update(extra or {})
        return out

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(API + path, headers=self.headers(kw.pop("headers", None)), **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(API + path, json=json, headers=self.headers(kw.pop("headers", None)), **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.patch(API + path, json=json, headers=self.headers(kw.pop("headers", None)), **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(API + path, headers=self.headers(kw.pop("headers", None)), **kw)


def token_for(app: Flask, user_id: int, name: str = "test") -> str:
    with web_db.sessions(app).begin() as session:
        return services.create_token(session, None, user_id, name)[1]


class Users:
    def __init__(self, app: Flask, accounts: Accounts) -> None:
        self.app = app
        self.accounts = accounts

    def __call__(self, email: str, role: str) -> Api:
        user_id = self.accounts.create(email, role)
        return Api(self.app, token_for(self.app, user_id), user_id)


def assert_error(response: Any, status: int, path: str | None = None) -> dict[str, Any]:
    """The API's one error shape: {"status", "error", "errors": {path: [messages]}}, always JSON."""
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json", response.data
    body = response.get_json()
    assert set(body) == {"status", "error", "errors"}, body
    assert body["status"] == status and isinstance(body["error"], str)
    assert body["errors"] and all(isinstance(v, list) and all(isinstance(m, str) for m in v)
                                  for v in body["errors"].values()), body
    if path is not None:
        assert path in body["errors"], body
    return body
