"""Bad input at the web pages, on SQLite and PostgreSQL: control characters in the forms' text fields are
shown next to the field (a NUL was a 500 on PostgreSQL), and round ids beyond their 32-bit column or keys
that are no ids in a URL are pages not found (both were 500s on PostgreSQL)."""
from __future__ import annotations

import re

import pytest

from tests.web_fixtures import Accounts, import_doc


def error_of(page: bytes, field: str) -> str:
    found = re.search(rf'<p class="error" id="{re.escape(field)}-err">([^<]*)</p>', page.decode())
    assert found, page.decode()[:3000]
    return found.group(1)


@pytest.mark.parametrize("bad, message", [("a\x00b", "NUL character"), ("a\x1bb", "control character (U+001B)"),
                                          ("a\x85b", "control character (U+0085)")], ids=["nul", "esc", "c1"])
def test_forms_show_control_characters_next_to_their_field(any_app, bad, message):
    accounts = Accounts(any_app)
    round_id = import_doc(any_app)
    analyst = accounts.client_for("ana@example.org", "analyst")
    r = analyst.post("/analyst/", data={"name": bad, "currency": "USD"})
    assert r.status_code == 400 and message in error_of(r.data, "name")
    r = analyst.post("/analyst/", data={"name": "r", "currency": "USD", "note": f"line\r\n{bad}"})
    assert r.status_code == 400 and message in error_of(r.data, "note")
    r = analyst.post("/analyst/", data={"name": "r", "currency": "USD", "note": "line one\r\n\tline two"})
    assert r.status_code == 302
    draft = int(r.headers["Location"].rsplit("/", 1)[1])
    challenge = {"id": "c", "components-0-id": "k", "components-0-critical": "y"}
    for field in ("title", "components-0-unit", "components-0-title"):
        r = analyst.post(f"/analyst/rounds/{draft}/challenges/new", data=challenge | {field: bad})
        assert r.status_code == 400 and message in error_of(r.data, field), field
    actor = accounts.client_for("act@example.org", "actor")
    r = actor.post(f"/rounds/{round_id}/bids/new", data={"items-0-component": "wells/drill", "items-0-price": "10",
                                                        "exclusive_group": bad})
    assert r.status_code == 400 and message in error_of(r.data, "exclusive_group")
    funder = accounts.client_for("fund@example.org", "funder")
    r = funder.post(f"/rounds/{round_id}/pledges/new", data={"amount": "10", "tags": ["sdg:6.1", bad]})
    assert r.status_code == 400 and message in r.data.decode()
    r = funder.post("/tokens", data={"name": bad})
    assert r.status_code == 400 and message in r.data.decode()
    r = any_app.test_client().post("/signup", data={"name": bad, "email": "new@example.org", "password": "x" * 12,
                                                    "role": "funder"})
    assert r.status_code == 400 and message in error_of(r.data, "name")
    r = any_app.test_client().post("/login", data={"email": f"ana{bad}@example.org", "password": "x"})
    assert r.status_code == 400 and "Wrong email or password" in r.data.decode()


def test_urls_no_row_can_have_are_not_found(any_app):
    accounts = Accounts(any_app)
    round_id = import_doc(any_app)
    analyst = accounts.client_for("ana@example.org", "analyst")
    funder = accounts.client_for("fund@example.org", "funder")
    for big in (2**31, 2**63 - 1):
        assert analyst.get(f"/rounds/{big}").status_code == 404
        assert analyst.get(f"/analyst/rounds/{big}").status_code == 404
        assert analyst.get(f"/rounds/{big}/results").status_code == 404
        assert analyst.get(f"/analyst/rounds/{big}/allocation.json?run=1").status_code == 404
        assert analyst.get(f"/analyst/rounds/{big}/allocation.csv?run=1").status_code == 404
        assert funder.get(f"/rounds/{big}/pledges/new").status_code == 404
        assert funder.post(f"/tokens/{big}/revoke").status_code == 404
    for key in ("a%00b", "p1%0A", "a%01"):
        assert analyst.get(f"/rounds/{round_id}/challenges/{key}").status_code == 404
        assert analyst.get(f"/analyst/rounds/{round_id}/challenges/{key}/edit").status_code == 404
        assert funder.get(f"/rounds/{round_id}/pledges/{key}/edit").status_code == 404
        assert funder.post(f"/rounds/{round_id}/pledges/{key}/withdraw").status_code == 404
