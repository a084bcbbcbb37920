"""Bad input at the API, on SQLite and PostgreSQL: control characters in every text field of a body are a
422 naming the field, and ids beyond their 32-bit columns a 404 (a NUL and such an id were 500s on
PostgreSQL)."""
from __future__ import annotations

import pytest

from tests.web_fixtures import Accounts, import_doc

from .helpers import Users, assert_error


@pytest.mark.parametrize("bad", ["a\x00b", "a\x1bb", "a\x9bb"], ids=["nul", "esc", "c1"])
def test_text_with_control_characters_is_a_422_naming_the_field(any_app, bad):
    users = Users(any_app, Accounts(any_app))
    analyst, funder, actor = (users("ana@example.org", "analyst"), users("fund@example.org", "funder"),
                              users("act@example.org", "actor"))
    round_id = import_doc(any_app)
    draft = analyst.post("/rounds", json={"name": "draft", "note": "first\r\n\tsecond"})
    assert draft.status_code == 201 and draft.get_json()["note"] == "first\r\n\tsecond"
    draft_id = draft.get_json()["id"]
    challenge = {"id": "c", "components": [{"id": "k"}]}
    cases = [
        (analyst, "/rounds", {"name": bad}, "name"),
        (analyst, "/rounds", {"name": "r", "note": bad}, "note"),
        (analyst, f"/rounds/{draft_id}/challenges", challenge | {"title": bad}, "title"),
        (analyst, f"/rounds/{draft_id}/challenges", challenge | {"tags": [bad]}, "tags[0]"),
        (analyst, f"/rounds/{draft_id}/challenges", {"id": "c", "components": [{"id": "k", "unit": bad}]},
         "components[0].unit"),
        (funder, f"/rounds/{round_id}/pledges", {"amount": "1", "scope": {"tags": [bad]}}, "scope.tags[0]"),
        (actor, f"/rounds/{round_id}/bids", {"items": [{"component": "wells/drill", "price": "1"}],
                                             "exclusive_group": bad}, "exclusive_group"),
    ]
    for api, path, body, field in cases:
        assert_error(api.post(path, json=body), 422, field)
    assert_error(analyst.post("/rounds", json={"name": "r"}, headers={"Idempotency-Key": "k\x00"}), 422,
                 "header.Idempotency-Key")


@pytest.mark.parametrize("big", [2**31, 2**63 - 1])
def test_ids_beyond_their_columns_are_not_found(any_app, big):
    users = Users(any_app, Accounts(any_app))
    analyst = users("ana@example.org", "analyst")
    round_id = import_doc(any_app)
    for path in (f"/rounds/{big}", f"/rounds/{big}/challenges", f"/rounds/{big}/pledges", f"/rounds/{big}/bids",
                 f"/rounds/{big}/runs", f"/rounds/{big}/allocation", f"/rounds/{round_id}/runs/{big}",
                 f"/rounds/{big}/pledges/p1"):
        assert_error(analyst.get(path), 404)
    for verb in ("open", "close", "reopen", "clear"):
        assert_error(analyst.post(f"/rounds/{big}/{verb}"), 404)
    assert_error(analyst.delete(f"/rounds/{big}/pledges/p1"), 404)
    assert analyst.get(f"/rounds?page={big}").status_code == 200
