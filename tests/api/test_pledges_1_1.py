"""/api/v1 and market format 1.1: a pledge's min_spend, max_challenge_share, conditions and narrowing scope;
the funders a condition may name; analysts fixing bids, which stay sealed; the OpenAPI document."""
from __future__ import annotations

from sqlalchemy import select

from market.models import AuditLog
from tests.web_fixtures import Accounts, import_doc
from tests.small_market import draft_doc
from web import db as web_db

from .helpers import API, Users, assert_error


def pledges_url(round_id: int) -> str:
    return f"/rounds/{round_id}/pledges"


def test_a_pledge_carries_every_1_1_field_both_ways(any_app):
    """On SQLite and PostgreSQL: create, read, change and list with every field of version 1.1."""
    users = Users(any_app, Accounts(any_app))
    round_id = import_doc(any_app, draft_doc())
    ministry, funder = users("ministry@example.org", "funder"), users("funder@example.org", "funder")
    url = pledges_url(round_id)
    assert ministry.post(url, {"amount": "500000", "listed": True}).status_code == 201
    named = funder.get(f"/rounds/{round_id}/funders").get_json()
    assert named == [{"id": f"user-{ministry.user_id}", "name": "Ministry"}]
    created = funder.post(url, {
        "amount": "1000", "min_spend": "100.5", "max_challenge_share": 0.75,
        "conditions": [{"funder": named[0]["id"], "min": 200000}],
        "scope": {"tags": ["sdg:6.1"], "all_tags": ["sdg:6.1", "region:kenya"], "exclude_tags": ["conflict"]}})
    assert created.status_code == 201, created.data
    pledge = created.get_json()
    assert (pledge["min_spend"], pledge["max_challenge_share"], pledge["conditions"], pledge["scope"]) == (
        "100.50", 0.75, [{"funder": named[0]["id"], "min": "200000.00"}],
        {"tags": ["sdg:6.1"], "all_tags": ["sdg:6.1", "region:kenya"], "exclude_tags": ["conflict"]})
    assert funder.get(f"{url}/{pledge['id']}").get_json() == pledge
    assert funder.get(url).get_json() == [pledge]
    changed = funder.patch(f"{url}/{pledge['id']}", {"min_spend": None, "conditions": None,
                                                    "scope": {"exclude_tags": ["conflict"]}})
    assert changed.status_code == 200, changed.data
    assert (changed.get_json()["min_spend"], changed.get_json()["conditions"], changed.get_json()["scope"]) == (
        None, [], {"exclude_tags": ["conflict"]})
    plain = ministry.get(url).get_json()[0]                 # a version-1 pledge says so plainly
    assert (plain["min_spend"], plain["max_challenge_share"], plain["conditions"]) == (None, None, [])


def test_1_1_errors_name_the_api_field(users, funder, empty_round):
    url = pledges_url(empty_round)
    quiet = users("quiet@example.org", "funder")
    assert quiet.post(url, {"amount": "5"}).status_code == 201            # unlisted: not to be named
    me = f"user-{funder.user_id}"
    assert funder.post(url, {"amount": "1", "listed": True}).status_code == 201
    cases = [
        ({"amount": "10", "min_spend": "10.01"}, "min_spend"),
        ({"amount": "10", "min_spend": "0"}, "min_spend"),
        ({"amount": "10", "min_spend": 1.5}, "min_spend"),
        ({"amount": "10", "max_challenge_share": 0}, "max_challenge_share"),
        ({"amount": "10", "max_challenge_share": 1.01}, "max_challenge_share"),
        ({"amount": "10", "conditions": [{"funder": me, "min": "1"}]}, "conditions[0].funder"),
        ({"amount": "10", "conditions": [{"funder": f"user-{quiet.user_id}", "min": "1"}]}, "conditions[0].funder"),
        ({"amount": "10", "conditions": [{"funder": "nobody", "min": "1"}]}, "conditions[0].funder"),
        ({"amount": "10", "conditions": [{"funder": "a", "min": "1"}, {"funder": "a", "min": "1"}]},
         "conditions[1].funder"),
        ({"amount": "10", "conditions": [{"funder": "a", "min": "0"}]}, "conditions[0].min"),
        ({"amount": "10", "conditions": [{"funder": "a", "min": "1", "extra": 1}]}, "conditions[0].extra"),
        ({"amount": "10", "scope": {"all_tags": [1]}}, "scope.all_tags[0]"),
        ({"amount": "10", "scope": {"exclude_tags": "x"}}, "scope.exclude_tags"),
    ]
    for body, field in cases:
        assert_error(funder.post(url, body), 422, field)
    # The unlisted funder and an unknown key get the same words: nothing tells that one exists.
    messages = [funder.post(url, {"amount": "1", "conditions": [{"funder": key, "min": "1"}]}).get_json()
                ["errors"]["conditions[0].funder"][0].replace(key, "KEY") for key in (f"user-{quiet.user_id}", "zz")]
    assert messages[0] == messages[1]
    mine = funder.post(url, {"amount": "100", "min_spend": "60"}).get_json()["id"]
    body = assert_error(funder.patch(f"{url}/{mine}", {"amount": "59"}), 422, "amount")
    assert "min_spend (60.00) must be at most the amount (59.00)" in body["errors"]["amount"][0]
    assert len(funder.get(url).get_json()) == 2


def test_the_funders_to_name_are_for_funders_and_staff(users, funder, actor, analyst, empty_round):
    assert funder.post(pledges_url(empty_round), {"amount": "1", "listed": True}).status_code == 201
    assert funder.get(f"/rounds/{empty_round}/funders").get_json() == []               # never itself
    assert analyst.get(f"/rounds/{empty_round}/funders").get_json() == [
        {"id": f"user-{funder.user_id}", "name": "Funder"}]
    assert_error(actor.get(f"/rounds/{empty_round}/funders"), 403)
    assert_error(funder.get("/rounds/999/funders"), 404)


def test_an_analyst_fixes_a_bid_that_stays_sealed(app, users, actor, analyst, funder, empty_round):
    base = f"/rounds/{empty_round}/bids"
    made = actor.post(base, {"items": [{"component": "wells/drill", "price": "4"}]})
    assert made.status_code == 201 and made.get_json()["fixed"] is False and made.get_json()["fixed_reason"] is None
    bid = made.get_json()["id"]
    assert_error(actor.post(f"{base}/{bid}/fix", {"reason": "mine"}), 403)
    assert_error(funder.post(f"{base}/{bid}/fix", {"reason": "x"}), 403)
    assert_error(analyst.post(f"{base}/{bid}/fix", {}), 422, "reason")
    assert_error(analyst.post(f"{base}/nope/fix", {"reason": "x"}), 404)
    fixed = analyst.post(f"{base}/{bid}/fix", {"reason": "contract 17"}, headers={"Idempotency-Key": "fix-1"})
    assert fixed.status_code == 200 and (fixed.get_json()["fixed"], fixed.get_json()["fixed_reason"]) == (
        True, "contract 17")
    again = analyst.post(f"{base}/{bid}/fix", {"reason": "contract 17"}, headers={"Idempotency-Key": "fix-1"})
    assert again.headers.get("Idempotent-Replayed") == "true" and again.get_json() == fixed.get_json()
    assert_error(analyst.post(f"{base}/{bid}/fix", {"reason": "again"}), 409, "")
    assert actor.get(f"{base}/{bid}").get_json()["fixed"] is True                     # its actor sees it
    other = users("other-actor@example.org", "actor")
    assert_error(other.get(f"{base}/{bid}"), 404)                                     # nobody else sees the bid
    assert other.get(base).get_json() == []
    assert_error(actor.patch(f"{base}/{bid}", {"load": 1}), 409, "")                   # contracted
    assert_error(actor.delete(f"{base}/{bid}"), 409, "")
    unfixed = analyst.post(f"{base}/{bid}/unfix", {"reason": "cancelled"})
    assert unfixed.status_code == 200 and unfixed.get_json()["fixed"] is False
    assert actor.patch(f"{base}/{bid}", {"load": 1}).status_code == 200
    with web_db.sessions(app).begin() as session:
        log = [(a.who, a.action, a.details["reason"]) for a in session.execute(
            select(AuditLog).where(AuditLog.action.in_(["fix", "unfix"])).order_by(AuditLog.id)).scalars()]
    assert log == [("analyst@example.org", "fix", "contract 17"), ("analyst@example.org", "unfix", "cancelled")]


def test_the_openapi_document_shows_the_1_1_fields(client):
    spec = client.get(API + "/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    create = schemas["PledgeCreate"]["properties"]
    assert {"min_spend", "max_challenge_share", "conditions"} <= set(create)
    assert create["min_spend"]["type"] == "string"
    scope = schemas["Scope"]["properties"]
    assert {"challenges", "components", "tags", "all_tags", "exclude_tags"} <= set(scope)
    assert set(schemas["Condition"]["properties"]) == {"funder", "min"}
    assert {"min_spend", "max_challenge_share", "conditions"} <= set(schemas["PledgeOut"]["properties"])
    assert set(schemas["ScopeOut"]["properties"]) == {"challenges", "components", "tags", "all_tags", "exclude_tags"}
    assert {"fixed", "fixed_reason"} <= set(schemas["BidOut"]["properties"])
    assert "fixed" not in schemas["BidCreate"]["properties"]                 # an actor cannot fix its own
    for path in ("/api/v1/rounds/{round_id}/bids/{key}/fix", "/api/v1/rounds/{round_id}/bids/{key}/unfix"):
        assert "post" in spec["paths"][path]
    assert "get" in spec["paths"]["/api/v1/rounds/{round_id}/funders"]
