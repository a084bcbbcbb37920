"""When an actor fails (issue 18), on the site: the analysts' contracts page (awards, standby bids), marking an
award failed, the failure's page with its repair market, a repair job and its review, the commit (which asks
for confirmation), and the funder's statement afterwards; nobody but staff reaches any of it."""
from __future__ import annotations

import json

from sqlalchemy import select

from market.models import Award, AwardFailure, Bid, ClearingRun
from market.services import settlement
from tests.web_fixtures import committed
from web import db as web_db


def award_of(app, bid_key):
    with web_db.sessions(app).begin() as session:
        return session.scalar(select(Award.id).join(Bid, Bid.id == Award.bid_id).where(Bid.key == bid_key))


def test_an_analyst_fails_an_award_repairs_it_and_the_funders_see_the_refund(app, accounts):
    round_id, analyst, _ = committed(app, accounts)
    page = analyst.get(f"/rounds/{round_id}/awards")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    award = award_of(app, "b3")                 # a2's latrines
    assert f'id="award-{award}"' in text and "none" in text
    for key in ("f1", "a1", "a2", "vera"):
        assert accounts.logged_in(f"{key}@example.org").get(f"/rounds/{round_id}/awards").status_code == 403
    assert analyst.post(f"/awards/{award}/fail", data={"reason": ""}).status_code == 302     # no reason: refused
    with web_db.sessions(app).begin() as session:
        assert session.scalar(select(AwardFailure.id)) is None
    made = analyst.post(f"/awards/{award}/fail", data={"reason": "the builder left the country"})
    with web_db.sessions(app).begin() as session:
        failure_id = session.scalar(select(AwardFailure.id))
    assert made.headers["Location"].endswith(f"/failures/{failure_id}")
    assert accounts.logged_in("a2@example.org").get(f"/failures/{failure_id}").status_code == 403
    market = analyst.get(f"/failures/{failure_id}/market.json")
    document = json.loads(market.get_data(as_text=True))
    assert document["format"] == "swarm-market/1.1" and [c["id"] for c in document["challenges"]] == ["latrines"]
    queued = analyst.post(f"/failures/{failure_id}/repair")
    assert queued.status_code == 302
    with web_db.sessions(app).begin() as session:
        run_id = session.scalar(select(ClearingRun.id).where(ClearingRun.kind == "repair"))
    assert run_id is not None, "the test app's queue runs jobs inline"
    shown = analyst.get(f"/failures/{failure_id}").get_data(as_text=True)
    assert f'id="repair-{run_id}"' in shown and "cannot be completed" in shown and "latrines" in shown
    # Not ticked as reviewed: nothing moves.
    assert analyst.post(f"/repairs/{run_id}/commit").status_code == 302
    with web_db.sessions(app).begin() as session:
        assert session.get(AwardFailure, failure_id).state == "open"
    assert analyst.post(f"/repairs/{run_id}/commit", data={"reviewed": "yes"}).status_code == 302
    with web_db.sessions(app).begin() as session:
        assert session.get(AwardFailure, failure_id).state == "refunded"
        assert settlement.check_ledger(session, round_id) == []
    statement = accounts.logged_in("f2@example.org").get(f"/rounds/{round_id}/statement").get_data(as_text=True)
    assert "cancelled" in statement or "failed, not delivered" in statement


def test_a_retender_takes_bids_and_money_through_the_site(app, accounts):
    round_id, analyst, _ = committed(app, accounts)
    award = award_of(app, "b3")
    analyst.post(f"/awards/{award}/fail", data={"reason": "the builder left"})
    with web_db.sessions(app).begin() as session:
        failure_id = session.scalar(select(AwardFailure.id))
    actor = accounts.logged_in("a1@example.org")
    assert actor.get(f"/tenders/{failure_id}").status_code == 404       # no re-tender open: no failure told
    assert actor.get(f"/tenders/{failure_id}/bid").status_code == 404
    assert "closed" in analyst.get(f"/tenders/{failure_id}").get_data(as_text=True)
    assert accounts.logged_in("a1@example.org").post(f"/failures/{failure_id}/tender",
                                                     data={"days": "7"}).status_code == 403
    assert analyst.post(f"/failures/{failure_id}/tender", data={"days": "99"}).status_code == 302
    with web_db.sessions(app).begin() as session:
        assert session.get(AwardFailure, failure_id).tender_until is None
    assert analyst.post(f"/failures/{failure_id}/tender", data={"days": "7"}).status_code == 302
    listing = actor.get("/tenders").get_data(as_text=True)
    assert f"/tenders/{failure_id}" in listing and "latrines" in listing
    form = actor.get(f"/tenders/{failure_id}/bid").get_data(as_text=True)
    assert "latrines/build" in form and "wells/drill" not in form
    sent = actor.post(f"/tenders/{failure_id}/bid", data={"items-0-component": "latrines/build",
                                                          "items-0-price": "2,300"})
    assert sent.status_code == 302, sent.get_data(as_text=True)
    funder = accounts.logged_in("f1@example.org")
    assert funder.post(f"/tenders/{failure_id}/pledge", data={"amount": "-5"}).status_code == 400
    assert funder.post(f"/tenders/{failure_id}/pledge", data={"amount": "100"}).status_code == 302
    with web_db.sessions(app).begin() as session:
        bid = session.scalar(select(Bid).where(Bid.tender_failure_id == failure_id))
        assert bid is not None and bid.items[0].price_cents == 230000
    assert analyst.post(f"/failures/{failure_id}/repair").status_code == 302
    shown = analyst.get(f"/failures/{failure_id}").get_data(as_text=True)
    assert "Newly awarded" in shown and "Completed: latrines" in shown


def test_swarm_repair_from_the_command_line_and_its_market_passes_swarm_verify(app, accounts, tmp_path):
    from tests.swarm import run, run_on
    round_id, _, _ = committed(app, accounts)
    url = app.config["DATABASE_URL"]
    awards = run_on(url, "repair", "awards", round_id)
    assert awards.exit_code == 0, awards.output
    assert "bid b3 by" in awards.output and "no standby bid" in awards.output and "track record" in awards.output
    failed = run_on(url, "repair", "fail", award_of(app, "b3"), "--reason", "the builder left")
    assert failed.exit_code == 0, failed.output
    failure_id = int(failed.output.split("failure ")[1].split(";")[0])
    again = run_on(url, "repair", "fail", award_of(app, "b3"), "--reason", "twice")
    assert again.exit_code == 2 and "already" in again.output
    market = tmp_path / "repair.json"
    assert run_on(url, "repair", "market", failure_id, "-o", market).exit_code == 0
    allocation = tmp_path / "allocation.json"
    solved = run("solve", market, "-o", allocation)
    assert solved.exit_code == 0 and "latrines/build: no eligible bid" in solved.output    # no standby bid
    checked = run("verify", market, allocation)
    assert checked.exit_code == 0, checked.output
    shown = run_on(url, "repair", "run", failure_id)
    assert shown.exit_code == 0 and "cannot be completed: latrines" in shown.output, shown.output
    run_id = int(shown.output.split("repair run ")[1].split(" ")[0])
    committed_now = run_on(url, "repair", "commit", run_id)
    assert committed_now.exit_code == 0 and f"failure {failure_id} refunded" in committed_now.output
    assert run_on(url, "ledger", "check", round_id).exit_code == 0
    records = run_on(url, "repair", "records", round_id, "--json")
    assert records.exit_code == 0 and json.loads(records.output)["a2"] < 1
    assert run_on(url, "rollover", "programme", round_id, "water").exit_code == 0
    assert "programme water" in run_on(url, "rollover", "show", round_id).output
