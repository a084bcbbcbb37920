"""Actors' pages: bundle bids, my bids, edit and withdraw, sealed bids, won or lost and why."""
from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from market import services
from market.models import Bid
from web import db as web_db

BUNDLE = {"items-0-component": "wells/drill", "items-0-price": "8,123.45", "items-1-component": "wells/pump",
          "items-1-quantity": "1", "items-1-price": "1,500.25", "reliability": "0.95", "load": "1",
          "exclusive_group": "east"}


def bids(app):
    with web_db.sessions(app).begin() as session:
        return [(b.key, [(f"{i.component.challenge.key}/{i.component.key}", i.quantity, i.price_cents) for i in b.items],
                 b.reliability, b.load, b.exclusive_group, b.withdrawn)
                for b in session.execute(select(Bid).order_by(Bid.id)).scalars()]


@pytest.fixture
def actor(accounts):
    return accounts.client_for("act@example.org", "actor")


def test_bid_form_offers_every_component_in_rows(actor, empty_round):
    page = actor.get(f"/rounds/{empty_round}/bids/new").data.decode()
    assert page.count('<option value="wells/drill">') == 4
    assert '<label for="items-0-price">' in page and '<label for="exclusive_group">' in page


def test_bundle_bid(app, actor, empty_round):
    r = actor.post(f"/rounds/{empty_round}/bids/new", data=BUNDLE)
    assert r.status_code == 302, r.data.decode()
    [(key, items, reliability, load, group, withdrawn)] = bids(app)
    assert items == [("wells/drill", None, 812345), ("wells/pump", 1, 150025)]
    assert (reliability, load, group, withdrawn) == (0.95, 1.0, "east", False)
    page = actor.get(f"/rounds/{empty_round}/bids").data.decode()
    assert "9,623.70 USD" in page and "8,123.45" in page and "exclusive group east" in page


@pytest.mark.parametrize("row, value, message", [
    ("items-1-price", "-3", "must not be negative"), ("items-1-price", "1e9", "no exponents"),
    ("items-1-price", "abc", "not an amount"), ("items-1-quantity", "0", "a whole number of at least 1"),
    ("items-1-price", "", "enter a price"), ("items-1-component", "", "choose a component"),
    ("reliability", "1.5", "at most 1"), ("load", "-1", "must not be negative"),
    ("items-1-quantity", "\u0663", "a whole number of at least 1"), ("load", "\u0661", "enter a number"),
    ("items-1-quantity", "1000000000", "at most 999,999,999"), ("load", "1" + "0" * 12, "at most 1,000,000"),
    ("reliability", "0.0000001", "at least 0.001"), ("items-1-price", "100000000", "at most 99,999,999.99"), ("items-1-quantity", "9" * 5000, "at most")])
def test_bad_fields_are_marked_and_input_kept(app, actor, empty_round, row, value, message):
    r = actor.post(f"/rounds/{empty_round}/bids/new", data=BUNDLE | {row: value})
    page = r.data.decode()
    assert r.status_code == 400
    assert message in page and f'id="{row}-err"' in page
    assert 'value="8,123.45"' in page and 'value="east"' in page
    assert bids(app) == []


def test_service_errors_land_on_the_right_row(app, actor, empty_round):
    data = {"items-0-component": "wells/drill", "items-0-price": "10", "items-2-component": "wells/drill",
            "items-2-price": "20"}
    r = actor.post(f"/rounds/{empty_round}/bids/new", data=data)
    page = html.unescape(r.data.decode())
    assert r.status_code == 400 and 'id="items-1-component-err"' in page and "repeats items[0]" in page
    r = actor.post(f"/rounds/{empty_round}/bids/new", data={"items-3-component": "elsewhere/x",
                                                            "items-3-price": "5"})
    page = html.unescape(r.data.decode())
    assert r.status_code == 400 and 'unknown component "elsewhere/x"' in page
    assert 'id="items-0-component-err"' in page and 'value="5"' in page
    assert bids(app) == []


def test_an_empty_bid_is_refused(app, actor, empty_round):
    r = actor.post(f"/rounds/{empty_round}/bids/new", data={"reliability": "0.9"})
    assert r.status_code == 400 and "a bid needs at least one item" in r.data.decode()
    assert 'value="0.9"' in r.data.decode()


def test_edit_and_withdraw_own_bid(app, actor, empty_round):
    actor.post(f"/rounds/{empty_round}/bids/new", data=BUNDLE)
    key = bids(app)[0][0]
    form = actor.get(f"/rounds/{empty_round}/bids/{key}/edit").data.decode()
    assert 'value="8,123.45"' in form and 'value="0.95"' in form and 'value="east"' in form
    assert '<option selected value="wells/pump">' in form
    r = actor.post(f"/rounds/{empty_round}/bids/{key}/edit", data={"items-0-component": "latrines/build",
                                                                   "items-0-price": "x"})
    assert r.status_code == 400 and bids(app)[0][1][0][0] == "wells/drill"
    r = actor.post(f"/rounds/{empty_round}/bids/{key}/edit", data={"items-0-component": "latrines/build",
                                                                   "items-0-price": "2,400"})
    assert r.status_code == 302
    assert bids(app)[0][1:5] == ([("latrines/build", None, 240000)], None, 0.0, None)
    assert actor.post(f"/rounds/{empty_round}/bids/{key}/withdraw").status_code == 302
    assert bids(app)[0][5] is True
    assert actor.get(f"/rounds/{empty_round}/bids/{key}/edit").status_code == 404


def test_bids_are_sealed_before_clearing(app, accounts, actor, empty_round):
    actor.post(f"/rounds/{empty_round}/bids/new", data=BUNDLE)
    key = bids(app)[0][0]
    rival = accounts.client_for("rival@example.org", "actor")
    funder = accounts.client_for("fund@example.org", "funder")
    anonymous = app.test_client()
    pages = ["/", f"/rounds/{empty_round}", f"/rounds/{empty_round}/challenges/wells",
             f"/rounds/{empty_round}/results", f"/rounds/{empty_round}/bids"]
    for client in (rival, funder, anonymous):
        for url in pages:
            page = client.get(url).data.decode()
            assert "8,123.45" not in page and "8123.45" not in page and key not in page, (url, page)
    assert rival.get(f"/rounds/{empty_round}/bids/{key}/edit").status_code == 404
    assert rival.post(f"/rounds/{empty_round}/bids/{key}/edit", data={"items-0-component": "wells/drill",
                                                                      "items-0-price": "1"}).status_code == 404
    assert rival.post(f"/rounds/{empty_round}/bids/{key}/withdraw").status_code == 404
    assert funder.get(f"/rounds/{empty_round}/bids").status_code == 403
    assert funder.get(f"/rounds/{empty_round}/bids/{key}/edit").status_code == 403
    assert funder.post(f"/rounds/{empty_round}/bids/new", data=BUNDLE).status_code == 403
    assert bids(app)[0][1][0][2] == 812345 and bids(app)[0][5] is False
    # the gap signal says only that the components have an eligible bid
    page = funder.get(f"/rounds/{empty_round}/challenges/wells").data.decode()
    assert "2 of 2 critical components have an eligible bid" in page


def test_after_clearing_only_awards_are_shown(app, accounts, actor, empty_round):
    funder = accounts.client_for("fund@example.org", "funder")
    funder.post(f"/rounds/{empty_round}/pledges/new", data={"amount": "10,000", "challenges": ["wells"]})
    actor.post(f"/rounds/{empty_round}/bids/new", data=BUNDLE | {"exclusive_group": ""})
    rival = accounts.client_for("rival@example.org", "actor")
    rival.post(f"/rounds/{empty_round}/bids/new", data={"items-0-component": "wells/drill", "items-0-price": "9,876.54",
                                                        "items-1-component": "wells/pump", "items-1-price": "1,111.11"})
    rival.post(f"/rounds/{empty_round}/bids/new", data={"items-0-component": "latrines/build",
                                                        "items-0-price": "4,321.09"})
    with web_db.sessions(app).begin() as session:
        services.close_round(session, None, empty_round)
    services.clear_round(web_db.sessions(app), None, empty_round)
    mine = actor.get(f"/rounds/{empty_round}/bids").data.decode()
    assert "won" in mine and "you deliver these items and are paid 9,623.70 USD" in mine
    lost = rival.get(f"/rounds/{empty_round}/bids").data.decode()
    assert "Why it lost" in lost and "lost" in lost
    assert "covered by other awarded bids" in lost and "latrines" in lost and "was not completed" in lost
    for client in (funder, app.test_client(), rival, actor):
        for url in (f"/rounds/{empty_round}", f"/rounds/{empty_round}/results",
                    f"/rounds/{empty_round}/challenges/wells", f"/rounds/{empty_round}/challenges/latrines"):
            page = client.get(url).data.decode()
            if client is not rival:
                assert "9,876.54" not in page and "4,321.09" not in page and "1,111.11" not in page, url
    results = funder.get(f"/rounds/{empty_round}/results").data.decode()
    assert "9,623.70" in results            # the award is public after clearing
    assert "8,123.45" in funder.get(f"/rounds/{empty_round}/challenges/wells").data.decode()
    assert actor.get(f"/rounds/{empty_round}/bids/x/edit").status_code == 404
