"""When an actor fails (issue 18): standby offers, marking an award failed, the repair market (a version-1.1 market
the engine's checker and `swarm verify` accept), its job, review and commit; refunds to the cent when a challenge
cannot be completed; the ledger check after every step."""
from __future__ import annotations

import copy
import json
import tempfile
from typing import Any

import pytest
from hypothesis import event, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from market import services
from market.errors import Conflict, Forbidden, InvalidInput, NotFound, WrongState
from market.models import (Award, AwardFailure, Bid, Milestone, MilestoneFunding, Pledge, Role, Round, RoundActor,
                           utcnow)
from market.repair_market import standby_prices
from market.services import repair, settlement
from market.storage import DiskStorage
from market.worker import InlineQueue, run_job
from solver.loading import parse_market
from solver.verify import verify_allocation

from .helpers import import_round
from .test_delivery import DeliveryMachine
from .test_ledger import check, fresh_databases

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


def committed_round(db, standby: dict[str, Any] | None = None, doc: dict[str, Any] | None = None,
                    more_standby: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The market above, b3 standing by 60 days at 5,500 (unless `standby` says otherwise), closed, cleared, committed; every actor
    with an account."""
    analyst = db.user("ana@example.org", Role.ANALYST)
    round_id = import_round(db, copy.deepcopy(doc or MARKET))
    actors = [a["id"] for a in (doc or MARKET)["actors"]]
    users = {key: db.user(f"{key}@example.org", Role.ACTOR) for key in actors}
    users.update({key: db.user(f"{key}@example.org", Role.FUNDER) for key in ("f1", "f2")})
    with db.sessions.begin() as session:
        for key, user in users.items():
            services.link_participant(session, None, round_id, key, user.id)
    with db.sessions.begin() as session:
        services.change_bid(session, users["a3"], round_id, "b3", standby if standby is not None else
                            {"standby_days": 60, "standby_price": "5500"})
        for key, offer in (more_standby or {}).items():
            services.change_bid(session, None, round_id, key, offer)
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


# ---------------------------------------------------------------- random sequences with failures and repairs

MACHINE_MARKET = copy.deepcopy(MARKET)
MACHINE_MARKET["actors"].append({"id": "a5", "name": "SpareLatrines", "bids": [
    {"id": "b5", "items": [{"component": "latrines/build", "price": "2600"}]}]})


class RepairMachine(DeliveryMachine):
    """The delivery machine's random reports, reviews, disputes, decisions, write-offs, time and deposits, on a
    round with standby bids (b3 for the drilling, b5 for the latrines), plus awards failing, repairs run and
    committed, and rounds of the programme opening (rollover of what came back to p2) at any point: the ledger
    check and the delivery machine's invariants hold after every step, and what rolled over plus what waits to
    is always exactly what came back to the pledge."""

    def __init__(self) -> None:
        RuleBasedStateMachine.__init__(self)
        self.db = type(self).fresh()
        m = committed_round(self.db, doc=MACHINE_MARKET, more_standby={"b5": {"standby_days": 30,
                                                                                "standby_price": "2300"}})
        self.m = m
        self.round_id, self.analyst, self.f1 = m["round_id"], m["analyst"], m["f1"]
        self.actors = {k: m[k] for k in ("a1", "a2", "a3", "a4")}
        self.verifier = self.db.user("vera@example.org", Role.VERIFIER)
        self.storage = DiskStorage(tempfile.mkdtemp(prefix="evidence-"))
        with self.db.sessions.begin() as session:
            services.assign_verifier(session, self.analyst, self.round_id, {"email": "vera@example.org"})
        self.milestones, self.released = [], {}
        self.waiting, self.disputable, self.disputed = {}, {}, {}
        self.now = utcnow()
        with self.db.sessions.begin() as session:       # f2 consents to roll on what comes back
            services.rounds.set_round_options(session, None, self.round_id, {"programme": "machine"})
            session.scalar(select(Pledge).where(Pledge.round_id == self.round_id, Pledge.key == "p2")).rollover = True
        self.rolled = 0
        self.refresh()

    def refresh(self) -> None:
        """The milestones as they are now (a repair adds the called standby bids'), and the money committed."""
        with self.db.sessions.begin() as session:
            rows = session.execute(select(Milestone.id, RoundActor.key, Milestone.amount_cents, Milestone.quantity)
                                   .join(RoundActor, RoundActor.id == Milestone.actor_id).order_by(Milestone.id)).all()
            self.committed = sum(p.committed for p in settlement.pledges_money(
                session, list(session.scalars(select(Pledge.id).where(Pledge.round_id == self.round_id)))).values())
        self.milestones = [tuple(row) for row in rows]
        for mid, actor, *_ in self.milestones:
            self.released.setdefault(mid, 0)
            self.actors.setdefault(actor, self.m[actor])

    @rule(bid=st.sampled_from(["b1", "b2", "b4", "b3", "b5"]))
    def fail(self, bid: str) -> None:
        award = award_of(self.db, self.round_id, bid)
        if award is None:
            return                              # a standby bid not called (yet)
        try:
            with self.db.sessions.begin() as session:
                failure = repair.fail_award(session, self.analyst, award, {"reason": "gone"})
                stopped = set(session.scalars(select(Milestone.id).where(Milestone.award_id == award,
                                                                          Milestone.state == "failed")))
        except WrongState:
            return
        event("award failed")
        assert failure.state == "open"
        for mid in stopped:                     # their waiting reports were closed, nothing to dispute
            self.waiting.pop(mid, None)
            self.disputable.pop(mid, None)

    @rule()
    def repair_now(self) -> None:
        with self.db.sessions.begin() as session:
            open_ = session.scalar(select(AwardFailure.id).where(AwardFailure.round_id == self.round_id,
                                                                 AwardFailure.state == "open")
                                   .order_by(AwardFailure.id))
        if open_ is None:
            return
        with self.db.sessions.begin() as session:
            job_id = repair.submit_repair(session, self.analyst, open_).id
        if run_job(self.db.sessions, job_id, "machine") != "succeeded":
            event("repair refused (a dispute open)")
            return
        with self.db.sessions.begin() as session:
            run_id = session.scalar(select(repair.Job.run_id).where(repair.Job.id == job_id))
            run = session.get(repair.ClearingRun, run_id)
            assert verify_allocation(parse_market(run.market, "repair"), run.allocation) == []
        with self.db.sessions.begin() as session:
            failure = repair.commit_repair(session, self.analyst, run_id)
            event(f"repair {failure.state}")
            stopped = set(session.scalars(select(Milestone.id).where(Milestone.state.in_(["failed", "cancelled"]))))
        for mid in stopped:
            self.waiting.pop(mid, None)
            self.disputable.pop(mid, None)
        self.refresh()


    @rule()
    def next_round_opens(self) -> None:
        """A round of the same programme opens: what came back to p2 rolls into it, once."""
        from market.services.rollover import came_back
        with self.db.sessions.begin() as session:
            p2 = session.scalar(select(Pledge).where(Pledge.round_id == self.round_id, Pledge.key == "p2"))
            waiting = came_back(session, p2)
            rnd = services.create_round(session, None, {"name": "next", "currency": "USD"})
            services.add_challenge(session, None, rnd.id, copy.deepcopy(MARKET["challenges"][1]))
            services.rounds.set_round_options(session, None, rnd.id, {"programme": "machine"})
            services.open_round(session, None, rnd.id)
            got = sum(p.amount_cents for p in session.scalars(select(Pledge).where(Pledge.round_id == rnd.id)))
            assert got == waiting and came_back(session, p2) == 0
        self.rolled += got
        if got:
            event("rolled over")

    @invariant()
    def rolled_and_waiting_money_is_what_came_back(self) -> None:
        from market.services.rollover import came_back
        with self.db.sessions.begin() as session:
            p2 = session.scalar(select(Pledge).where(Pledge.round_id == self.round_id, Pledge.key == "p2"))
            money = settlement.pledges_money(session, [p2.id])[p2.id]
            assert self.rolled + came_back(session, p2) == p2.amount_cents - (money.committed - money.refunded)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_random_failures_and_repairs_keep_the_ledger_whole(request, tmp_path_factory, kind):
    RepairMachine.fresh = staticmethod(fresh_databases(request, tmp_path_factory, kind))
    run_state_machine_as_test(RepairMachine, settings=settings(max_examples=8, stateful_step_count=25,
                                                               deadline=None))


# ---------------------------------------------------------------- track records and rollover

def second_round(m, programme=None, bid=True):
    """A new round with the wells challenge again, a1 bidding on it (if `bid`), opened; its id."""
    db = m["db"]
    with db.sessions.begin() as session:
        rnd = services.create_round(session, None, {"name": "next", "currency": "USD"})
        services.add_challenge(session, None, rnd.id, copy.deepcopy(MARKET["challenges"][0]))
        if programme:
            services.rounds.set_round_options(session, None, rnd.id, {"programme": programme})
        round_id = rnd.id
    with db.sessions.begin() as session:
        services.open_round(session, None, round_id)
    if bid:
        with db.sessions.begin() as session:
            services.bid(session, m["a1"], round_id, {"items": [{"component": "wells/drill", "price": "6000"}]})
    return round_id


def test_a_failure_lowers_the_actors_track_record_and_a_round_can_clear_with_it(db):
    from market.records import PRIOR_WEIGHT, records
    from market.snapshot import round_document
    m = committed_round(db)
    fail(m, "b1")
    with db.sessions.begin() as session:
        a1 = session.scalar(select(RoundActor).where(RoundActor.round_id == m["round_id"], RoundActor.key == "a1"))
        record = records(session, [a1.id])[a1.id]
    assert (record.verified, record.late, record.failed) == (0, 0, 2)      # its delivery and its holdback
    assert record.estimate(0.95) == pytest.approx(PRIOR_WEIGHT * 0.95 / (PRIOR_WEIGHT + 2))
    round_id = second_round(m)
    with db.sessions.begin() as session:
        rnd = session.get(Round, round_id)
        declared = round_document(session, rnd)
        services.rounds.set_round_options(session, m["analyst"], round_id, {"reliability_source": "track_record"})
        tracked = round_document(session, rnd)
    [bid] = [b for a in declared["actors"] for b in a["bids"]]
    assert "reliability" not in bid                     # its actor's declared default in the new round: 1
    [bid] = [b for a in tracked["actors"] for b in a["bids"]]
    # The account's record across rounds, with the new round actor's declared reliability (1) as the prior.
    assert bid["reliability"] == pytest.approx(PRIOR_WEIGHT / (PRIOR_WEIGHT + 2))
    with db.sessions.begin() as session, pytest.raises(InvalidInput):
        services.rounds.set_round_options(session, m["analyst"], round_id, {"reliability_source": "gut"})


def test_money_that_comes_back_rolls_into_the_programmes_next_round_when_it_opens(db):
    from market.services.rollover import came_back
    from market.services.statements import statement
    m = committed_round(db)
    with db.sessions.begin() as session:
        services.rounds.set_round_options(session, None, m["round_id"], {"programme": "kenya-water"})
        p2 = session.scalar(select(Pledge).where(Pledge.round_id == m["round_id"], Pledge.key == "p2"))
        p2.rollover = True                      # (consent is given on the pledge form while the round is open)
    with db.sessions.begin() as session:
        p2 = session.scalar(select(Pledge).where(Pledge.round_id == m["round_id"], Pledge.key == "p2"))
        money = settlement.pledges_money(session, [p2.id])[p2.id]
        unspent = p2.amount_cents - money.committed
        assert came_back(session, p2) == unspent > 0
    other = second_round(m, programme="elsewhere", bid=False)
    with db.sessions.begin() as session:
        assert session.scalar(select(Pledge.id).where(Pledge.round_id == other)) is None
    round_id = second_round(m, programme="kenya-water", bid=False)
    with db.sessions.begin() as session:
        [rolled] = session.scalars(select(Pledge).where(Pledge.round_id == round_id)).all()
        assert (rolled.amount_cents, rolled.rolled_from_id, rolled.rollover) == (unspent, p2.id, True)
        assert rolled.funder.user_id == m["f2"].id and rolled.funder.key == "f2"
        assert came_back(session, p2) == 0
        before = statement(session, None, m["round_id"], "f2")
        after = statement(session, None, round_id, "f2")
    assert before.rolled_out_cents == unspent and after.rolled_in_cents == unspent
    assert any("rolled over to round" in n for n in before.rolled)
    # A failure later refunds more of p2 (no standby: the wells are refunded); it waits for the next round.
    with db.sessions.begin() as session:
        services.bids.withdraw_standby(session, m["a3"], m["round_id"], "b3")
    failure_id = fail(m, "b1")
    run_id = run_repair(m, failure_id)
    with db.sessions.begin() as session:
        repair.commit_repair(session, m["analyst"], run_id)
    with db.sessions.begin() as session:
        p2 = session.get(Pledge, p2.id)
        refunded = settlement.pledges_money(session, [p2.id])[p2.id].refunded
        assert refunded > 0 and came_back(session, p2) == refunded
    third = second_round(m, programme="kenya-water", bid=False)
    with db.sessions.begin() as session:
        [again] = session.scalars(select(Pledge).where(Pledge.round_id == third)).all()
        assert again.amount_cents == refunded and again.key == "p2-from-1"
    assert check(db, m["round_id"]) == []


def test_a_retender_brings_new_bids_and_new_money_into_the_repair(db):
    from market.services import tender
    m = committed_round(db, standby={"standby_days": None})
    failure_id = fail(m, "b1")
    with db.sessions.begin() as session, pytest.raises(NotFound, match="no re-tender"):
        tender.tender_bid(session, m["a3"], failure_id, {"items": [{"component": "wells/drill", "price": "6500"}]})
    with db.sessions.begin() as session, pytest.raises(Forbidden):
        tender.open_tender(session, m["a3"], failure_id, {"days": 7})
    with db.sessions.begin() as session, pytest.raises(InvalidInput):
        tender.open_tender(session, m["analyst"], failure_id, {"days": 0})
    with db.sessions.begin() as session:
        tender.open_tender(session, m["analyst"], failure_id, {"days": 7})
        assert [f.id for f in tender.open_tenders(session)] == [failure_id]
    with db.sessions.begin() as session, pytest.raises(InvalidInput, match="not on the challenges"):
        tender.tender_bid(session, m["a3"], failure_id, {"items": [{"component": "latrines/build", "price": "1"}]})
    with db.sessions.begin() as session, pytest.raises(Forbidden):
        tender.tender_pledge(session, m["a3"], failure_id, {"amount": "500"})
    with db.sessions.begin() as session, pytest.raises(InvalidInput):
        tender.open_tender(session, m["analyst"], failure_id, {"days": "\u00b2"})     # a digit, not a number
    with db.sessions.begin() as session, pytest.raises(Forbidden, match="does not bid to replace it"):
        tender.tender_bid(session, m["a1"], failure_id, {"items": [{"component": "wells/drill", "price": "1"}]})
    with db.sessions.begin() as session:
        bid = tender.tender_bid(session, m["a3"], failure_id, {"items": [{"component": "wells/drill",
                                                                          "price": "6500"}]})
        bid_key = bid.key
    # Without new money the repair cannot pay 6,500 + the pump's 1,000 from the 7,000 in escrow.
    with db.sessions.begin() as session:
        document, plan = repair.repair_market(session, m["analyst"], failure_id)
        assert plan.tender_bids == {bid_key: bid.id}
    assert run_review(m, failure_id).status == "infeasible"
    with db.sessions.begin() as session:
        pledge = tender.tender_pledge(session, m["f1"], failure_id, {"amount": "500"})
        assert pledge.scope == {"challenges": ["wells"]} and pledge.tender_failure_id == failure_id
        new_id = pledge.id
    run_id = run_repair(m, failure_id)
    with db.sessions.begin() as session:
        seen = repair.review(session, m["analyst"], run_id)
        assert seen.completed == ["wells"] and [a.bid for a in seen.new_awards] == [bid_key]
        repair.commit_repair(session, m["analyst"], run_id)
    assert check(db, m["round_id"]) == []
    with db.sessions.begin() as session:
        assert settlement.pledges_money(session, [new_id])[new_id].committed == 50000
        from market.snapshot import round_document
        exported = round_document(session, session.get(Round, m["round_id"]))
    # The round's own market file is as it was cleared: no re-tender bid or pledge in it.
    assert bid_key not in json.dumps(exported) and "500.00" not in json.dumps(exported["funders"])
    with db.sessions.begin() as session, pytest.raises(NotFound):
        tender.tender_pledge(session, m["f1"], failure_id, {"amount": "1"})


def run_review(m, failure_id):
    with m["db"].sessions.begin() as session:
        return repair.review(session, m["analyst"], run_repair(m, failure_id))


def test_money_released_before_a_failure_shows_as_spent_on_delivered_work(db, tmp_path):
    from market.services.statements import statement
    m = committed_round(db)
    verifier = db.user("vera@example.org", Role.VERIFIER)
    award = award_of(db, m["round_id"], "b1")
    with db.sessions.begin() as session:
        services.assign_verifier(session, m["analyst"], m["round_id"], {"email": "vera@example.org"})
        delivery = session.scalar(select(Milestone).where(Milestone.award_id == award, Milestone.kind == "delivery"))
        report = services.submit_report(session, m["a1"], delivery.id, {"quantity": delivery.quantity}, [],
                                        DiskStorage(tmp_path))
    with db.sessions.begin() as session:
        services.review_report(session, verifier, report.id, {"decision": "accept"})
    failure_id = fail(m, "b1", "the pumps stopped")
    with db.sessions.begin() as session:
        states = dict(session.execute(select(Milestone.kind, Milestone.state).where(
            Milestone.award_id == award)).all())
    assert states == {"delivery": "accepted", "holdback": "failed"}
    with db.sessions.begin() as session:
        repair.commit_repair(session, m["analyst"], run_repair(m, failure_id))
    assert check(db, m["round_id"]) == []
    with db.sessions.begin() as session:
        lines = [line for key in ("f1", "f2") for line in statement(session, None, m["round_id"], key).lines
                 if line.milestone_id == delivery.id]
    assert lines and all("spent on delivered work: its actor failed later" in line.bought for line in lines)
    assert sum(line.released_cents for line in lines) == delivery.amount_cents


def test_an_award_repaired_once_is_not_in_force_in_the_next_repair(db):
    m = committed_round(db)
    with db.sessions.begin() as session:
        repair.commit_repair(session, m["analyst"], run_repair(m, fail(m, "b1")))
    second = fail(m, "b3", "the backup firm failed too")
    with db.sessions.begin() as session:
        document, plan = repair.repair_market(session, m["analyst"], second)
    bids = {b["id"]: b for a in document["actors"] for b in a["bids"]}
    assert set(bids) == {"b2"} and bids["b2"]["fixed"]           # b1 failed before: not delivered work at 0
    seen = run_review(m, second)
    assert seen.completed == [] and seen.abandoned == ["wells"]
    with db.sessions.begin() as session:
        repair.commit_repair(session, m["analyst"], seen.run_id)
    assert check(db, m["round_id"]) == []


def test_a_standby_bid_of_a_group_its_actor_holds_a_contract_in_is_not_called(db):
    doc = copy.deepcopy(MARKET)
    pump = doc["actors"][1]
    pump["bids"][0]["exclusive_group"] = "g"
    pump["bids"].append({"id": "b2x", "items": [{"component": "wells/drill", "price": "5000"}],
                         "exclusive_group": "g"})
    m = committed_round(db, doc=doc, more_standby={"b2x": {"standby_days": 30}})
    with db.sessions.begin() as session:
        awarded = set(session.scalars(select(Bid.key).join(Award, Award.bid_id == Bid.id)))
    assert {"b1", "b2"} <= awarded and "b2x" not in awarded
    failure_id = fail(m, "b1")
    with db.sessions.begin() as session:
        document, _ = repair.repair_market(session, m["analyst"], failure_id)
    assert {b["id"] for a in document["actors"] for b in a["bids"]} == {"b2", "b3"}
    seen = run_review(m, failure_id)
    assert [a.bid for a in seen.new_awards] == ["b3"]            # not b2x beside b2: one of the group at most


def test_a_repair_market_lowers_a_condition_by_what_the_named_funder_paid_there():
    from market.repair_market import _conditions_left
    entry = {"id": "p1", "amount": "10.00", "conditions": [{"funder": "f2", "min": "1000.00"},
                                                            {"funder": "f3", "min": "5.00"}]}
    assert _conditions_left(copy.deepcopy(entry), {"f2": 30000})["conditions"] == [
        {"funder": "f2", "min": "700.00"}, {"funder": "f3", "min": "5.00"}]
    assert "conditions" not in _conditions_left(copy.deepcopy(entry), {"f2": 100000, "f3": 500})


def test_a_conditions_relief_counts_only_the_challenges_its_pledge_may_pay_into():
    from market.models import Challenge
    from market.repair_market import _in_scope, _least_paid
    a = Challenge(id=1, key="a", tags=["region:kenya"])
    b = Challenge(id=2, key="b", tags=["region:uganda"])
    assert _in_scope(None, [a, b]) == [1, 2]
    assert _in_scope({"challenges": ["b"]}, [a, b]) == [2]
    assert _in_scope({"tags": ["region:kenya"]}, [a, b]) == [1]
    assert _in_scope({"all_tags": ["region:uganda"]}, [a, b]) == [2]
    assert _in_scope({"exclude_tags": ["region:uganda"]}, [a, b]) == [1]
    assert _in_scope({}, [a, b]) == []
    paid = {("f2", 1): 100000, ("f2", 2): 0}
    assert _least_paid(paid, [1]) == {"f2": 100000} and _least_paid(paid, [1, 2]) == {"f2": 0}
