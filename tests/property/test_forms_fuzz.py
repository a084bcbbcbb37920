"""Random input through every web form, on SQLite and PostgreSQL (where a NUL or a 64-bit number was a
500): random strings (control characters, NULs, other scripts' digits), numbers beyond every column and
JSON-looking nesting in every field, row numbers beyond the form's rows, and random ids in the URLs. No
answer is a 5xx and none shows a traceback."""
from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market import services
from tests.web_fixtures import Accounts, import_doc
from web import db as web_db

EXAMPLES = 40

NUMBERS = st.one_of(st.integers(-2**70, 2**70), st.sampled_from([2**31, 2**31 - 1, 2**63, 10**13, 999_999_999,
                                                                   10**9, -1, 0]),
                    st.floats(allow_nan=True, allow_infinity=True))
TEXT = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8", categories=("Cc", "Nd", "Zs", "Po")), max_size=20),
    NUMBERS.map(str),
    st.recursive(st.none() | st.integers() | st.text(max_size=5), lambda inner: st.lists(inner, max_size=3)
                 | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=20).map(json.dumps),
    st.integers(1, 2000).map(lambda depth: "[" * depth + "]" * depth),
)
# What a browser (or anyone) may send: a field left out, given once, or given several times.
VALUE = st.one_of(TEXT, st.lists(TEXT, min_size=2, max_size=3))


def fields(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Some of the form's own fields, and now and then one it does not have, each with a random value."""
    names_ = st.sampled_from(names) | st.text(max_size=12) if names else st.text(max_size=12)
    return st.dictionaries(names_, VALUE, max_size=len(names) + 1)


def rows(prefix: str, names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Fields of a row form (`items-0-price`), at row numbers from 0 to beyond any form's rows."""
    return st.dictionaries(st.builds(lambda row, name: f"{prefix}-{row}-{name}",
                                     st.one_of(st.integers(0, 3), NUMBERS.map(str)), st.sampled_from(names)),
                           VALUE, max_size=8)


def assert_no_server_error(response: Any, what: str) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code < 500, (what, response.status_code, body[:2000])
    assert "Traceback" not in body, (what, body[:2000])


def _fuzz(client: FlaskClient, method: str, path: st.SearchStrategy[str], data: st.SearchStrategy[dict[str, Any]],
          query: st.SearchStrategy[dict[str, Any]] | None = None) -> None:
    @given(path=path, data=data, query=query if query is not None else st.just({}))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(path: str, data: dict[str, Any], query: dict[str, Any]) -> None:
        response = client.open(path, method=method, data=data, query_string=query)
        assert_no_server_error(response, f"{method} {path} {data!r} {query!r}")

    run()


def ids(known: int) -> st.SearchStrategy[str]:
    return st.one_of(st.just(str(known)), NUMBERS.filter(lambda n: isinstance(n, int) and n >= 0).map(str))


def keys(known: str) -> st.SearchStrategy[str]:
    return st.one_of(st.just(known), st.text(st.characters(codec="utf-8", exclude_characters="/?#%"), min_size=1,
                                             max_size=70))


def _seed(app: Flask) -> tuple[Accounts, int, int]:
    round_id = import_doc(app)
    with web_db.sessions(app).begin() as session:
        draft = services.create_round(session, None, {"name": "draft"}).id
    return Accounts(app), round_id, draft


def test_the_account_forms_take_anything(any_app):
    _seed(any_app)
    client = any_app.test_client()
    _fuzz(client, "POST", st.just("/signup"), fields(["name", "email", "password", "role"]))
    _fuzz(client, "POST", st.just("/login"), fields(["email", "password"]), st.dictionaries(st.just("next"), TEXT))
    accounts = Accounts(any_app)
    funder = accounts.client_for("fund@example.org", "funder")
    _fuzz(funder, "POST", st.just("/tokens"), fields(["name"]))
    _fuzz(funder, "POST", ids(1).map(lambda t: f"/tokens/{t}/revoke"), fields(["csrf_token"]))


def test_the_pledge_and_bid_forms_take_anything(any_app):
    accounts, round_id, _ = _seed(any_app)
    funder = accounts.client_for("fund@example.org", "funder")
    assert funder.post(f"/rounds/{round_id}/pledges/new", data={"amount": "10"}).status_code == 302
    with web_db.sessions(any_app).begin() as session:
        own = [p.key for p in services.visible_pledges(session, None, round_id) if p.key.startswith("p-u")][0]
    pledge = fields(["amount", "challenges", "tags", "components", "max_share", "match"])
    _fuzz(funder, "POST", ids(round_id).map(lambda r: f"/rounds/{r}/pledges/new"), pledge)
    _fuzz(funder, "POST", st.builds(lambda r, k: f"/rounds/{r}/pledges/{k}/edit", ids(round_id), keys(own)), pledge)
    _fuzz(funder, "POST", keys(own).map(lambda k: f"/rounds/{round_id}/pledges/{k}/withdraw"), fields([]))
    actor = accounts.client_for("act@example.org", "actor")
    bid = st.builds(lambda top, items: top | items, fields(["reliability", "load", "exclusive_group"]),
                    rows("items", ["component", "quantity", "price"]))
    _fuzz(actor, "POST", ids(round_id).map(lambda r: f"/rounds/{r}/bids/new"), bid)
    _fuzz(actor, "POST", keys("b1").map(lambda k: f"/rounds/{round_id}/bids/{k}/edit"), bid)


def test_the_analyst_forms_take_anything(any_app):
    accounts, round_id, draft = _seed(any_app)
    analyst = accounts.client_for("ana@example.org", "analyst")
    _fuzz(analyst, "POST", st.just("/analyst/"), fields(["name", "currency", "note"]))
    challenge = st.builds(lambda top, components: top | components,
                          fields(["id", "title", "tags", "value", "reliability"]),
                          rows("components", ["id", "title", "unit", "quantity", "critical", "value", "requires",
                                              "min_reliability", "max_unit_price"]))
    _fuzz(analyst, "POST", ids(draft).map(lambda r: f"/analyst/rounds/{r}/challenges/new"), challenge)
    _fuzz(analyst, "POST", st.builds(lambda r, k: f"/analyst/rounds/{r}/challenges/{k}/edit", ids(draft),
                                     keys("wells")), challenge)
    _fuzz(analyst, "GET", ids(round_id).map(lambda r: f"/analyst/rounds/{r}/allocation.json"), st.just({}),
          st.dictionaries(st.just("run"), TEXT))
    _fuzz(analyst, "POST", st.builds(lambda r, verb: f"/analyst/rounds/{r}/{verb}", ids(draft),
                                     st.sampled_from(["open", "close", "reopen"])), fields([]))
