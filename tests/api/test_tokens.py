"""API tokens from the web page and from `swarm token`: shown once, stored hashed, revocable by their owner."""
from __future__ import annotations

import re

from sqlalchemy import select

from market.db import make_engine, make_sessionmaker
from market.models import ApiToken
from web import db as web_db

from tests.swarm import run_on

from .helpers import API, assert_error

SECRET = re.compile(r"swm_[A-Za-z0-9_\-]{43}")


def test_token_page_creates_shows_once_and_revokes(app, accounts):
    web = accounts.client_for("page@example.org", "actor")
    assert web.get("/tokens").status_code == 200
    created = web.post("/tokens", data={"name": "my ERP"})
    assert created.status_code == 201
    secret = SECRET.search(created.get_data(as_text=True)).group(0)
    me = app.test_client().get(API + "/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.get_json()["email"] == "page@example.org"
    listing = web.get("/tokens").get_data(as_text=True)
    assert "my ERP" in listing and secret[:12] in listing and secret not in listing      # shown once only
    with web_db.sessions(app).begin() as session:
        token_id = session.execute(select(ApiToken.id)).scalar_one()
    other = accounts.client_for("other@example.org", "actor")
    assert other.post(f"/tokens/{token_id}/revoke").status_code == 404                  # not theirs
    assert web.post(f"/tokens/{token_id}/revoke").status_code == 302
    assert_error(app.test_client().get(API + "/me", headers={"Authorization": f"Bearer {secret}"}), 401)
    assert "revoked" in web.get("/tokens").get_data(as_text=True)


def test_token_page_needs_login_and_csrf(app, accounts, tmp_path, web_template):
    assert app.test_client().get("/tokens").status_code == 302
    from tests.web_fixtures import make_app
    strict = make_app(tmp_path, web_template, WTF_CSRF_ENABLED=True)
    from tests.web_fixtures import Accounts
    accounts = Accounts(strict)
    accounts.create("csrf@example.org", "funder")
    client = strict.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"email": "csrf@example.org", "password": "correct horse", "csrf_token": token})
    assert client.post("/tokens", data={"name": "x"}).status_code == 400                  # no CSRF token
    web_db.dispose(strict)


def test_swarm_token_create_list_revoke(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    assert run_on(url, "user", "create", "--email", "cli@example.org", "--name", "C", "--role", "funder",
               "--password", "long enough").exit_code == 0
    created = run_on(url, "token", "create", "--email", "cli@example.org", "--name", "script")
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[-1]
    assert SECRET.fullmatch(secret)
    listed = run_on(url, "token", "list", "--email", "cli@example.org")
    assert listed.exit_code == 0 and secret[:12] in listed.output and "active" in listed.output
    assert secret not in listed.output
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        row = session.execute(select(ApiToken)).scalar_one()
        assert row.token_hash != secret
        token_id = row.id
    engine.dispose()
    assert run_on(url, "token", "revoke", str(token_id)).exit_code == 0
    assert "revoked" in run_on(url, "token", "list", "--email", "cli@example.org").output
    assert run_on(url, "token", "revoke", str(token_id)).exit_code == 2
    assert run_on(url, "token", "create", "--email", "nobody@example.org").exit_code != 0
