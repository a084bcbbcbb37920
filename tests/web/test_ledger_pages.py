"""The ledger on the site (issue 17, first step): an analyst commits a cleared round; a funder sees what its
pledge owes and records deposits; nobody else can."""
from __future__ import annotations

import html
import re

from market import services
from tests.web_fixtures import cleared
from web import db as web_db


def text_of(response):
    """The page's text: tags dropped, white space collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def setup(app, accounts):
    round_id = cleared(app)
    ids = {}
    for email, key in (("f1@example.org", "f1"), ("f2@example.org", "f2")):
        ids[key] = accounts.create(email, "funder")
        with web_db.sessions(app).begin() as session:
            services.link_participant(session, None, round_id, key, ids[key])
    f1 = app.test_client()
    accounts.login(f1, "f1@example.org")
    f2 = app.test_client()
    accounts.login(f2, "f2@example.org")
    analyst = accounts.client_for("ana@example.org", "analyst")
    return round_id, analyst, f1, f2


def test_an_analyst_commits_and_the_round_page_says_so(app, accounts):
    round_id, analyst, f1, _ = setup(app, accounts)
    page = text_of(analyst.get(f"/analyst/rounds/{round_id}"))
    assert "Commit the result" in page and "Clear again" in page
    assert f1.post(f"/analyst/rounds/{round_id}/commit").status_code == 403
    done = analyst.post(f"/analyst/rounds/{round_id}/commit", follow_redirects=True)
    page = text_of(done)
    assert f"Round {round_id} committed" in page
    assert "Committed: " in page and "held in escrow" in page
    assert "Commit the result" not in page and "Clear again" not in page
    again = text_of(analyst.post(f"/analyst/rounds/{round_id}/commit", follow_redirects=True))
    assert f"Round {round_id} was not committed: round {round_id}'s clearing is committed already." in again


def test_a_funder_records_deposits_up_to_what_it_owes(app, accounts):
    round_id, analyst, f1, f2 = setup(app, accounts)
    before = text_of(f1.get(f"/rounds/{round_id}/pledges"))
    assert "Record the deposit" not in before                    # nothing committed yet
    analyst.post(f"/analyst/rounds/{round_id}/commit")
    page = text_of(f1.get(f"/rounds/{round_id}/pledges"))
    assert "Committed 9,000.00 USD · deposited 0.00 USD · still to pay in 9,000.00 USD" in page
    assert "Record the deposit" in page
    ok = text_of(f1.post(f"/rounds/{round_id}/pledges/p1/deposit", data={"amount": "100", "reference": "wire 7"},
                         follow_redirects=True))
    assert "Deposit of 100.00 recorded for pledge p1." in ok and "deposited 100.00" in ok
    too_much = text_of(f1.post(f"/rounds/{round_id}/pledges/p1/deposit", data={"amount": "99,999,999"},
                               follow_redirects=True))
    assert "No deposit recorded for pledge p1: at most what the pledge owes" in too_much
    bad = text_of(f1.post(f"/rounds/{round_id}/pledges/p1/deposit", data={"amount": "lots"}, follow_redirects=True))
    assert "No deposit recorded for pledge p1:" in bad
    # Another funder's pledge does not exist for f2; an analyst does not record deposits.
    assert f2.post(f"/rounds/{round_id}/pledges/p1/deposit", data={"amount": "1"}).status_code == 404
    assert 'id="pledge-p1"' not in f2.get(f"/rounds/{round_id}/pledges").get_data(as_text=True)
    refused = analyst.post(f"/rounds/{round_id}/pledges/p1/deposit", data={"amount": "1"})
    assert refused.status_code in (302, 403)
    with web_db.sessions(app).begin() as session:
        assert services.check_ledger(session, round_id) == []


def test_an_analyst_sets_the_terms_until_the_commit(app, accounts):
    round_id, analyst, f1, _ = setup(app, accounts)
    page = analyst.get(f"/analyst/rounds/{round_id}").get_data(as_text=True)
    assert 'name="holdback_percent"' in page and 'value="10"' in page
    bad = text_of(analyst.post(f"/analyst/rounds/{round_id}/terms", data={
        "holdback_percent": "80", "service_days": "90", "review_days": "14",
        "delivery_days": "180", "holdback_report_days": "30"}, follow_redirects=True))
    assert ("The terms were not changed: the percent of each item's price held back: a whole number from 0 to 50."
            in bad)
    bad = text_of(analyst.post(f"/analyst/rounds/{round_id}/terms", data={
        "holdback_percent": "ten", "service_days": "90", "review_days": "14",
        "delivery_days": "180", "holdback_report_days": "30"}, follow_redirects=True))
    assert "The terms were not changed: the percent of each item's price held back" in bad
    assert f1.post(f"/analyst/rounds/{round_id}/terms", data={"holdback_percent": "5"}).status_code == 403
    ok = text_of(analyst.post(f"/analyst/rounds/{round_id}/terms", data={
        "holdback_percent": "20", "service_days": "180", "review_days": "7", "delivery_days": "365",
        "holdback_report_days": "45"}, follow_redirects=True))
    assert "Settlement terms saved." in ok
    analyst.post(f"/analyst/rounds/{round_id}/commit")
    page = text_of(analyst.get(f"/analyst/rounds/{round_id}"))
    assert "its price less 20% on a verified delivery" in page and "after 180 days of service" in page
    assert "within 7 days" in page and "Save the terms" not in page
    assert "reported within 365 days of the commit" in page and "reported within 45 days after that" in page
    late = text_of(analyst.post(f"/analyst/rounds/{round_id}/terms", data={
        "holdback_percent": "5", "service_days": "90", "review_days": "14",
        "delivery_days": "180", "holdback_report_days": "30"}, follow_redirects=True))
    assert "The terms were not changed: round " in late and "follow the terms it had then" in late


def test_after_the_commit_the_actor_sees_its_milestones_and_the_funder_what_it_pays_of_each(app, accounts):
    round_id, analyst, f1, _ = setup(app, accounts)
    actor_id = accounts.create("drill@example.org", "actor")
    with web_db.sessions(app).begin() as session:
        services.link_participant(session, None, round_id, "a1", actor_id)
    actor = app.test_client()
    accounts.login(actor, "drill@example.org")
    assert "Milestones" not in text_of(actor.get(f"/rounds/{round_id}/bids"))
    analyst.post(f"/analyst/rounds/{round_id}/commit")
    bids = text_of(actor.get(f"/rounds/{round_id}/bids"))
    # b1: drill 8,000.00 and pump 1,500.25, each less a 10% holdback (rounded down to the cent).
    # amount, paid, held (in escrow), state
    assert "wells/drill delivery, paid on a verified delivery report 2 7,200.00 USD 0.00 USD 7,200.00 USD open" in bids
    assert ("wells/drill holdback, paid after 90 days of service on a second verification 2 800.00 USD 0.00 USD "
            "800.00 USD open") in bids
    assert ("wells/pump delivery, paid on a verified delivery report 1 1,350.23 USD 0.00 USD 1,350.23 USD "
            "open") in bids
    assert ("wells/pump holdback, paid after 90 days of service on a second verification 1 150.02 USD 0.00 USD "
            "150.02 USD open") in bids
    pledges = text_of(f1.get(f"/rounds/{round_id}/pledges"))
    assert "Your part" in pledges and "wells/drill DrillCo delivery of 2" in pledges
    assert "holdback, after 90 days of service" in pledges
