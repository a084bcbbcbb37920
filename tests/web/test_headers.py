"""Security headers (web/headers.py) on every kind of response: pages, API JSON, error pages and API errors,
static files; the results page's scripts carry the nonce the CSP names; HSTS only with secure cookies;
no-store on the pages that show secrets. The browser test (test_browser.py) shows the Sankey drawn under
this policy with no refusal."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.api.helpers import API, token_for
from tests.web_fixtures import Accounts, app_on, cleared, import_doc

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"


def policy(response):
    """The Content-Security-Policy as {directive: [sources]}."""
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def assert_security_headers(response):
    csp = policy(response)
    assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"], csp
    assert csp["frame-ancestors"] == ["'none'"] and csp["base-uri"] == ["'none'"], csp
    assert csp["form-action"] == ["'self'"], csp
    assert len(csp["script-src"]) == 1 and re.fullmatch(r"'nonce-[\w-]{32}'", csp["script-src"][0]), csp
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in " ".join(sum(csp.values(), []))
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers          # cookies are not Secure here
    return csp


@pytest.mark.parametrize("path, status, mimetype", [
    ("/", 200, "text/html"),
    ("/login", 200, "text/html"),
    ("/nowhere", 404, "text/html"),
    ("/static/style.css", 200, "text/css"),
    ("/vendor/plotly.min.js", 200, "text/javascript"),
    (API + "/me", 200, "application/json"),
    (API + "/rounds/999", 404, "application/json"),
    (API + "/me?anonymous", 401, "application/json"),
    (API + "/openapi.json", 200, "application/json"),
    (API + "/docs", 200, "text/html"),
])
def test_every_kind_of_response_has_the_headers(any_app, path, status, mimetype):
    token = token_for(any_app, Accounts(any_app).create("ana@example.org", "funder"))
    headers = {} if "anonymous" in path else {"Authorization": f"Bearer {token}"}
    response = any_app.test_client().get(path, headers=headers)
    response.close()                                            # static files are streamed
    assert (response.status_code, response.mimetype) == (status, mimetype), response.data[:300]
    assert_security_headers(response)


def test_errors_the_app_answers_itself_have_the_headers(app, accounts):
    client = accounts.client_for("ana@example.org", "actor")
    for response in (client.post("/"), client.post(API + "/rounds", json={}),     # 405 page and API 405 / 401
                     client.post("/tokens", data={"name": "x" * 101})):          # a form refused
        assert response.status_code in (400, 401, 405), response.data[:300]
        assert_security_headers(response)


def test_the_results_page_scripts_carry_the_nonce_the_policy_names(any_app):
    round_id = cleared(any_app)
    client = any_app.test_client()
    response = client.get(f"/rounds/{round_id}/results")
    nonce = assert_security_headers(response)["script-src"][0][len("'nonce-"):-1]
    page = response.get_data(as_text=True)
    scripts = re.findall(r"<script\b[^>]*>", page)
    runnable = [s for s in scripts if 'type="application/json"' not in s]
    assert len(runnable) == 2 and all(f'nonce="{nonce}"' in s and " src=" in s for s in runnable), scripts
    again = client.get(f"/rounds/{round_id}/results")
    assert policy(again)["script-src"] != policy(response)["script-src"]        # a new nonce each time
    assert f'nonce="{nonce}"' not in again.get_data(as_text=True)


def test_no_template_has_a_script_without_the_nonce():
    """Inline code, or a script tag without the nonce, would be refused by the browser."""
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert 'type="application/json"' in tag or 'nonce="{{ csp_nonce() }}"' in tag, (template, tag)
        assert not re.search(r"\son[a-z]+\s*=", text), template                # no onclick= handlers
        assert "javascript:" not in text, template


def test_hsts_only_with_secure_cookies_and_on_https(tmp_path, web_template):
    with app_on("sqlite", tmp_path, web_template, SESSION_COOKIE_SECURE=True) as app:
        client = app.test_client()
        hsts = client.get("/", base_url="https://market.example.org").headers["Strict-Transport-Security"]
        assert hsts == "max-age=31556926; includeSubDomains"            # a year
        behind_proxy = client.get("/", headers={"X-Forwarded-Proto": "https"})
        assert "Strict-Transport-Security" in behind_proxy.headers
        plain = client.get("/")
        assert plain.status_code == 200 and "Strict-Transport-Security" not in plain.headers   # never redirected
    (tmp_path / "off").mkdir()
    with app_on("sqlite", tmp_path / "off", web_template) as app:
        response = app.test_client().get("/", base_url="https://market.example.org")
        assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("secure", [False, True])
def test_the_session_cookie_keeps_the_apps_settings(tmp_path, web_template, secure):
    """Talisman would force Secure cookies (a login over plain HTTP then never sticks) and its own SameSite."""
    with app_on("sqlite", tmp_path, web_template, SESSION_COOKIE_SECURE=secure) as app:
        accounts = Accounts(app)
        accounts.create("ana@example.org", "funder")
        response = accounts.login(app.test_client(), "ana@example.org")
        assert response.status_code == 302
        cookie = response.headers["Set-Cookie"]
        assert ("; Secure" in cookie) is secure and "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie


def test_pages_that_show_secrets_are_not_stored(any_app):
    accounts = Accounts(any_app)
    round_id = import_doc(any_app)
    actor = accounts.client_for("ana@example.org", "actor")
    funder = accounts.client_for("fun@example.org", "funder")
    analyst = accounts.client_for("analyst@example.org", "analyst")
    created = actor.post("/tokens", data={"name": "ERP"})
    secret = re.search(r"swm_[A-Za-z0-9_\-]+", created.get_data(as_text=True)).group(0)
    assert created.status_code == 201 and "swm_" in created.get_data(as_text=True)
    secret_pages = [created, actor.get("/tokens"), actor.get(f"/rounds/{round_id}/bids"),
                    any_app.test_client().get("/login"), any_app.test_client().get("/signup"),
                    actor.get("/account"), any_app.test_client().get("/forgot"),
                    funder.get(f"/rounds/{round_id}/pledges"), funder.get(f"/rounds/{round_id}/pledges/new"),
                    analyst.get(f"/analyst/rounds/{round_id}"), analyst.get(f"/analyst/rounds/{round_id}/market.json"),
                    any_app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}),
                    any_app.test_client().get("/reset/some-token", follow_redirects=True),
                    any_app.test_client().post("/login", data={"email": "ana@example.org", "password": "wrong"})]
    for response in secret_pages:
        assert response.headers["Cache-Control"] == "no-store", response.request.path
    for response in (actor.get("/"), actor.get(f"/rounds/{round_id}"), actor.get("/static/style.css")):
        response.close()
        assert "no-store" not in response.headers.get("Cache-Control", ""), response.request.path


def test_the_command_lines_server_speaks_plain_http_with_the_headers_and_limits(tmp_path, monkeypatch):
    """`swarm serve` (werkzeug, plain HTTP): no redirect to HTTPS, the headers, and the limits on."""
    import werkzeug.serving

    from tests.swarm import run_on
    served = []
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda host, port, app, **kw: served.append(app))
    assert run_on(f"sqlite:///{tmp_path / 'serve.sqlite3'}", "serve", "--port", "5059").exit_code == 0
    app = served[0]
    response = app.test_client().get("/login")
    assert response.status_code == 200
    assert_security_headers(response)
    assert app.extensions["swarm_limiter"].enabled and app.config["RATELIMIT_STORAGE_URI"] == "memory://"
