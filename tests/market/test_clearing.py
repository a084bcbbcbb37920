"""Clearing a round: recorded in one transaction with its awards and flows; a failure anywhere
before the commit leaves the round as it was; re-clearing keeps every earlier run."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from solver.clearing import ClearOptions
from solver.money import parse_money
from solver.verify import verify_allocation

from market import services
from market.errors import ClearingFailed, Conflict, Forbidden, WrongState
from market.models import AuditLog, Award, Flow, Pledge, Round
from market.services import clearing as clearing_service
from market.snapshot import digest, to_market

from .helpers import closed_round, import_round, state


def test_clearing_records_run_awards_and_flows(db):
    round_id = closed_round(db)
    cleared = services.clear_round(db.sessions, None, round_id)
    with db.sessions.begin() as session:
        run = services.result_run(session, round_id)
        assert run.id == cleared.run_id and run.is_result and run.status == "optimal" and run.backend == "cbc"
        assert session.get(Round, round_id).status == "cleared"
        assert run.digest == digest(run.market) and run.seconds >= 0
        market = to_market(run.market)
        assert verify_allocation(market, run.allocation) == []
        assert run.cost_cents == parse_money(run.allocation["cost"]) == cleared.allocation.cost
        assert run.value == cleared.allocation.value == 1450
        awards = session.execute(select(Award).where(Award.run_id == run.id)).scalars().all()
        assert sorted(a.price_cents for a in awards) == sorted(a.price for a in cleared.allocation.awards)
        flows = session.execute(select(Flow).where(Flow.run_id == run.id)).scalars().all()
        assert sum(f.amount_cents for f in flows) == run.cost_cents
        pledge_keys = {p.id: p.key for p in session.execute(select(Pledge)).scalars()}
        assert sorted((pledge_keys[f.pledge_id], f.amount_cents) for f in flows) == sorted(
            (f.pledge, f.amount) for f in cleared.allocation.flows)
        audit = session.execute(select(AuditLog).where(AuditLog.action == "clear")).scalar_one()
        assert audit.details["run"] == run.id and audit.details["before"] == "closed"


def test_reclearing_keeps_every_run_and_marks_one_result(db):
    round_id = closed_round(db)
    first = services.clear_round(db.sessions, None, round_id)
    second = services.clear_round(db.sessions, None, round_id, ClearOptions(backend="highs", explain=False))
    with db.sessions.begin() as session:
        runs = services.runs(session, round_id)
        assert [(r.id, r.is_result, r.backend) for r in runs] == [(first.run_id, False, "cbc"),
                                                                   (second.run_id, True, "highs")]
        assert runs[0].digest == runs[1].digest
        assert session.execute(select(func.count()).select_from(Award)).scalar_one() == 2 * len(first.allocation.awards)


def test_only_closed_rounds_by_staff_are_cleared(db):
    round_id = import_round(db)
    with pytest.raises(WrongState, match="is open; only a closed or cleared round can be cleared: close it first"):
        services.clear_round(db.sessions, None, round_id)
    funder = db.user("f@example.org", "funder")
    with db.sessions.begin() as session:
        services.close_round(session, None, round_id)
    with pytest.raises(Forbidden):
        services.clear_round(db.sessions, funder, round_id)
    assert state(db, round_id)["runs"] == []


@pytest.mark.parametrize("failure, raised, audited", [(KeyboardInterrupt, KeyboardInterrupt, 0),
                                                      (MemoryError, ClearingFailed, 1),
                                                      (RuntimeError, ClearingFailed, 1)])
def test_a_solve_killed_midway_leaves_the_round_as_it_was(db, monkeypatch, failure, raised, audited):
    """An interrupt goes through; a crash inside the solve is a ClearingFailed, audited as "clear-failed"."""
    round_id = closed_round(db)
    before = state(db, round_id)

    def killed(market, options):
        raise failure("killed during the solve")

    monkeypatch.setattr(clearing_service, "clear", killed)
    with pytest.raises(raised):
        services.clear_round(db.sessions, None, round_id)
    assert state(db, round_id) == before | {"audit": before["audit"] + audited}


def test_a_failure_inside_the_save_leaves_the_round_as_it_was(db, monkeypatch):
    round_id = closed_round(db)
    services.clear_round(db.sessions, None, round_id)            # an earlier result must survive too
    before = state(db, round_id)
    real = clearing_service.save_flows

    def broken(session, run, rid, allocation):
        real(session, run, rid, allocation)                       # awards and flows are flushed...
        raise RuntimeError("disk full")                           # ...then the save fails

    monkeypatch.setattr(clearing_service, "save_flows", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        services.clear_round(db.sessions, None, round_id)
    after = state(db, round_id)
    assert after == before and after["runs"][0][1] is True


def test_a_failing_engine_is_a_clear_error_and_records_nothing(db, monkeypatch):
    from solver.clearing import ClearingError
    round_id = closed_round(db)
    before = state(db, round_id)

    def failing(market, options):
        raise ClearingError("the cbc solver is not available on this machine")

    monkeypatch.setattr(clearing_service, "clear", failing)
    with pytest.raises(ClearingFailed, match=f"round {round_id} could not be cleared: the cbc solver"):
        services.clear_round(db.sessions, None, round_id)
    assert state(db, round_id) == before | {"audit": before["audit"] + 1}     # the "clear-failed" row


def test_a_round_changed_during_the_solve_is_not_recorded(db):
    round_id = closed_round(db)
    with db.sessions.begin() as session:
        document, fingerprint = clearing_service.snapshot_for_clearing(session, None, round_id)
    market, allocation = clearing_service.solve(document, round_id, ClearOptions(explain=False))
    with db.sessions.begin() as session:                          # reopened and changed meanwhile (by hand)
        session.get(Round, round_id).status = "open"
        services.pledge(session, None, round_id, {"id": "late", "amount": 1, "funder": "f1"})
        session.get(Round, round_id).status = "closed"
    before = state(db, round_id)
    with pytest.raises(Conflict, match="changed while it was being cleared"):
        with db.sessions.begin() as session:
            clearing_service.record_run(session, None, round_id, document, fingerprint, allocation)
    assert state(db, round_id) == before
    assert before["runs"] == []


def test_a_failed_clearing_is_audited_with_its_reason(db, monkeypatch):
    round_id = closed_round(db)

    def crashing(market, options):
        raise RuntimeError("HiGHS returned status 13")      # a backend's own crash, not the engine's error

    monkeypatch.setattr(clearing_service, "clear", crashing)
    with pytest.raises(ClearingFailed) as caught:
        services.clear_round(db.sessions, None, round_id, ClearOptions(backend="highs"))
    assert str(caught.value) == (f"round {round_id} could not be cleared: the highs solver failed "
                                 "(RuntimeError: HiGHS returned status 13)")
    with db.sessions.begin() as session:
        row = session.execute(select(AuditLog).order_by(AuditLog.id.desc())).scalars().first()
        assert (row.action, row.entity, row.round_id) == ("clear-failed", "round", round_id)
        assert row.details["reason"] == str(caught.value) and row.details["backend"] == "highs"
        assert session.get(Round, round_id).status == "closed"


def test_an_allocation_the_checker_rejects_names_the_pledge(db, monkeypatch):
    import dataclasses

    from solver.clearing import clear
    round_id = closed_round(db)

    def overpaying(market, options):
        allocation = clear(market, options)
        return dataclasses.replace(allocation, flows=tuple(dataclasses.replace(f, amount=f.amount * 100)
                                                           for f in allocation.flows))

    monkeypatch.setattr(clearing_service, "clear", overpaying)
    with pytest.raises(ClearingFailed, match="the allocation fails the checker") as caught:
        services.clear_round(db.sessions, None, round_id, ClearOptions(explain=False))
    assert "pledge p1: pays 900000.00, more than its amount 9000.00" in str(caught.value), caught.value
