"""Funders' pages, market format 1.1: the pledge form's new fields (minimum spend, share of a project's
budget, conditions on other funders, "and all of these tags", "never these tags"), the preview of what a
scope admits, the pledge page's report after clearing, and who may see a pledge's conditions."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from market.models import Pledge
from market.scope_preview import describe
from tests.small_market import draft_doc
from tests.web_fixtures import import_doc
from web import db as web_db

# The story: a foundation that means "sanitation in Kenya" ticks region:kenya and sector:sanitation.
CHALLENGES = [
    {"id": "ke-bore", "title": "Kenya boreholes", "tags": ["region:kenya", "sector:water"], "value": 100,
     "components": [{"id": "drill", "quantity": 2, "max_unit_price": "10000"}, {"id": "pump"}]},
    {"id": "ke-san", "title": "Kenya latrines", "tags": ["region:kenya", "sector:sanitation"], "value": 100,
     "components": [{"id": "build", "quantity": 4, "max_unit_price": "2500.50"}]},
    {"id": "ug-san", "title": "Uganda latrines", "tags": ["region:uganda", "sector:sanitation"], "value": 100,
     "components": [{"id": "build", "quantity": 1, "max_unit_price": "7000"}]},
    {"id": "ke-north", "title": "Turkana latrines", "tags": ["region:kenya", "sector:sanitation", "risk:conflict"],
     "value": 100, "components": [{"id": "build", "max_unit_price": "3000"}]},
]


def tagged_round(app) -> int:
    doc = draft_doc()
    doc["challenges"] = CHALLENGES
    return import_doc(app, doc)


def stored(app):
    with web_db.sessions(app).begin() as session:
        return [(p.key, p.amount_cents, p.scope) for p in session.execute(select(Pledge).order_by(Pledge.id)).scalars()]


@pytest.fixture
def funder(accounts):
    return accounts.client_for("fund@example.org", "funder")


def admitted(page: str) -> list[str]:
    """The challenge keys the page's preview lists, in order."""
    return re.findall(r'<tr id="admits-([^"]+)">', page)


def preview(client, round_id, **fields):
    r = client.post(f"/rounds/{round_id}/pledges/new", data={"amount": "1000", "preview": "1", **fields})
    return r, r.data.decode()


# ---------------------------------------------------------------- the preview

def test_any_of_two_tags_admits_either_and_says_so(app, funder):
    round_id = tagged_round(app)
    r, page = preview(funder, round_id, tags=["region:kenya", "sector:sanitation"])
    assert r.status_code == 200 and stored(app) == []              # a preview saves nothing
    assert admitted(page) == ["ke-bore", "ke-san", "ug-san", "ke-north"]
    text = html.unescape(page)
    assert "at least one of region:kenya or sector:sanitation (any one is enough)" in text
    assert 'tick them under "and all of these tags"' in text
    # the reserves: 2 x 10,000 + 4 x 2,500.50 + 7,000 + 3,000 (the pump states none)
    assert '<strong id="preview-total">40,002.00 USD</strong>' in page
    assert "1 component without a reserve price not counted" in text
    # the boxes stay ticked, the amount kept
    assert 'checked id="tags-0" name="tags" type="checkbox" value="region:kenya"' in page
    assert 'value="1000"' in page


def test_all_of_two_tags_admits_only_both(app, funder):
    round_id = tagged_round(app)
    _, page = preview(funder, round_id, all_tags=["region:kenya", "sector:sanitation"])
    assert admitted(page) == ["ke-san", "ke-north"]
    assert "Every component of a challenge tagged region:kenya and sector:sanitation." in html.unescape(page)
    assert '<strong id="preview-total">13,002.00 USD</strong>' in page


def test_never_these_tags_wins(app, funder):
    round_id = tagged_round(app)
    _, page = preview(funder, round_id, all_tags=["region:kenya", "sector:sanitation"], exclude_tags=["risk:conflict"])
    assert admitted(page) == ["ke-san"]
    assert ("Every component of a challenge tagged region:kenya and sector:sanitation, but never in a challenge "
            "tagged risk:conflict.") in html.unescape(page)
    assert '<strong id="preview-total">10,002.00 USD</strong>' in page
    _, page = preview(funder, round_id, exclude_tags=["region:kenya"])        # alone: from every challenge
    assert admitted(page) == ["ug-san"]
    _, page = preview(funder, round_id, challenges=["ke-bore"], all_tags=["sector:sanitation"])
    assert "This scope admits nothing in this round" in page and admitted(page) == []


def test_a_component_left_out_is_named(app, funder):
    round_id = tagged_round(app)
    _, page = preview(funder, round_id, components=["ke-bore/drill"])
    assert admitted(page) == ["ke-bore"] and "not in scope: ke-bore/pump" in page
    assert '<strong id="preview-total">20,000.00 USD</strong>' in page


def test_nothing_ticked_is_every_challenge(app, funder):
    round_id = tagged_round(app)
    page = funder.get(f"/rounds/{round_id}/pledges/new").data.decode()
    assert admitted(page) == ["ke-bore", "ke-san", "ug-san", "ke-north"]
    assert "Every component of every challenge of the round." in page


def test_a_preview_with_a_bad_amount_still_previews_and_saves_nothing(app, funder):
    round_id = tagged_round(app)
    r, page = preview(funder, round_id, amount="abc", tags=["sector:water"])
    assert r.status_code == 200 and admitted(page) == ["ke-bore"] and stored(app) == []


def test_the_preview_needs_the_csrf_token(app, funder):
    round_id = tagged_round(app)
    app.config["WTF_CSRF_ENABLED"] = True
    r = funder.post(f"/rounds/{round_id}/pledges/new", data={"amount": "1", "preview": "1"})
    assert r.status_code == 400 and stored(app) == []
    page = funder.get(f"/rounds/{round_id}/pledges/new").data.decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = funder.post(f"/rounds/{round_id}/pledges/new", data={"csrf_token": token, "amount": "1", "preview": "1",
                                                            "all_tags": ["region:uganda"]})
    assert r.status_code == 200 and admitted(r.data.decode()) == ["ug-san"] and stored(app) == []


def test_describe_in_words():
    assert describe(None) == "Every component of every challenge of the round."
    assert describe({}) == "Nothing: this scope admits no component."
    assert describe({"challenges": ["w"], "tags": ["t"], "all_tags": ["a", "b"]}, {"w": "Wells"}) == (
        "Every component of challenge Wells (w); or every component of a challenge tagged t; but only where the "
        "challenge is also tagged a and b.")
