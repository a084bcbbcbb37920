"""The main path with the test client: a pledge, a bundle bid, the analyst clears, everyone sees the outcome."""
from __future__ import annotations

from tests.small_market import market_doc
from tests.web_fixtures import Accounts, import_doc


def test_pledge_bid_clear_outcome(any_app):
    accounts = Accounts(any_app)
    doc = market_doc()
    doc["funders"], doc["actors"] = [], []
    empty_round = import_doc(any_app, doc)
    funder = accounts.client_for("fund@example.org", "funder")
    actor = accounts.client_for("act@example.org", "actor")
    analyst = accounts.client_for("ana@example.org", "analyst")
    r = funder.post(f"/rounds/{empty_round}/pledges/new", data={"amount": "20,000.00"})
    assert r.status_code == 302, r.data.decode()
    r = actor.post(f"/rounds/{empty_round}/bids/new", data={
        "items-0-component": "wells/drill", "items-0-price": "8000", "items-1-component": "wells/pump",
        "items-1-price": "1,500.25"})
    assert r.status_code == 302, r.data.decode()
    r = analyst.post(f"/analyst/rounds/{empty_round}/clear")               # closes the open round, then clears
    assert r.status_code == 302, r.data.decode()
    assert f"Round {empty_round} cleared" in analyst.get(r.headers["Location"]).data.decode()
    results = funder.get(f"/rounds/{empty_round}/results").data.decode()
    assert "9,500.25 USD" in results and "10,499.75 USD" in results          # paid, and returned
    assert "9,500.25" in funder.get(f"/rounds/{empty_round}/pledges").data.decode()
    mine = actor.get(f"/rounds/{empty_round}/bids").data.decode()
    assert "won" in mine and "are paid 9,500.25 USD" in mine
    assert f"/rounds/{empty_round}/bids/" not in mine.replace(f"/rounds/{empty_round}/bids/new", "")  # no edit links
