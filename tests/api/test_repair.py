"""/api/v1 when an actor fails (issue 18): a bid's standby offer (given, shown, withdrawn by its actor only), the
re-tenders open, a re-tender bid (actors, on the failure's challenges only) and new money for the repair
(funders)."""
from __future__ import annotations

from sqlalchemy import select

from market.models import Award, Bid
from market.services import repair, tender
from tests.web_fixtures import Accounts, import_doc
from tests.small_market import market_doc
from web import db as web_db

from .helpers import Users, assert_error


def test_standby_offers_and_retenders_through_the_api(app):
    users = Users(app, Accounts(app))
    doc = market_doc()
    doc["funders"], doc["actors"] = [], []
    round_id = import_doc(app, doc)
    people = {key: users(f"{key}@example.org", role) for key, role in
              (("f1", "funder"), ("a1", "actor"), ("a2", "actor"), ("ana", "analyst"))}
    f1, a1, a2, ana = people["f1"], people["a1"], people["a2"], people["ana"]
    assert f1.post(f"/rounds/{round_id}/pledges", {"amount": "12000", "rollover": True}).get_json()["rollover"]
    won = a1.post(f"/rounds/{round_id}/bids", {"items": [{"component": "wells/drill", "price": "8000"},
                                                         {"component": "wells/pump", "price": "1500"}]})
    assert won.status_code == 201, won.data
    offer = a2.post(f"/rounds/{round_id}/bids", {"items": [{"component": "wells/drill", "price": "8500"},
                                                           {"component": "wells/pump", "price": "1600"}],
                                                 "standby_days": 30, "standby_price": "9400"})
    assert offer.status_code == 201, offer.data
    standby = offer.get_json()
    assert (standby["standby_days"], standby["standby_price"], standby["standby_withdrawn"]) == (30, "9400.00", False)
    assert_error(a2.post(f"/rounds/{round_id}/bids", {"items": [{"component": "wells/drill", "price": "1"}],
                                                      "standby_price": "1"}), 422, "standby_price")
    assert ana.post(f"/rounds/{round_id}/close").status_code == 200
    cleared = ana.post(f"/rounds/{round_id}/clear")
    assert cleared.status_code == 202, cleared.data
    assert ana.post(f"/rounds/{round_id}/commit").status_code == 200
    # Only its actor withdraws the offer; to anyone else the bid does not exist.
    assert a1.delete(f"/rounds/{round_id}/bids/{standby['id']}/standby").status_code == 404
    assert ana.delete(f"/rounds/{round_id}/bids/{standby['id']}/standby").status_code == 403
    assert a1.delete(f"/rounds/{round_id}/bids/{won.get_json()['id']}/standby").status_code == 409
    withdrawn = a2.delete(f"/rounds/{round_id}/bids/{standby['id']}/standby")
    assert withdrawn.status_code == 200 and withdrawn.get_json()["standby_withdrawn"] is True
    assert a2.delete(f"/rounds/{round_id}/bids/{standby['id']}/standby").status_code == 409
    # The winner fails; an analyst opens a re-tender.
    with web_db.sessions(app).begin() as session:
        award = session.scalar(select(Award.id).join(Bid, Bid.id == Award.bid_id)
                               .where(Bid.key == won.get_json()["id"]))
        failure = repair.fail_award(session, None, award, {"reason": "gone"})
        tender.open_tender(session, None, failure.id, {"days": 5})
        failure_id = failure.id
    listed = a2.get("/tenders").get_json()
    assert listed == [{"failure": failure_id, "round": round_id, "challenges": ["wells"],
                       "until": listed[0]["until"]}]
    bad = a2.post(f"/tenders/{failure_id}/bids", {"items": [{"component": "latrines/build", "price": "1"}]})
    assert_error(bad, 422, "items[0].component")
    assert f1.post(f"/tenders/{failure_id}/bids", {"items": [{"component": "wells/drill", "price": "1"}]}
                   ).status_code == 403
    bid = a2.post(f"/tenders/{failure_id}/bids", {"items": [{"component": "wells/drill", "price": "8000"},
                                                            {"component": "wells/pump", "price": "1500"}]})
    assert bid.status_code == 201, bid.data
    assert a1.get(f"/rounds/{round_id}/bids/{bid.get_json()['id']}").status_code == 404      # sealed
    assert a2.post(f"/tenders/{failure_id}/pledges", {"amount": "10"}).status_code == 403
    money = f1.post(f"/tenders/{failure_id}/pledges", {"amount": "250.50"})
    assert money.status_code == 201, money.data
    assert money.get_json()["scope"] == {"challenges": ["wells"]} and money.get_json()["amount"] == "250.50"
    assert f1.post("/tenders/999999/pledges", {"amount": "1"}).status_code == 404
