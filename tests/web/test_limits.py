"""Rate limits (web/limits.py): failed logins per account and per address, sign-ups per address, API tokens,
solves and clearings per user; 429 with Retry-After, a page on the web and the API's JSON error under
/api/v1; the count holds across app instances sharing Redis. Tiny limits here; the other tests run with
the limits off (tests/web_fixtures.py)."""
from __future__ import annotations

import uuid

import pytest
import redis

from tests.api.helpers import API, Api, assert_error, token_for
from tests.web_fixtures import PASSWORD, Accounts, app_on

LIMITED = {"RATELIMIT_ENABLED": True, "SWARM_LIMIT_LOGIN": "3 per minute", "SWARM_LIMIT_LOGIN_ADDRESS": "5 per minute",
           "SWARM_LIMIT_SIGNUP": "2 per minute", "SWARM_LIMIT_SOLVE": "2 per minute",
           "SWARM_LIMIT_CLEAR": "2 per minute", "SWARM_LIMIT_TOKEN": "2 per minute",
           "SWARM_LIMIT_RESET": "2 per minute", "SWARM_LIMIT_PASSWORD": "2 per minute"}
REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["sqlite", "postgresql"])
def limited(request, tmp_path, web_template):
    with app_on(request.param, tmp_path, web_template, **LIMITED) as app:
        yield app


def from_address(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def log_in(client, email, password="wrong password"):
    return client.post("/login", data={"email": email, "password": password})


def assert_refused_page(response, reason):
    """A readable page, not a bare error: the reason and how long to wait, and Retry-After in seconds."""
    assert response.status_code == 429, response.data
    assert response.mimetype == "text/html"
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 60
    page = response.get_data(as_text=True)
    assert "<h1>Too many requests</h1>" in page and reason in page, page
    assert f"try again in {wait} second" in page or f"try again in {wait + 1} second" in page, page


def test_failed_logins_lock_the_account_from_every_address(limited):
    accounts = Accounts(limited)
    accounts.create("ana@example.org", "funder")
    accounts.create("ben@example.org", "funder")
    here = from_address(limited, "10.0.0.1")
    for email in ("ana@example.org", " ANA@example.org", "Ana@Example.org "):     # one account, as normalised
        assert log_in(here, email).status_code == 400
    refused = log_in(here, "ana@example.org")
    assert_refused_page(refused, "Too many failed logins for this account")
    assert refused.headers["Cache-Control"] == "no-store"
    assert_refused_page(log_in(here, "ana@example.org", PASSWORD), "for this account")         # even the right one
    assert_refused_page(log_in(from_address(limited, "10.0.0.2"), "ana@example.org", PASSWORD), "for this account")
    assert log_in(here, "ben@example.org", PASSWORD).status_code == 302                         # another account


def test_failed_logins_from_one_address_are_limited_whatever_the_account(limited):
    here = from_address(limited, "10.0.0.1")
    for n in range(5):
        assert log_in(here, f"guess{n}@example.org").status_code == 400
    assert_refused_page(log_in(here, "guess5@example.org"), "Too many failed logins from your address")
    Accounts(limited).create("ana@example.org", "actor")
    assert log_in(from_address(limited, "10.0.0.2"), "ana@example.org", PASSWORD).status_code == 302


def test_logins_that_work_do_not_count(limited):
    Accounts(limited).create("ana@example.org", "analyst")
    client = limited.test_client()
    for _ in range(6):
        assert log_in(client, "ana@example.org", PASSWORD).status_code == 302
    assert client.get("/login").status_code == 200                  # only POSTs are attempts


def test_sign_ups_per_address(limited):
    here = from_address(limited, "10.0.0.1")
    for n in range(2):
        r = here.post("/signup", data={"email": f"new{n}@example.org", "name": f"New {n}", "role": "funder",
                                       "password": "long enough"})
        assert r.status_code == 302, r.data
    r = here.post("/signup", data={"email": "new2@example.org", "name": "New 2", "role": "funder",
                                   "password": "long enough"})
    assert_refused_page(r, "Too many sign-ups from your address")
    assert here.get("/signup").status_code == 200
    there = from_address(limited, "10.0.0.2")
    assert there.post("/signup", data={"email": "new3@example.org", "name": "New 3", "role": "actor",
                                       "password": "long enough"}).status_code == 302


def test_reset_links_asked_per_address(limited):
    here = from_address(limited, "10.0.0.1")
    for email in ("a@example.org", "nobody@example.org"):            # counted whether or not it has an account
        assert here.post("/forgot", data={"email": email}).status_code == 302
    assert_refused_page(here.post("/forgot", data={"email": "c@example.org"}),
                        "Too many password resets asked from your address")
    assert from_address(limited, "10.0.0.2").post("/forgot", data={"email": "c@example.org"}).status_code == 302


def test_failed_password_changes_per_user(limited):
    accounts = Accounts(limited)
    ana = accounts.client_for("ana@example.org", "actor")
    wrong = {"current_password": "not the password", "new_password": "a new long secret 7",
             "confirm": "a new long secret 7"}
    for _ in range(2):
        assert ana.post("/account", data=wrong).status_code == 400
    assert_refused_page(ana.post("/account", data=wrong), "Too many failed password changes")
    ben = accounts.client_for("ben@example.org", "actor")              # the same address, another user
    assert ben.post("/account", data=wrong).status_code == 400


def test_token_creation_per_user(limited):
    accounts = Accounts(limited)
    ana = accounts.client_for("ana@example.org", "actor")
    for n in range(2):
        assert ana.post("/tokens", data={"name": f"t{n}"}).status_code == 201
    assert_refused_page(ana.post("/tokens", data={"name": "t2"}), "Too many API tokens made")
    assert ana.get("/tokens").status_code == 200
    ben = accounts.client_for("ben@example.org", "actor")              # the same address, another user
    assert ben.post("/tokens", data={"name": "mine"}).status_code == 201


def test_api_solve_per_user_answers_the_api_error(limited):
    accounts = Accounts(limited)
    funder_id = accounts.create("f@example.org", "funder")
    funder = Api(limited, token_for(limited, funder_id))
    for _ in range(2):
        assert_error(funder.post("/solve", [1]), 422)                  # every call counts, even refused ones
    refused = funder.post("/solve", [1])
    body = assert_error(refused, 429, "")
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 60 and body["errors"][""][0].startswith("Too many solves: try again in"), body
    assert "Content-Security-Policy" in refused.headers
    second_token = Api(limited, token_for(limited, funder_id, "another"))   # the user, not the token
    assert_error(second_token.post("/solve", [1]), 429)
    actor = Api(limited, token_for(limited, accounts.create("a@example.org", "actor")))
    assert_error(actor.post("/solve", [1]), 422)
    assert_error(Api(limited, None).post("/solve", [1]), 401)          # no token: refused before counting


def test_clearing_is_counted_once_across_the_web_page_and_the_api(limited):
    accounts = Accounts(limited)
    ana_id = accounts.create("ana@example.org", "analyst")
    web = limited.test_client()
    assert accounts.login(web, "ana@example.org").status_code == 302
    api = Api(limited, token_for(limited, ana_id))
    assert_error(api.post("/rounds/999/clear"), 404)
    assert web.post("/analyst/rounds/999/clear").status_code == 404
    assert_refused_page(web.post("/analyst/rounds/999/clear"), "Too many clearings")
    assert_error(api.post("/rounds/999/clear"), 429)
    assert_refused_page(web.post("/analyst/jobs/999/retry"), "Too many clearings")   # a retry is a clearing
    assert_error(api.post("/jobs/999/retry"), 429)
    assert web.post("/analyst/jobs/999/cancel").status_code == 404                   # cancelling is not
    for verb in ("open", "close", "reopen"):                           # the same view, not limited
        assert web.post(f"/analyst/rounds/999/{verb}").status_code == 404
    other = Api(limited, token_for(limited, accounts.create("bo@example.org", "analyst")))
    assert_error(other.post("/rounds/999/clear"), 404)
    assert_error(other.post("/jobs/999/retry"), 404)


def test_the_spec_documents_the_429s(limited):
    spec = limited.test_client().get(API + "/openapi.json").get_json()
    assert "429" in spec["paths"]["/api/v1/solve"]["post"]["responses"]
    assert "429" in spec["paths"]["/api/v1/rounds/{round_id}/clear"]["post"]["responses"]
    assert "429" in spec["paths"]["/api/v1/jobs/{job_id}/retry"]["post"]["responses"]
    assert "429" not in spec["paths"]["/api/v1/rounds"]["post"]["responses"]


def test_the_tests_run_without_limits_by_default(app):
    client = app.test_client()
    assert all(log_in(client, "x@example.org").status_code == 400 for _ in range(25))


def test_the_limit_holds_across_app_instances_sharing_redis(tmp_path, web_template):
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {REDIS} is unreachable ({type(exc).__name__}: {exc}): the shared count needs it")
    shared = {**LIMITED, "RATELIMIT_STORAGE_URI": REDIS, "RATELIMIT_KEY_PREFIX": f"swarm-test-{uuid.uuid4().hex}"}
    with app_on("sqlite", tmp_path, web_template, **shared) as one, \
            app_on("sqlite", tmp_path, web_template, **shared) as two:     # two workers, one database
        assert one.extensions["swarm_limiter"] is not two.extensions["swarm_limiter"]
        Accounts(one).create("ana@example.org", "funder")
        assert log_in(one.test_client(), "ana@example.org").status_code == 400
        assert log_in(two.test_client(), "ana@example.org").status_code == 400
        assert log_in(one.test_client(), "ana@example.org").status_code == 400
        assert_refused_page(log_in(two.test_client(), "ana@example.org"), "for this account")


def test_memory_is_the_default_storage_and_the_environment_chooses_redis(tmp_path, web_template, monkeypatch):
    from web import limits
    with app_on("sqlite", tmp_path, web_template) as app:
        assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    monkeypatch.setenv("SWARM_RATELIMIT_STORAGE_URL", REDIS)
    with app_on("sqlite", tmp_path, web_template) as app:
        assert app.config["RATELIMIT_STORAGE_URI"] == REDIS
    assert set(limits.DEFAULTS) == {g.setting for g in limits.GUARDS}
