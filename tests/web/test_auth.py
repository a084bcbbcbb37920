"""Sign up, log in, log out; hashed passwords; CSRF; cookies; the secret key."""
from __future__ import annotations

import re

import pytest

from sqlalchemy import select

from market.models import User
from tests.web_fixtures import PASSWORD, make_app
from web import db as web_db


def stored(app, email):
    with web_db.sessions(app).begin() as session:
        return session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def test_signup_page_has_labelled_fields(client):
    page = client.get("/signup").data.decode()
    for name in ("name", "email", "password"):
        assert f'<label for="{name}">' in page
    assert 'value="funder"' in page and 'value="actor"' in page and "analyst" not in re.findall(r'value="(\w+)"', page)


def test_signup_stores_a_hash_then_the_user_logs_in(app, client):
    r = client.post("/signup", data={"name": "Water Trust", "email": "Trust@Example.org", "password": "s3cret-pass",
                                     "role": "funder"})
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    user = stored(app, "trust@example.org")
    assert user.role == "funder" and user.password_hash and "s3cret-pass" not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert "signed up as funder" in client.get("/login").data.decode()
    assert client.post("/login", data={"email": "trust@example.org", "password": "s3cret-pass"}).status_code == 302
    assert "Water Trust (funder)" in client.get("/").data.decode()


def test_signup_cannot_make_an_analyst(app, client):
    r = client.post("/signup", data={"name": "X", "email": "x@example.org", "password": "long enough",
                                     "role": "analyst"})
    assert r.status_code == 400
    assert stored(app, "x@example.org") is None


def test_signup_errors_keep_the_input(app, accounts, client):
    r = client.post("/signup", data={"name": "Drill Co", "email": "drill@example.org", "password": "short",
                                     "role": "actor"})
    page = r.data.decode()
    assert r.status_code == 400
    assert 'value="Drill Co"' in page and 'value="drill@example.org"' in page
    assert "at least 10 characters" in page and 'id="password-err"' in page
    assert stored(app, "drill@example.org") is None


def test_login_wrong_password_and_logout(app, accounts, client):
    accounts.create("f@example.org", "funder")
    r = accounts.login(client, "f@example.org", "wrong password")
    assert r.status_code == 400 and "Wrong email or password" in r.data.decode()
    assert 'value="f@example.org"' in r.data.decode()
    assert accounts.login(client, "f@example.org").status_code == 302
    assert "Log out" in client.get("/").data.decode()
    assert client.post("/logout").status_code == 302
    assert "Log in" in client.get("/").data.decode()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example/",
                                    "/rounds\n1", "/\t/evil.example/", "/\r\n/evil.example/", "/rounds/\x001"])
def test_login_redirects_only_to_local_pages(accounts, client, target):
    accounts.create("f@example.org", "funder")
    r = client.post("/login", query_string={"next": target}, data={"email": "f@example.org", "password": PASSWORD})
    assert r.headers["Location"] == "/"
    client.post("/logout")
    r = client.post("/login?next=/rounds/1", data={"email": "f@example.org", "password": PASSWORD})
    assert r.headers["Location"] == "/rounds/1"


def test_pages_that_need_a_login_redirect_to_it(client, empty_round):
    r = client.get(f"/rounds/{empty_round}/pledges/new")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_post_without_csrf_token_is_refused(tmp_path, web_template):
    app = make_app(tmp_path, web_template, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    r = client.post("/signup", data={"name": "N", "email": "n@example.org", "password": "long enough",
                                     "role": "funder"})
    assert r.status_code == 400 and "security token" in r.data.decode()
    assert stored(app, "n@example.org") is None
    page = client.get("/signup").data.decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post("/signup", data={"name": "N", "email": "n@example.org", "password": "long enough",
                                     "role": "funder", "csrf_token": token})
    assert r.status_code == 302 and stored(app, "n@example.org") is not None
    web_db.dispose(app)


def test_session_cookie_is_httponly_and_samesite_lax(accounts, client):
    accounts.create("f@example.org", "funder")
    r = accounts.login(client, "f@example.org")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secret_key_from_env_else_persisted(tmp_path, web_template, monkeypatch):
    monkeypatch.setenv("SWARM_SECRET_KEY", "from-env")
    assert make_app(tmp_path, web_template, SECRET_KEY=None).secret_key == "from-env"
    monkeypatch.delenv("SWARM_SECRET_KEY")
    first = make_app(tmp_path, web_template, SECRET_KEY=None).secret_key
    second = make_app(tmp_path, web_template, SECRET_KEY=None).secret_key
    assert first == second and len(first) >= 32
    assert (tmp_path / "instance" / "secret_key").read_text() == first


def test_a_new_sqlite_database_is_migrated_on_first_request(tmp_path):
    from web import create_app
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}", "SECRET_KEY": "k",
                      "INSTANCE_PATH": str(tmp_path)})
    assert not (tmp_path / "new.sqlite3").exists()          # nothing connects in create_app
    assert app.test_client().get("/").status_code == 200
    assert (tmp_path / "new.sqlite3").exists()
    web_db.dispose(app)


def test_a_database_that_is_not_set_up_gives_a_clear_503(tmp_path):
    import sqlite3

    from web import create_app
    path = tmp_path / "old.sqlite3"
    sqlite3.connect(path).execute("CREATE TABLE something (x)").connection.close()
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path)})
    r = app.test_client().get("/")
    assert r.status_code == 503 and "run `swarm db upgrade`" in r.data.decode()
    web_db.dispose(app)


def test_logout_is_a_post(accounts, client):
    accounts.create("f@example.org", "funder")
    accounts.login(client, "f@example.org")
    assert client.get("/logout").status_code == 405
    assert "Log out" in client.get("/").data.decode()


def test_secure_cookies_behind_https(tmp_path, web_template, monkeypatch):
    monkeypatch.setenv("SWARM_SECURE_COOKIES", "1")
    assert make_app(tmp_path, web_template).config["SESSION_COOKIE_SECURE"] is True
    monkeypatch.delenv("SWARM_SECURE_COOKIES")
    assert make_app(tmp_path, web_template).config["SESSION_COOKIE_SECURE"] is False
