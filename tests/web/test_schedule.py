"""A round's schedule (issue 19): opening and closing times set by an analyst, shown with a countdown, and
pledges and bids refused from the closing time on even if no analyst has closed the round."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from market import services
from market.errors import InvalidInput, RoundNotOpen
from web import db as web_db
from web.filters import schedule


def test_the_schedule_reads_as_a_countdown():
    now = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
    assert schedule(None, None, "open", now) == ""
    closes = now + timedelta(days=3, hours=4, minutes=5)
    assert schedule(None, closes, "open", now) == "Closes to pledges and bids on 2027-01-04 16:05 UTC, in 3 days 4 hours"
    assert schedule(None, now + timedelta(minutes=30), "open", now).endswith("in 30 minutes")
    assert schedule(None, now - timedelta(hours=1), "open", now) == "Closed to pledges and bids since 2027-01-01 11:00 UTC"
    assert schedule(now + timedelta(days=1), closes, "draft", now).startswith("Opens 2027-01-02 12:00 UTC, in 1 day")
    assert schedule(None, closes, "cleared", now) == ""


def test_pledges_and_bids_are_refused_after_the_closing_time(app, accounts, empty_round):
    analyst = accounts.client_for("ana@example.org", "analyst")
    funder = accounts.client_for("f@example.org", "funder")
    soon = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    sent = analyst.post(f"/rounds/{empty_round}/options", data={"reliability_source": "declared", "programme": "",
                                                               "closes_at": soon})
    assert sent.status_code == 302
    page = funder.get(f"/rounds/{empty_round}").get_data(as_text=True)
    assert "Closes to pledges and bids on" in page and "in 1 day" in page and "Make a pledge" in page
    assert funder.post(f"/rounds/{empty_round}/pledges/new", data={"amount": "100"}).status_code == 302
    with web_db.sessions(app).begin() as session:
        services.rounds.set_round_options(session, None, empty_round,
                                          {"closes_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()})
    with web_db.sessions(app).begin() as session, pytest.raises(RoundNotOpen, match="closed at"):
        services.pledge(session, None, empty_round, {"id": "late", "funder": "fx", "amount": "100"})
    page = funder.get(f"/rounds/{empty_round}").get_data(as_text=True)
    assert "Closed to pledges and bids since" in page and "Make a pledge" not in page
    assert funder.post(f"/rounds/{empty_round}/pledges/new", data={"amount": "100"}).status_code == 409
    with web_db.sessions(app).begin() as session, pytest.raises(InvalidInput) as refused:
        services.rounds.set_round_options(session, None, empty_round, {"opens_at": "2030-01-01T00:00",
                                                                        "closes_at": "2029-01-01T00:00"})
    assert refused.value.fields == {"closes_at": "after the opening time"}
    with web_db.sessions(app).begin() as session, pytest.raises(InvalidInput):
        services.rounds.set_round_options(session, None, empty_round, {"closes_at": "next tuesday"})
