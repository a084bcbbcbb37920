"""When an actor fails (issue 18): standby offers, marking an award failed, the repair market (a version-1.1 market
the engine's checker and `swarm verify` accept), its job, review and commit; refunds to the cent when a challenge
cannot be completed; the ledger check after every step."""
from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import select

from market import services
from market.errors import Conflict, Forbidden, NotFound, WrongState
from market.models import (Award, AwardFailure, Bid, Milestone, MilestoneFunding, Pledge, Role, RoundActor,
                           utcnow)
from market.repair_market import standby_prices
from market.services import repair, settlement
from market.worker import InlineQueue, run_job
from solver.loading import parse_market
from solver.verify import verify_allocation

from .helpers import import_round
from .test_ledger import check

MARKET: dict[str, Any] = {
    "format": "swarm-market/1", "name": "repairable", "currency": "USD",
    "challenges": [
        {"id": "wells", "title": "Wells in Kisumu", "tags": ["region:kenya"], "value": 1000, "reliability": 0.8,
         "components": [{"id": "drill", "quantity": 2}, {"id": "pump", "requires": ["drill"]}]},
        {"id": "latrines", "value": 400, "components": [{"id": "build", "quantity": 3}]},
    ],
    "funders": [
        {"id": "f1", "name": "Foundation", "pledges": [{"id": "p1", "amount": "9000", "max_share": 0.7}]},
        {"id": "f2", "name": "Ministry", "pledges": [{"id": "p2", "amount": "6000"}]},
    ],
    "actors": [
        {"id": "a1", "name": "DrillCo", "reliability": 0.95, "bids": [
            {"id": "b1", "items": [{"component": "wells/drill", "price": "6000"}]}]},
        {"id": "a2", "name": "PumpCo", "bids": [
            {"id": "b2", "items": [{"component": "wells/pump", "price": "1000"}], "reliability": 0.9}]},
        {"id": "a3", "name": "BackupDrill", "reliability": 0.9, "bids": [
            {"id": "b3", "items": [{"component": "wells/drill", "price": "7000"}]}]},
        {"id": "a4", "name": "LatrineCo", "bids": [
            {"id": "b4", "items": [{"component": "latrines/build", "price": "2400"}]}]},
    ],
}


def committed_round(db, standby: dict[str, Any] | None = None, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """The market above, b3 standing by 60 days at 5,500 (unless `standby` says otherwise), closed, cleared, committed; every actor
    with an account."""
    analyst = db.user("ana@example.org", Role.ANALYST)
    round_id = import_round(db, copy.deepcopy(doc or MARKET))
    users = {key: db.user(f"{key}@example.org", Role.ACTOR) for key in ("a1", "a2", "a3", "a4")}
    users.update({key: db.user(f"{key}@example.org", Role.FUNDER) for key in ("f1", "f2")})
    with db.sessions.begin() as session:
        for key, user in users.items():
            services.link_participant(session, None, round_id, key, user.id)
    with db.sessions.begin() as session:
        services.change_bid(session, users["a3"], round_id, "b3", standby if standby is not None else
                            {"standby_days": 60, "standby_price": "5500"})
        services.close_round(session, None, round_id)
    services.clear_round(db.sessions, analyst, round_id)
    with db.sessions.begin() as session:
        services.commit_run(session, analyst, round_id)
    return dict(db=db, round_id=round_id, analyst=analyst, **users)


def award_of(db, round_id, bid_key):
    with db.sessions.begin() as session:
        return session.scalar(select(Award.id).join(Bid, Bid.id == Award.bid_id)
                              .where(Bid.round_id == round_id, Bid.key == bid_key).order_by(Award.id))


def fail(m, bid_key, reason="the rig broke down"):
    with m["db"].sessions.begin() as session:
        return repair.fail_award(session, m["analyst"], award_of(m["db"], m["round_id"], bid_key),
                                 {"reason": reason}).id


def run_repair(m, failure_id):
    """Queue and run the repair job inline, as `swarm repair run` does; the run's id."""
    with m["db"].sessions.begin() as session:
        job_id = repair.submit_repair(session, m["analyst"], failure_id).id
    assert run_job(m["db"].sessions, job_id, "test") == "succeeded"
    with m["db"].sessions.begin() as session:
        return session.scalar(select(repair.Job.run_id).where(repair.Job.id == job_id))


def escrow_of(db, round_id):
    with db.sessions.begin() as session:
        ids = dict(session.execute(select(Pledge.key, Pledge.id).where(Pledge.round_id == round_id)).all())
        money = settlement.pledges_money(session, list(ids.values()))
        return {key: money[i] for key, i in ids.items()}


def test_a_failed_award_is_replaced_by_the_standby_bid_and_the_money_follows(db):
    m = committed_round(db)
    assert check(db, m["round_id"]) == []
    before = escrow_of(db, m["round_id"])
    net_before = sum(p.committed - p.refunded for p in before.values())
    failure_id = fail(m, "b1")
    assert check(db, m["round_id"]) == []
    with db.sessions.begin() as session:
        states = set(session.scalars(select(Milestone.state).where(
            Milestone.award_id == award_of(db, m["round_id"], "b1"))))
    assert states == {"failed"}
    # The repair market: the wells challenge only, b2 fixed at its unpaid price, b3 on standby, the money in escrow.
    with db.sessions.begin() as session:
        document, plan = repair.repair_market(session, m["analyst"], failure_id)
    assert [c["id"] for c in document["challenges"]] == ["wells"]
    assert document["format"] == "swarm-market/1.1"
    bids = {b["id"]: b for a in document["actors"] for b in a["bids"]}
    assert set(bids) == {"b2", "b3"} and bids["b2"]["fixed"] and not bids["b3"].get("fixed")
    assert bids["b2"]["items"][0]["price"] == "1000.00" and bids["b3"]["items"][0]["price"] == "5500.00"
    market = parse_market(json.loads(json.dumps(document)), "repair")
    run_id = run_repair(m, failure_id)
    with db.sessions.begin() as session:
        run = repair.repair_run(session, m["analyst"], run_id)
        assert verify_allocation(market, run.allocation) == []
        seen = repair.review(session, m["analyst"], run_id)
    assert seen.completed == ["wells"] and seen.abandoned == []
    assert [(a.bid, a.actor, a.price_cents) for a in seen.new_awards] == [("b3", "BackupDrill", 550000)]
    assert seen.failed == ["DrillCo"] and seen.reliability == {"wells": pytest.approx(0.81)}
    assert not seen.committed
    with db.sessions.begin() as session:
        repair.commit_repair(session, m["analyst"], run_id)
    assert check(db, m["round_id"]) == []
    after = escrow_of(db, m["round_id"])
    # The standby costs 500 less than the failed award (5,500 for 6,000): that much goes back to the pledges.
    net_after = sum(p.committed - p.refunded for p in after.values())
    assert net_after == net_before - 50000
    assert sum(p.refunded for p in after.values()) - sum(p.refunded for p in before.values()) == 600000
    with db.sessions.begin() as session:
        failure = session.get(AwardFailure, failure_id)
        assert (failure.state, failure.resolved_run_id) == ("repaired", run_id)
        a3 = session.scalar(select(RoundActor.id).where(RoundActor.round_id == m["round_id"], RoundActor.key == "a3"))
        new = session.scalars(select(Milestone).where(Milestone.actor_id == a3).order_by(Milestone.id)).all()
        assert [x.kind for x in new] == ["delivery", "holdback"]
        assert sum(x.amount_cents for x in new) == 550000
        for x in new:
            assert sum(f.amount_cents for f in session.scalars(select(MilestoneFunding).where(
                MilestoneFunding.milestone_id == x.id))) == x.amount_cents
    with db.sessions.begin() as session, pytest.raises(WrongState, match="committed already"):
        repair.commit_repair(session, m["analyst"], run_id)


def test_a_repair_without_a_standby_refunds_the_escrow_to_the_cent(db):
    m = committed_round(db, standby={"standby_days": None})
    before = escrow_of(db, m["round_id"])
    failure_id = fail(m, "b1")
    run_id = run_repair(m, failure_id)
    with db.sessions.begin() as session:
        seen = repair.review(session, m["analyst"], run_id)
        wells = session.scalars(select(Milestone).join(Award, Award.id == Milestone.award_id)
                                .where(Milestone.round_id == m["round_id"])).all()
        held = {x.id: {f.pledge_id: f.amount_cents for f in x.funding} for x in wells}
    assert seen.status == "infeasible" and seen.abandoned == ["wells"] and seen.new_awards == []
    with db.sessions.begin() as session:
        repair.commit_repair(session, m["analyst"], run_id)
    assert check(db, m["round_id"]) == []
    after = escrow_of(db, m["round_id"])
    with db.sessions.begin() as session:
        ids = dict(session.execute(select(Pledge.id, Pledge.key)).all())
        states = dict(session.execute(select(Milestone.id, Milestone.state)).all())
    # Every cent each pledge held for the wells went back to it; the latrines' escrow is untouched.
    for key in ("p1", "p2"):
        wells_cents = sum(f.get(pid, 0) for mid, f in held.items() if states[mid] in ("failed", "cancelled")
                          for pid in f if ids[pid] == key)
        assert after[key].refunded - before[key].refunded == wells_cents
        assert after[key].in_escrow == before[key].in_escrow - wells_cents
    with db.sessions.begin() as session:
        assert session.get(AwardFailure, failure_id).state == "refunded"
    assert set(states.values()) >= {"failed", "cancelled", "open"}


def test_standby_offers_are_withdrawn_by_their_actor_only_and_expire(db):
    m = committed_round(db)
    with db.sessions.begin() as session, pytest.raises(Forbidden):
        services.bids.withdraw_standby(session, m["analyst"], m["round_id"], "b3")
    with db.sessions.begin() as session, pytest.raises(NotFound):
        services.bids.withdraw_standby(session, m["a1"], m["round_id"], "b3")
    with db.sessions.begin() as session, pytest.raises(WrongState, match="offers no standby"):
        services.bids.withdraw_standby(session, m["a1"], m["round_id"], "b1")
    with db.sessions.begin() as session:
        services.bids.withdraw_standby(session, m["a3"], m["round_id"], "b3")
    failure_id = fail(m, "b1")
    with db.sessions.begin() as session:
        document, _ = repair.repair_market(session, m["analyst"], failure_id)
    assert {b["id"] for a in document["actors"] for b in a["bids"]} == {"b2"}


def test_a_repair_run_is_not_committed_once_its_market_changed(db):
    m = committed_round(db)
    failure_id = fail(m, "b1")
    run_id = run_repair(m, failure_id)
    with db.sessions.begin() as session:
        services.bids.withdraw_standby(session, m["a3"], m["round_id"], "b3")
    with db.sessions.begin() as session, pytest.raises(Conflict, match="repair again"):
        repair.commit_repair(session, m["analyst"], run_id)
    assert check(db, m["round_id"]) == []


def test_only_analysts_fail_awards_and_only_contracts_fail_once(db):
    m = committed_round(db)
    award = award_of(db, m["round_id"], "b1")
    with db.sessions.begin() as session, pytest.raises(Forbidden):
        repair.fail_award(session, m["a2"], award, {"reason": "spite"})
    fail(m, "b1")
    with db.sessions.begin() as session, pytest.raises(WrongState, match="already"):
        repair.fail_award(session, m["analyst"], award, {"reason": "again"})
    with db.sessions.begin() as session, pytest.raises(NotFound):
        repair.fail_award(session, m["analyst"], 999999, {"reason": "none"})


def test_a_standby_price_is_split_over_the_items_in_proportion_to_their_prices():
    bid = Bid(standby_price_cents=1001)
    bid.items = [repair.BidItem(price_cents=1), repair.BidItem(price_cents=1), repair.BidItem(price_cents=1)]
    assert standby_prices(bid) == [334, 334, 333]
    bid.standby_price_cents = None
    assert standby_prices(bid) == [1, 1, 1]
    assert utcnow()      # the module's clock is the models' one
    assert InlineQueue   # the queue the command line runs repairs on
