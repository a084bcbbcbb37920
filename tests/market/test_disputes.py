"""Disputes and write-offs (issue 17): only the disputed money is frozen, an analyst decides, the money moves
with the decision (to the actor, or back to each funder, to the cent), and every step is audited."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from market import services
from market.errors import Forbidden, InvalidInput, NotFound, WrongState
from market.models import Account, AuditLog, LedgerEntry, Milestone, Notification
from market.services import delivery
from market.services.common import as_utc
from market.services.delivery import Upload
from .test_delivery import PNG, funding, market, milestone_of, payable, review, submit  # noqa: F401

from .test_ledger import check


def refunds(db, milestone_id):
    with db.sessions.begin() as session:
        return {p: int(c) for p, c in session.execute(
            select(LedgerEntry.pledge_id, func.sum(LedgerEntry.amount_cents)).where(
                LedgerEntry.account == Account.REFUND, LedgerEntry.milestone_id == milestone_id)
            .group_by(LedgerEntry.pledge_id))}


def state(db, milestone_id):
    with db.sessions.begin() as session:
        return session.get(Milestone, milestone_id).state


def dispute(m, user, report_id, reason="all of it was delivered"):
    with m["db"].sessions.begin() as session:
        return services.open_dispute(session, user, report_id, {"reason": reason}).id


def decide(m, dispute_id, decision, **extra):
    with m["db"].sessions.begin() as session:
        row = services.decide_dispute(session, m["analyst"], dispute_id,
                                      {"decision": decision, "note": "read the evidence", **extra})
        return row.state, row.released_cents


def test_a_disputed_deduction_decided_for_the_actor_pays_it_and_for_the_verifier_refunds_it(market):  # noqa: F811
    m = market
    milestone = milestone_of(m["db"], m["round_id"], "a1")
    report_id = submit(m, m["a1"], milestone.id, 2, [Upload("p.png", PNG)])
    _, first = review(m, m["verifier"], report_id, "accept", quantity=1, reason="one is dry")
    held = milestone.amount_cents - first
    with pytest.raises(NotFound):
        dispute(m, m["a2"], report_id)                        # another actor's report looks absent
    dispute_id = dispute(m, m["a1"], report_id)
    assert state(m["db"], milestone.id) == "disputed"
    with pytest.raises(WrongState, match="frozen"):
        with m["db"].sessions.begin() as session:
            services.write_off(session, m["analyst"], milestone.id, {"reason": "x"})
    with pytest.raises(WrongState, match="disputed already"):
        dispute(m, m["a1"], report_id)
    for outsider in (m["a1"], m["verifier"], m["f1"]):
        with pytest.raises(Forbidden):
            with m["db"].sessions.begin() as session:
                services.decide_dispute(session, outsider, dispute_id, {"decision": "actor", "note": "mine"})
    with pytest.raises(InvalidInput):
        decide(m, dispute_id, "actor", release=f"{(held + 1) // 100}.{(held + 1) % 100:02d}")
    assert decide(m, dispute_id, "actor", release="0.50") == ("for_actor", 50)
    assert sum(payable(m["db"], milestone.id).values()) == first + 50
    back = refunds(m["db"], milestone.id)
    assert sum(back.values()) == held - 50 and set(back) <= set(funding(m["db"], milestone.id))
    assert state(m["db"], milestone.id) == "accepted"
    assert check(m["db"], m["round_id"]) == []
    with m["db"].sessions.begin() as session:
        detail = delivery.milestone_detail(session, m["f1"], milestone.id)
        assert detail.settled and detail.in_escrow_cents == 0 and detail.disputes[0].decision == "read the evidence"
        actions = [a for (a,) in session.execute(select(AuditLog.action).where(AuditLog.entity == "milestone"))]
        assert "dispute" in actions and "decide dispute" in actions


def test_a_deduction_upheld_goes_back_to_each_funder_to_the_cent(market):  # noqa: F811
    m = market
    milestone = milestone_of(m["db"], m["round_id"], "a1")
    report_id = submit(m, m["a1"], milestone.id, 1)
    review(m, m["verifier"], report_id, "accept", reason="one of two reported")
    assert decide(m, dispute(m, m["a1"], report_id), "verifier") == ("for_verifier", None)
    paid, back, gave = payable(m["db"], milestone.id), refunds(m["db"], milestone.id), funding(m["db"], milestone.id)
    assert {p: paid.get(p, 0) + back.get(p, 0) for p in gave} == gave        # every pledge: paid + back = gave
    assert check(m["db"], m["round_id"]) == []


def test_a_rejection_decided_for_the_actor_accepts_the_milestone_and_opens_its_holdback(market):  # noqa: F811
    m = market
    milestone = milestone_of(m["db"], m["round_id"], "a1")
    report_id = submit(m, m["a1"], milestone.id, 2)
    review(m, m["verifier"], report_id, "reject", reason="no photo")
    dispute_id = dispute(m, m["a1"], report_id)
    with pytest.raises(WrongState, match="disputed"):
        submit(m, m["a1"], milestone.id, 2)                  # no new report while an analyst decides
    assert decide(m, dispute_id, "actor") == ("for_actor", milestone.amount_cents)
    assert sum(payable(m["db"], milestone.id).values()) == milestone.amount_cents
    holdback = milestone_of(m["db"], m["round_id"], "a1", "holdback", milestone.component_id)
    assert holdback.opens_at is not None and state(m["db"], milestone.id) == "accepted"
    assert check(m["db"], m["round_id"]) == []


def test_a_rejection_upheld_lets_the_actor_report_again(market):  # noqa: F811
    m = market
    milestone = milestone_of(m["db"], m["round_id"], "a1")
    report_id = submit(m, m["a1"], milestone.id, 2)
    review(m, m["verifier"], report_id, "reject", reason="no photo")
    assert decide(m, dispute(m, m["a1"], report_id), "verifier") == ("for_verifier", None)
    assert state(m["db"], milestone.id) == "rejected" and refunds(m["db"], milestone.id) == {}
    again = submit(m, m["a1"], milestone.id, 2, [Upload("p.png", PNG)])
    with pytest.raises(WrongState, match="waits for a verifier"):
        dispute(m, m["a1"], again)


def test_writing_off_a_failed_delivery_refunds_it_and_its_holdback(market):  # noqa: F811
    m = market
    milestone = milestone_of(m["db"], m["round_id"], "a1")
    holdback = milestone_of(m["db"], m["round_id"], "a1", "holdback", milestone.component_id)
    with pytest.raises(Forbidden):
        with m["db"].sessions.begin() as session:
            services.write_off(session, m["f1"], milestone.id, {"reason": "they left"})
    with m["db"].sessions.begin() as session:
        services.write_off(session, m["analyst"], milestone.id, {"reason": "the driller left the country"})
    assert refunds(m["db"], milestone.id) == funding(m["db"], milestone.id)
    assert refunds(m["db"], holdback.id) == funding(m["db"], holdback.id)
    assert (state(m["db"], milestone.id), state(m["db"], holdback.id)) == ("written_off", "written_off")
    with pytest.raises(WrongState, match="written off"):
        submit(m, m["a1"], milestone.id, 2)
    with pytest.raises(WrongState, match="already"):
        with m["db"].sessions.begin() as session:
            services.write_off(session, m["analyst"], milestone.id, {"reason": "again"})
    assert check(m["db"], m["round_id"]) == []
    with m["db"].sessions.begin() as session:
        money = services.settlement.pledges_money(session, list(funding(m["db"], milestone.id)))
        assert all(p.refunded > 0 and p.owed == p.committed - p.refunded - p.deposited for p in money.values())


def test_after_a_deduction_paid_on_dispute_the_holdback_covers_every_unit(market):  # noqa: F811
    m = market
    milestone = milestone_of(m["db"], m["round_id"], "a1")
    report_id = submit(m, m["a1"], milestone.id, 2)
    review(m, m["verifier"], report_id, "accept", quantity=1, reason="one is dry")
    decide(m, dispute(m, m["a1"], report_id), "actor")
    holdback = milestone_of(m["db"], m["round_id"], "a1", "holdback", milestone.component_id)
    later = as_utc(holdback.opens_at) + timedelta(days=1)
    _, paid = review(m, m["verifier"], submit(m, m["a1"], holdback.id, 2, now=later), "accept", now=later)
    assert paid == holdback.amount_cents
    assert check(m["db"], m["round_id"]) == []


def test_a_written_off_holdback_is_not_opened_by_its_delivery(market):  # noqa: F811
    m = market
    milestone = milestone_of(m["db"], m["round_id"], "a1")
    holdback = milestone_of(m["db"], m["round_id"], "a1", "holdback", milestone.component_id)
    report_id = submit(m, m["a1"], milestone.id, 2)
    with m["db"].sessions.begin() as session:
        services.write_off(session, m["analyst"], holdback.id, {"reason": "the pump was never to be serviced"})
    review(m, m["verifier"], report_id, "accept")
    with m["db"].sessions.begin() as session:
        assert session.get(Milestone, holdback.id).opens_at is None
        texts = session.scalars(select(Notification.text).where(Notification.user_id == m["a1"].id)).all()
    assert not any("still works" in t for t in texts)


def test_statements_count_a_dispute_won_as_verified_and_show_what_was_written_off(market):  # noqa: F811
    m = market
    milestone = milestone_of(m["db"], m["round_id"], "a1")
    report_id = submit(m, m["a1"], milestone.id, 2, [Upload("well.png", PNG)])
    review(m, m["verifier"], report_id, "reject", reason="no photo of the cap")
    decide(m, dispute(m, m["a1"], report_id), "actor")
    latrines = milestone_of(m["db"], m["round_id"], "a2")
    with m["db"].sessions.begin() as session:
        services.write_off(session, m["analyst"], latrines.id, {"reason": "the builder left"})
    with m["db"].sessions.begin() as session:
        lines = [line for key in ("f1", "f2")
                 for line in services.statements.statement(session, None, m["round_id"], key).lines]
    won = [line for line in lines if line.milestone_id == milestone.id]
    assert won and all(line.verified_at is not None and [f.name for f in line.evidence] == ["well.png"]
                       for line in won)
    off = [line for line in lines if line.milestone_id == latrines.id]
    assert off and all("written off" in line.bought and line.refunded_cents == line.funded_cents for line in off)
