"""Every endpoint of /api/v1 through the test client: roles, ownership, sealed bids, money, pages, clearing,
the stateless solve, and the one error shape."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from market.models import ApiToken
from tests.paths import FIXTURES
from tests.slow_solves import OUT_OF_TIME, SlowSolves
from tests.small_market import market_doc
from web import db as web_db

from tests.web_fixtures import import_doc

from .helpers import API, Api, assert_error

WATER = FIXTURES / "water-sdg6.json"

PLEDGE = {"amount": "1250.50", "scope": {"challenges": ["wells"]}}      # the server gives the id
BID = {"items": [{"component": "wells/drill", "price": "7000"},
        {"component": "wells/pump", "price": "900.10"}], "reliability": 0.9}


# ---------------------------------------------------------------- auth

def test_no_token_bad_token_and_revoked_token_are_401(app, anonymous, funder):
    body = assert_error(anonymous.get("/rounds"), 401, "")
    assert "Bearer" in body["errors"][""][0]
    response = Api(app, "swm_not-a-real-token").get("/rounds")
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(funder.client.get(API + "/rounds", headers={"Authorization": "Basic abc"}), 401)
    assert funder.get("/me").get_json()["role"] == "funder"
    from market import services
    with web_db.sessions(app).begin() as session:
        tokens = services.list_tokens(session, None, funder.user_id)
        services.revoke_token(session, None, tokens[0].id)
    assert_error(funder.get("/me"), 401)


def test_tokens_are_stored_only_as_hashes(app, funder):
    with web_db.sessions(app).begin() as session:
        rows = session.execute(select(ApiToken)).scalars().all()
        assert len(rows) == 1 and rows[0].token_hash != funder.token and funder.token not in rows[0].token_hash
        assert len(rows[0].token_hash) == 64 and funder.token.startswith(rows[0].prefix)
    funder.get("/me")
    with web_db.sessions(app).begin() as session:
        assert session.execute(select(ApiToken)).scalar_one().last_used_at is not None


def test_a_tokens_last_use_is_written_at_most_once_a_minute(app, funder):
    """Every API request reads its token; stamping its use on each made each one a write."""
    def last_used():
        with web_db.sessions(app).begin() as session:
            return session.execute(select(ApiToken)).scalar_one().last_used_at

    funder.get("/me")
    first = last_used()
    funder.get("/me")
    assert last_used() == first                                  # within the minute: not written again
    with web_db.sessions(app).begin() as session:
        session.execute(select(ApiToken)).scalar_one().last_used_at = first - timedelta(seconds=61)
    funder.get("/me")
    assert last_used() > first


def test_session_cookies_do_not_authenticate(app, accounts):
    web_client = accounts.client_for("cookie@example.org", "funder")
    assert_error(web_client.get(API + "/me"), 401)


# ---------------------------------------------------------------- rounds

def test_rounds_are_paginated_newest_first(app, funder):
    ids = [import_doc(app) for _ in range(3)]
    response = funder.get("/rounds?page=1&page_size=2")
    assert response.status_code == 200
    assert [r["id"] for r in response.get_json()] == ids[::-1][:2]
    meta = json.loads(response.headers["X-Pagination"])
    assert meta["total"] == 3 and meta["total_pages"] == 2 and meta["next_page"] == 2
    assert [r["id"] for r in funder.get("/rounds?page=2&page_size=2").get_json()] == ids[:1]
    assert_error(funder.get("/rounds?page_size=1000"), 422, "query.page_size")
    assert_error(funder.get("/rounds?page=0"), 422, "query.page")
    assert funder.get(f"/rounds/{ids[0]}").get_json()["status"] == "open"
    assert_error(funder.get("/rounds/999"), 404)
    assert_error(funder.get("/rounds/99999999999999999999999"), 404)


def test_round_lifecycle_for_analysts_only(analyst, funder):
    response = analyst.post("/rounds", {"name": "Q3", "currency": "EUR"})
    assert response.status_code == 201, response.data
    rnd = response.get_json()
    assert rnd["status"] == "draft" and rnd["currency"] == "EUR" and rnd["created_at"].endswith("+00:00")
    assert_error(funder.post("/rounds", {"name": "mine"}), 403, "")
    assert_error(analyst.post("/rounds", {"currency": "euro"}), 422, "currency")
    assert_error(analyst.post("/rounds", {"nme": "typo"}), 422, "nme")
    rid = rnd["id"]
    challenge = {"id": "pipes", "value": 10, "components": [{"id": "dig", "max_unit_price": "99.50"}]}
    created = analyst.post(f"/rounds/{rid}/challenges", challenge)
    assert created.status_code == 201, created.data
    assert created.get_json()["components"][0]["max_unit_price"] == "99.50"
    assert_error(analyst.post(f"/rounds/{rid}/challenges", challenge), 422, "id")
    assert_error(analyst.post(f"/rounds/{rid}/challenges", {"id": "x", "components": [{"id": "a", "quantity": 0}]}),
                 422, "components[0].quantity")
    assert_error(funder.post(f"/rounds/{rid}/challenges", {**challenge, "id": "other"}), 403)
    assert_error(funder.post(f"/rounds/{rid}/open"), 403)
    assert analyst.post(f"/rounds/{rid}/open").get_json()["status"] == "open"
    assert_error(analyst.post(f"/rounds/{rid}/open"), 409, "")
    assert_error(analyst.post(f"/rounds/{rid}/challenges", {**challenge, "id": "late"}), 409)
    assert analyst.post(f"/rounds/{rid}/close").get_json()["status"] == "closed"
    assert_error(analyst.post(f"/rounds/{rid}/close"), 409)
    assert_error(analyst.post("/rounds/424242/open"), 404)


def test_a_closed_round_can_be_reopened_by_staff(analyst, funder, empty_round):
    assert_error(analyst.post(f"/rounds/{empty_round}/reopen"), 409, "")          # it is open
    assert analyst.post(f"/rounds/{empty_round}/close").get_json()["status"] == "closed"
    assert_error(funder.post(f"/rounds/{empty_round}/reopen"), 403)
    assert analyst.post(f"/rounds/{empty_round}/reopen").get_json()["status"] == "open"
    assert funder.post(f"/rounds/{empty_round}/pledges", {"amount": "5"}).status_code == 201


def test_challenges_list_and_get(app, funder, empty_round):
    listed = funder.get(f"/rounds/{empty_round}/challenges")
    assert [c["id"] for c in listed.get_json()] == ["wells", "latrines"]
    wells = funder.get(f"/rounds/{empty_round}/challenges/wells").get_json()
    assert [k["id"] for k in wells["components"]] == ["drill", "pump", "training"]
    assert wells["components"][0]["max_unit_price"] == "5000.00"
    assert_error(funder.get(f"/rounds/{empty_round}/challenges/nope"), 404)
    assert_error(funder.get(f"/rounds/{empty_round}/challenges/%C3%A9%00"), 404)
    assert_error(funder.get("/rounds/999/challenges"), 404)


# ---------------------------------------------------------------- pledges

def test_pledges_are_own_with_money_as_strings(users, funder, empty_round):
    url = f"/rounds/{empty_round}/pledges"
    created = funder.post(url, PLEDGE)
    assert created.status_code == 201, created.data
    pledge = created.get_json()
    assert pledge["amount"] == "1250.50" and pledge["scope"] == {"challenges": ["wells"]} and not pledge["withdrawn"]
    assert pledge["listed"] is False                                # not listed by name unless asked
    mine = pledge["id"]
    assert mine.startswith(f"p-u{funder.user_id}-")
    assert [p["id"] for p in funder.get(url).get_json()] == [mine]
    assert funder.get(f"{url}/{mine}").get_json() == pledge
    changed = funder.patch(f"{url}/{mine}", {"amount": "99.9", "max_share": 0.5, "listed": True})
    assert changed.status_code == 200 and changed.get_json()["amount"] == "99.90" and changed.get_json()["listed"]
    other = users("other@example.org", "funder")
    assert other.get(url).get_json() == []
    assert_error(other.get(f"{url}/{mine}"), 404)                  # someone else's looks absent
    assert_error(other.patch(f"{url}/{mine}", {"amount": "1"}), 404)
    assert_error(other.delete(f"{url}/{mine}"), 404)
    actor = users("actor2@example.org", "actor")
    assert_error(actor.get(url), 403)
    assert_error(actor.post(url, {"amount": "5"}), 403)
    analyst = users("an@example.org", "analyst")
    assert [p["id"] for p in analyst.get(url).get_json()] == [mine]
    withdrawn = funder.delete(f"{url}/{mine}")
    assert withdrawn.status_code == 200 and withdrawn.get_json()["withdrawn"] is True
    assert_error(funder.delete(f"{url}/{mine}"), 409)


def test_pledge_validation_errors_name_their_fields(funder, empty_round):
    url = f"/rounds/{empty_round}/pledges"
    assert_error(funder.post(url, {"amount": "1.234"}), 422, "amount")
    assert_error(funder.post(url, {"amount": 12.5}), 422, "amount")
    assert_error(funder.post(url, {"amount": "-5"}), 422, "amount")
    assert_error(funder.post(url, {"id": "a", "amount": "5"}), 422, "id")                # the server gives ids
    assert_error(funder.post(url, {"amount": "\u0665"}), 422, "amount")        # digits 0-9 only
    # Beyond the engine's bounds (solver/bounds.py): a ratio of 1e25 made every clearing of the round fail.
    body = assert_error(funder.post(url, {"amount": "5", "match": 1e25}), 422, "match")
    assert "at most 1,000" in body["errors"]["match"][0]
    assert_error(funder.post(url, {"amount": "100000000.00"}), 422, "amount")
    assert_error(funder.post(url, {"amount": "5", "scope": {"challenges": ["nowhere"]}}), 422,
                 "scope.challenges[0]")
    assert_error(funder.post(url, {"amount": "5", "funder": "someone"}), 422, "funder")
    assert_error(funder.post(url, {"amount": "5", "max_share": 2}), 422, "max_share")
    assert_error(funder.post(url, [1, 2]), 422)
    bad_json = funder.client.post(API + url, data="{not json", content_type="application/json",
                                  headers=funder.headers())
    assert_error(bad_json, 400)
    assert funder.post(url, {"amount": 7}).get_json()["amount"] == "7.00"               # integers: whole units
    assert_error(funder.post(url, {"amount": "5", "listed": "maybe"}), 422, "listed")


def test_pledges_only_while_open(app, analyst, funder, empty_round):
    analyst.post(f"/rounds/{empty_round}/close")
    assert_error(funder.post(f"/rounds/{empty_round}/pledges", PLEDGE), 409, "")


# ---------------------------------------------------------------- bids

def test_bids_are_sealed(users, actor, funder, empty_round):
    url = f"/rounds/{empty_round}/bids"
    created = actor.post(url, BID)
    assert created.status_code == 201, created.data
    bid = created.get_json()
    offer = bid["id"]
    assert [i["price"] for i in bid["items"]] == ["7000.00", "900.10"] and bid["reliability"] == 0.9
    assert actor.get(f"{url}/{offer}").get_json() == bid
    rival = users("rival@example.org", "actor")
    assert rival.get(url).get_json() == []
    assert_error(rival.get(f"{url}/{offer}"), 404)
    assert_error(rival.patch(f"{url}/{offer}", {"load": 1}), 404)
    assert_error(rival.delete(f"{url}/{offer}"), 404)
    assert_error(funder.get(url), 403)
    assert_error(funder.get(f"{url}/{offer}"), 404)
    assert_error(funder.post(url, BID), 403)
    changed = actor.patch(f"{url}/{offer}", {"items": [{"component": "latrines/build", "price": "10"}]})
    assert changed.status_code == 200 and changed.get_json()["items"] == [
        {"component": "latrines/build", "quantity": None, "price": "10.00"}]
    assert actor.delete(f"{url}/{offer}").get_json()["withdrawn"] is True
    assert_error(actor.delete(f"{url}/{offer}"), 409)


def test_bid_validation_errors(actor, empty_round):
    url = f"/rounds/{empty_round}/bids"
    assert_error(actor.post(url, {"items": []}), 422, "items")
    assert_error(actor.post(url, {"items": [{"component": "wells/nope", "price": "1"}]}), 422,
                 "items[0].component")
    assert_error(actor.post(url, {"items": [{"component": "wells/drill", "price": "x"}]}), 422,
                 "items[0].price")
    assert_error(actor.post(url, {"items": [{"component": "wells/drill", "price": "1",
                                                          "quantity": 2.5}]}), 422, "items[0].quantity")
    assert_error(actor.post(url, {"items": [{"component": "wells/drill", "price": "1",
                                                          "quantity": 2**40}]}), 422, "items[0].quantity")


# ---------------------------------------------------------------- clearing runs and allocations

def test_clear_runs_and_allocation(app, analyst, users):
    rid = import_doc(app)
    funder = users("f@example.org", "funder")
    assert_error(funder.get(f"/rounds/{rid}/allocation"), 409)
    assert_error(analyst.post(f"/rounds/{rid}/clear"), 409)                     # still open
    analyst.post(f"/rounds/{rid}/close")
    assert_error(funder.post(f"/rounds/{rid}/clear"), 403)
    assert_error(analyst.post(f"/rounds/{rid}/clear?time_limit=0"), 422, "query.time_limit")
    queued = analyst.post(f"/rounds/{rid}/clear?time_limit=30")        # a job (run in the request here)
    assert queued.status_code == 202, queued.data
    assert queued.headers["Location"] == f"/api/v1/jobs/{queued.get_json()['id']}"
    job = analyst.get(queued.headers["Location"][len("/api/v1"):]).get_json()
    assert job["state"] == "succeeded" and job["time_limit"] == 30, job
    cleared = analyst.get(job["links"]["run"][len("/api/v1"):])
    body = cleared.get_json()
    assert body["run"]["id"] == job["run_id"] and body["run"]["is_result"]
    assert body["allocation"]["format"] == "swarm-allocation/1"
    runs = analyst.get(f"/rounds/{rid}/runs").get_json()
    assert [r["id"] for r in runs] == [body["run"]["id"]]
    assert analyst.get(f"/rounds/{rid}/runs/{runs[0]['id']}").get_json() == body
    assert_error(analyst.get(f"/rounds/{rid}/runs/999"), 404)
    assert_error(funder.get(f"/rounds/{rid}/runs"), 403)
    assert analyst.get(f"/rounds/{rid}/allocation").get_json() == body                   # the run's own
    whole = body["allocation"]
    assert {p["id"] for p in whole["pledges"]} == {"p1", "p2", "p3"}
    assert all(isinstance(p["spent"], str) and isinstance(p["returned"], str) for p in whole["pledges"])
    allocation = funder.get(f"/rounds/{rid}/allocation").get_json()["allocation"]
    assert allocation["pledges"] == [] and allocation["flows"] == []       # none of them its own or listed
    paying = {c["id"]: len({f["funder"] for f in whole["flows"] if f["component"].startswith(c["id"] + "/")})
              for c in whole["challenges"]}
    assert {c["id"]: c["funders"] for c in allocation["challenges"]} == paying and paying["wells"] >= 1
    assert allocation["awards"] and all(isinstance(a["price"], str) for a in allocation["awards"])
    assert_error(funder.get(f"/rounds/{rid}/bids/b1"), 404)     # bids stay sealed; awards are public


def test_a_clearing_that_fails_ends_its_job_failed_with_the_reason(app, analyst, monkeypatch):
    from market.services import clearing

    def crashing(market, options):
        raise RuntimeError("HiGHS returned status 13")

    monkeypatch.setattr(clearing, "clear", crashing)
    rid = import_doc(app)
    analyst.post(f"/rounds/{rid}/close")
    queued = analyst.post(f"/rounds/{rid}/clear?solver=highs")
    assert queued.status_code == 202, queued.data
    job = analyst.get(f"/jobs/{queued.get_json()['id']}").get_json()
    assert job["state"] == "failed" and job["backend"] == "highs" and "run" not in job["links"]
    assert job["reason"] == (f"round {rid} could not be cleared: the highs solver failed "
                             "(RuntimeError: HiGHS returned status 13)")
    assert analyst.get(f"/rounds/{rid}").get_json()["status"] == "closed"


# ---------------------------------------------------------------- solve

def test_a_solve_that_crashes_is_a_409(app, funder, monkeypatch):
    from solver import bounded

    def crashing(market, options, budget=None):
        raise RuntimeError("HiGHS returned status 13")

    monkeypatch.setattr(bounded, "clear", crashing)
    app.config["SOLVE_START_METHOD"] = "fork"       # the solve's child process keeps the patch
    body = assert_error(funder.post("/solve", market_doc()), 409, "")
    assert body["errors"][""] == ["the market could not be cleared: the solver failed "
                                  "(RuntimeError: HiGHS returned status 13)"]


def test_solve_a_market_document(funder):
    response = funder.post("/solve", market_doc())
    assert response.status_code == 200, response.data
    doc = response.get_json()
    assert doc["format"] == "swarm-allocation/1" and doc["status"] in ("optimal", "feasible")
    assert doc["unfunded"] == [] or all(u["reasons"] == [] for u in doc["unfunded"])
    explained = funder.post("/solve?explain=true", market_doc()).get_json()
    assert explained["cost"] == doc["cost"]


def test_solve_honours_its_time_limit_for_the_whole_request(app, funder, monkeypatch, tmp_path):
    """One budget, begun with the request, for the main solve and the reasons' extra solves: none is given
    more than is left of it, and the reasons it left no room for say so."""
    from solver import bounded
    slow = SlowSolves(monkeypatch, seconds=4)
    app.config["SOLVE_START_METHOD"] = "fork"       # the solve's child process keeps the patched clock...
    calls = tmp_path / "calls.json"
    real_clear = bounded._clear

    def clear_and_tell(*args):                      # ... and writes down the solves it saw, for this process
        try:
            return real_clear(*args)
        finally:
            calls.write_text(json.dumps(slow.calls))

    monkeypatch.setattr(bounded, "_clear", clear_and_tell)
    document = json.loads(WATER.read_text())
    response = funder.post("/solve?time_limit=20&explain=true", document)
    assert response.status_code == 200, response.data
    slow.calls = [tuple(call) for call in json.loads(calls.read_text())]
    slow.assert_within(20)
    reasons = [r for u in response.get_json()["unfunded"] for r in u["reasons"]]
    assert any(OUT_OF_TIME in r for r in reasons)


def test_solve_states_its_bounds(funder, anonymous):
    spec = anonymous.client.get(API + "/openapi.json").get_json()
    solve = spec["paths"]["/api/v1/solve"]["post"]
    limit = next(p for p in solve["parameters"] if p["name"] == "time_limit")
    assert limit["schema"]["maximum"] == 20 and limit["schema"]["default"] == 20
    assert limit["description"] == "seconds for the whole request, reasons included, 1..20"
    solve_doc = " ".join(solve["summary"].split())
    for stated in ("2 MB", "20000 bids", "at most 20 s, default 20", "the whole request, reasons included",
                   "not explained: time limit"):
        assert stated in solve_doc
    assert "`time_limit` 1-20 s (default 20) bounds the whole request" in " ".join(spec["info"]["description"].split())
    assert_error(funder.post("/solve?time_limit=20.5", market_doc()), 422, "query.time_limit")


def test_solve_errors(funder, anonymous):
    assert_error(anonymous.post("/solve", market_doc()), 401)
    bad = market_doc()
    bad["actors"][0]["bids"][0]["items"][0]["component"] = "wells/nope"
    body = assert_error(funder.post("/solve", bad), 422)
    assert any(k.startswith("actors[0].bids[0].items[0]") for k in body["errors"]), body
    assert_error(funder.post("/solve", [1]), 422, "")
    assert_error(funder.client.post(API + "/solve", data="nope", content_type="application/json",
                                    headers=funder.headers()), 400)
    many = market_doc()
    many["challenges"] = [{"id": f"c{i}", "components": [{"id": "x"}]} for i in range(501)]
    assert_error(funder.post("/solve", many), 413, "challenges")
    huge = funder.client.post(API + "/solve", data=b"{" + b" " * (2 * 1024 * 1024 + 10) + b"}",
                              content_type="application/json", headers=funder.headers())
    assert_error(huge, 413)
    assert_error(funder.post("/solve?time_limit=60", market_doc()), 422, "query.time_limit")


DEEP = "[" * 100_000 + "]" * 100_000            # deeper than Python's JSON decoder recurses


def test_json_nested_too_deep_is_a_400(funder, empty_round):
    for path in ("/solve", f"/rounds/{empty_round}/pledges"):
        for extra in ({}, {"Idempotency-Key": "deep-1"}):
            r = funder.client.post(API + path, data=DEEP, content_type="application/json",
                                   headers=funder.headers(extra))
            assert_error(r, 400)


def test_a_key_repeated_in_one_object_is_a_400_at_its_path(funder, empty_round):
    body = '{"amount": "5", "scope": {"challenges": ["wells"], "challenges": ["latrines"]}}'
    r = funder.client.post(f"{API}/rounds/{empty_round}/pledges", data=body, content_type="application/json",
                           headers=funder.headers())
    assert_error(r, 400, "scope.challenges")
    assert funder.get(f"/rounds/{empty_round}/pledges").get_json() == []
    twice = '{"format": "swarm-market/1", "challenges": [], "funders": [], "actors": [], "actors": []}'
    r = funder.client.post(API + "/solve", data=twice, content_type="application/json", headers=funder.headers())
    assert_error(r, 400, "actors")


# ---------------------------------------------------------------- error shapes

def test_unknown_paths_methods_and_sizes_are_json(funder, empty_round, client):
    assert_error(funder.get("/nowhere"), 404, "")
    assert_error(client.get(API + "/nowhere"), 404)
    response = funder.client.put(API + "/rounds", headers=funder.headers())
    assert_error(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    big = {"id": "big", "amount": "1", "scope": {"tags": ["x" * 100] * 11000}}
    assert_error(funder.post(f"/rounds/{empty_round}/pledges", big), 413)
    assert client.get("/no-such-page").mimetype == "text/html"        # the web keeps its HTML pages


def test_spec_and_docs_page(client):
    spec = client.get(API + "/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/rounds", "/api/v1/rounds/{round_id}/pledges/{key}", "/api/v1/solve",
                 "/api/v1/rounds/{round_id}/allocation", "/api/v1/rounds/{round_id}/clear",
                 "/api/v1/jobs/{job_id}", "/api/v1/jobs/{job_id}/cancel", "/api/v1/jobs/{job_id}/retry",
                 "/api/v1/rounds/{round_id}/jobs"):
        assert path in spec["paths"]
    assert spec["components"]["schemas"]["PledgeCreate"]["properties"]["amount"]["type"] == "string"
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    page = client.get(API + "/docs")
    assert page.status_code == 200 and b"/api/v1/rounds/{round_id}/pledges" in page.data
    assert b"/api/v1/jobs/{job_id}/cancel" in page.data
    assert b"<script" not in page.data and b"cdn" not in page.data.lower()


def test_a_crash_is_a_json_500_without_traceback(tmp_path, web_template, monkeypatch):
    from market import services
    from tests.web_fixtures import Accounts

    from tests.web_fixtures import make_app

    from .helpers import token_for
    app = make_app(tmp_path, web_template, TESTING=False, PROPAGATE_EXCEPTIONS=False)
    user_id = Accounts(app).create("crash@example.org", "funder")
    api = Api(app, token_for(app, user_id))

    def boom(session):
        raise RuntimeError("secret internals")
    monkeypatch.setattr(services, "list_rounds", boom)
    body = assert_error(api.get("/rounds"), 500, "")
    assert "secret" not in json.dumps(body) and "Traceback" not in json.dumps(body)
    web_db.dispose(app)


# ---------------------------------------------------------------- excluding from the clearing

def test_an_analyst_excludes_a_pledge_and_a_bid_and_the_owners_see_why(funder, actor, analyst, empty_round):
    base = f"/rounds/{empty_round}"
    pledged = funder.post(f"{base}/pledges", {"amount": "5"})
    bid = actor.post(f"{base}/bids", {"items": [{"component": "wells/drill", "price": "4"}]})
    assert pledged.status_code == bid.status_code == 201
    p, b = pledged.get_json()["id"], bid.get_json()["id"]            # the ids the server gave
    assert_error(analyst.post(f"{base}/pledges/{p}/exclude", {}), 422, "reason")
    assert_error(funder.post(f"{base}/pledges/{p}/exclude", {"reason": "mine"}), 403)
    assert_error(analyst.post(f"{base}/pledges/nope/exclude", {"reason": "r"}), 404)
    excluded = analyst.post(f"{base}/pledges/{p}/exclude", {"reason": "the fund is frozen"})
    assert excluded.status_code == 200 and excluded.get_json()["excluded"] == "the fund is frozen"
    assert funder.get(f"{base}/pledges/{p}").get_json()["excluded"] == "the fund is frozen"
    assert analyst.post(f"{base}/bids/{b}/exclude", {"reason": "priced in error"}).get_json()["excluded"] == \
        "priced in error"
    assert actor.get(f"{base}/bids/{b}").get_json()["excluded"] == "priced in error"
    assert analyst.post(f"{base}/bids/{b}/include").get_json()["excluded"] is None
    assert_error(analyst.post(f"{base}/bids/{b}/include"), 409, "")
    assert actor.get(f"{base}/bids/{b}").get_json()["excluded"] is None


def test_a_round_says_its_schedule_and_a_challenge_its_description_and_place(app, funder, empty_round):
    """Issue 19: the schedule an analyst set, and the narrative analysts write, are in the API too."""
    from datetime import UTC, datetime, timedelta

    from market import services
    from market.models import Challenge
    from web import db as web_db
    closes = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    with web_db.sessions(app).begin() as session:
        services.rounds.set_round_options(session, None, empty_round, {"closes_at": closes.isoformat()})
        challenge = session.query(Challenge).filter_by(round_id=empty_round).order_by(Challenge.position).first()
        challenge.description, challenge.place = "Twelve boreholes for dry-season water.", "Kisumu, Kenya"
        key = challenge.key
    got = funder.get(f"/rounds/{empty_round}").get_json()
    assert got["opens_at"] is None
    assert datetime.fromisoformat(got["closes_at"]) == closes
    shown = {c["id"]: c for c in funder.get(f"/rounds/{empty_round}/challenges").get_json()}
    assert shown[key]["description"] == "Twelve boreholes for dry-season water."
    assert shown[key]["place"] == "Kisumu, Kenya"
