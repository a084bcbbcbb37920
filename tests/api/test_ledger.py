"""/api/v1 and the ledger (issue 17, first step): commit a cleared round, read money, record deposits with
idempotency keys; who may do what."""
from __future__ import annotations

from market import services
from tests.web_fixtures import Accounts, cleared
from web import db as web_db

from .helpers import Users, assert_error


def setup(app):
    users = Users(app, Accounts(app))
    round_id = cleared(app)
    f1, f2 = users("f1@example.org", "funder"), users("f2@example.org", "funder")
    with web_db.sessions(app).begin() as session:
        services.link_participant(session, None, round_id, "f1", f1.user_id)
        services.link_participant(session, None, round_id, "f2", f2.user_id)
    return round_id, users("ana@example.org", "analyst"), f1, f2, users("admin@example.org", "admin")


def test_commit_money_and_deposits(any_app):
    """On SQLite and PostgreSQL."""
    round_id, analyst, f1, f2, admin = setup(any_app)
    base = f"/rounds/{round_id}"
    assert analyst.get(f"{base}/money").get_json() == {"round": round_id, "committed": False,
                                                       "committed_amount": "0.00", "deposited_amount": "0.00",
                                                       "phase": "cleared"}
    assert_error(f1.post(f"{base}/commit"), 403)
    committed = analyst.post(f"{base}/commit")
    assert committed.status_code == 200, committed.data
    body = committed.get_json()
    assert body["committed"] is True and body["deposited_amount"] == "0.00" and body["phase"] == "committed"
    assert_error(analyst.post(f"{base}/commit"), 409)
    assert_error(f1.get(f"{base}/money"), 403)
    money = f1.get(f"{base}/pledges/p1/money").get_json()
    assert money == {"pledge": "p1", "round": round_id, "committed": "9000.00", "in_escrow": "9000.00",
                     "deposited": "0.00", "owed": "9000.00"}
    assert_error(f2.get(f"{base}/pledges/p1/money"), 404)                 # not yours: as if absent
    once = {"Idempotency-Key": "deposit-1"}
    first = f1.post(f"{base}/pledges/p1/deposits", {"amount": "1000", "reference": "wire 9"}, headers=once)
    assert first.status_code == 201, first.data
    assert first.get_json()["deposited"] == "1000.00" and first.get_json()["owed"] == "8000.00"
    again = f1.post(f"{base}/pledges/p1/deposits", {"amount": "1000", "reference": "wire 9"}, headers=once)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert f1.get(f"{base}/pledges/p1/money").get_json()["deposited"] == "1000.00"     # counted once
    assert_error(f1.post(f"{base}/pledges/p1/deposits", {"amount": "8000.01"}), 422, "amount")
    assert_error(f1.post(f"{base}/pledges/p1/deposits", {"amount": "ten"}), 422, "amount")
    assert_error(f2.post(f"{base}/pledges/p1/deposits", {"amount": "1"}), 404)
    assert_error(analyst.post(f"{base}/pledges/p1/deposits", {"amount": "1"}), 403)
    rest = admin.post(f"{base}/pledges/p1/deposits", {"amount": "8000", "reference": "bank transfer 12"})
    assert rest.status_code == 201 and rest.get_json()["owed"] == "0.00"
    assert_error(f1.post(f"{base}/pledges/p1/deposits", {"amount": "0.01"}), 409)
    assert analyst.get(f"{base}/money").get_json()["deposited_amount"] == "9000.00"
    with web_db.sessions(any_app).begin() as session:
        assert services.check_ledger(session, round_id) == []


def test_terms_read_and_changed_until_the_commit(any_app):
    round_id, analyst, f1, _, _ = setup(any_app)
    url = f"/rounds/{round_id}/terms"
    assert f1.get(url).get_json() == {"round": round_id, "holdback_percent": 10, "service_days": 90,
                                      "review_days": 14, "delivery_days": 180, "holdback_report_days": 30,
                                      "committed": False}
    assert_error(f1.patch(url, {"holdback_percent": 5}), 403)
    assert_error(analyst.patch(url, {"holdback_percent": 51}), 422, "holdback_percent")
    assert_error(analyst.patch(url, {"review_days": "a week"}), 422, "review_days")
    changed = analyst.patch(url, {"holdback_percent": 15})
    assert changed.status_code == 200 and changed.get_json()["holdback_percent"] == 15
    assert changed.get_json()["service_days"] == 90
    later = analyst.patch(url, {"delivery_days": 365, "holdback_report_days": 60})
    assert later.status_code == 200 and (later.get_json()["delivery_days"], later.get_json()["holdback_report_days"]) \
        == (365, 60)
    assert_error(analyst.patch(url, {"delivery_days": 0}), 422, "delivery_days")
    analyst.post(f"/rounds/{round_id}/commit")
    assert f1.get(url).get_json()["committed"] is True
    assert_error(analyst.patch(url, {"holdback_percent": 20}), 409)
