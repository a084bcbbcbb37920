"""The money ledger (issue 17, first step): committing a cleared round, recording deposits, the append-only
entries and the check that recomputes every invariant from them; on SQLite and PostgreSQL."""
from __future__ import annotations

import shutil
from typing import Any

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from market import ledger, services
from market.db import make_engine, make_sessionmaker
from market.errors import Forbidden, InvalidInput, NotFound, WrongState
from market.ledger import Facts, Posting, UnbalancedTransaction
from market.models import (Account, AuditLog, Flow, LedgerEntry, LedgerIsAppendOnly, LedgerTransaction, Pledge,
                           Role)

from .conftest import Database, _empty_pg
from .helpers import closed_round


def cleared_round(db):
    """The small market, cleared; f1's account linked; returns (round, analyst, funder f1, funder f2)."""
    analyst = db.user("ana@example.org", Role.ANALYST)
    f1 = db.user("f1@example.org", Role.FUNDER)
    f2 = db.user("f2@example.org", Role.FUNDER)
    round_id = closed_round(db)
    with db.sessions.begin() as session:
        services.link_participant(session, None, round_id, "f1", f1.id)
        services.link_participant(session, None, round_id, "f2", f2.id)
    services.clear_round(db.sessions, analyst, round_id)
    return round_id, analyst, f1, f2


def flows_by_pledge(db, round_id):
    with db.sessions.begin() as session:
        rows = session.execute(select(Pledge.key, func.sum(Flow.amount_cents)).join(Flow, Flow.pledge_id == Pledge.id)
                               .where(Pledge.round_id == round_id).group_by(Pledge.key)).all()
        return dict(rows)


def money(db, round_id, key):
    from market.services.settlement import pledge_money
    with db.sessions.begin() as session:
        pledge = session.scalar(select(Pledge).where(Pledge.round_id == round_id, Pledge.key == key))
        return pledge_money(session, pledge.id)


def check(db, round_id):
    with db.sessions.begin() as session:
        return services.check_ledger(session, round_id)


def test_committing_puts_every_flow_into_escrow_per_pledge_and_component_once(db):
    round_id, analyst, _, _ = cleared_round(db)
    flows = flows_by_pledge(db, round_id)
    assert flows and check(db, round_id) == []
    with db.sessions.begin() as session:
        services.commit_run(session, analyst, round_id)
    for key, total in flows.items():
        m = money(db, round_id, key)
        assert (m.committed, m.in_escrow, m.deposited, m.owed) == (total, total, 0, total)
    assert check(db, round_id) == []
    with db.sessions.begin() as session:
        entries = session.scalars(select(LedgerEntry)).all()
        flow_rows = session.scalars(select(Flow)).all()
        escrow = {(e.pledge_id, e.component_id): e.amount_cents for e in entries if e.account == Account.ESCROW}
        assert escrow == {(f.pledge_id, f.component_id): f.amount_cents for f in flow_rows}
        assert session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "commit")) == 1
    with db.sessions.begin() as session, pytest.raises(WrongState, match="committed already"):
        services.commit_run(session, analyst, round_id)
    # The money is promised: the round is not cleared again.
    with pytest.raises(WrongState, match="committed"):
        services.clear_round(db.sessions, analyst, round_id)


def test_only_staff_commit_and_only_a_cleared_round(db):
    analyst = db.user("ana@example.org", Role.ANALYST)
    funder = db.user("f@example.org", Role.FUNDER)
    round_id = closed_round(db)
    with db.sessions.begin() as session, pytest.raises(WrongState, match="only a cleared round"):
        services.commit_run(session, analyst, round_id)
    services.clear_round(db.sessions, analyst, round_id)
    with db.sessions.begin() as session, pytest.raises(Forbidden):
        services.commit_run(session, funder, round_id)
    with db.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(LedgerTransaction)) == 0


def test_a_funder_deposits_up_to_what_its_pledge_owes_and_nobody_else_sees_it(db):
    round_id, analyst, f1, f2 = cleared_round(db)
    key = next(k for k in flows_by_pledge(db, round_id) if k in ("p1", "p2"))
    with db.sessions.begin() as session, pytest.raises(WrongState, match="not committed"):
        services.record_deposit(session, f1, round_id, key, {"amount": "1.00"})
    with db.sessions.begin() as session:
        services.commit_run(session, analyst, round_id)
    owed = money(db, round_id, key).owed
    with db.sessions.begin() as session:
        services.record_deposit(session, f1, round_id, key, {"amount": "100.00", "reference": "wire 42"})
    assert money(db, round_id, key).deposited == 10000 and money(db, round_id, key).owed == owed - 10000
    with db.sessions.begin() as session, pytest.raises(InvalidInput) as refused:
        services.record_deposit(session, f1, round_id, key, {"amount": owed})      # cents: far above what is owed
    assert set(refused.value.fields) == {"amount"} and "at most what the pledge owes" in refused.value.fields["amount"]
    with db.sessions.begin() as session, pytest.raises(InvalidInput) as bad:
        services.record_deposit(session, f1, round_id, key, {"amount": "-5"})
    assert set(bad.value.fields) == {"amount"}
    with db.sessions.begin() as session, pytest.raises(NotFound):
        services.record_deposit(session, f2, round_id, key, {"amount": "1.00"})   # another funder's pledge
    with db.sessions.begin() as session, pytest.raises(Forbidden):
        services.record_deposit(session, analyst, round_id, key, {"amount": "1.00"})
    admin = db.user("admin@example.org", Role.ADMIN)
    rest = money(db, round_id, key).owed
    with db.sessions.begin() as session:
        services.record_deposit(session, admin, round_id, key, {"amount": f"{rest // 100}.{rest % 100:02d}",
                                                                 "reference": "bank transfer"})
    assert money(db, round_id, key).owed == 0
    with db.sessions.begin() as session, pytest.raises(WrongState, match="deposited in full"):
        services.record_deposit(session, f1, round_id, key, {"amount": "0.01"})
    assert check(db, round_id) == []


def test_an_unbalanced_transaction_is_refused_and_writes_nothing(db):
    round_id, _, _, _ = cleared_round(db)
    with db.sessions.begin() as session:
        pledge_id = session.scalar(select(Pledge.id).where(Pledge.round_id == round_id, Pledge.key == "p1"))
    with pytest.raises(UnbalancedTransaction, match="sum to 5 cents"):
        with db.sessions.begin() as session:
            ledger.post(session, round_id, "deposit", [Posting(Account.CASH, pledge_id, 10),
                                                       Posting(Account.DEPOSIT, pledge_id, -5)], "test")
    with pytest.raises(UnbalancedTransaction):
        with db.sessions.begin() as session:
            ledger.post(session, round_id, "deposit", [Posting(Account.CASH, pledge_id, 10)], "test")
    with db.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(LedgerTransaction)) == 0


def test_ledger_rows_are_never_changed_or_deleted(db):
    round_id, analyst, _, _ = cleared_round(db)
    with db.sessions.begin() as session:
        services.commit_run(session, analyst, round_id)
    with pytest.raises(LedgerIsAppendOnly):
        with db.sessions.begin() as session:
            session.scalars(select(LedgerEntry)).first().amount_cents += 1
    # The database itself refuses, whatever the ORM does.
    for statement in ("UPDATE ledger_entries SET amount_cents = amount_cents + 1",
                      "DELETE FROM ledger_entries", "UPDATE ledger_transactions SET memo = 'x'",
                      "DELETE FROM ledger_transactions"):
        with pytest.raises(DatabaseError, match="append-only"):
            with db.engine.begin() as connection:
                connection.execute(text(statement))
    assert check(db, round_id) == []


def facts(transactions, amounts=None, prices=None):
    return Facts(transactions, amounts or {1: 1000, 2: 500}, prices or {10: 1000, 11: 400})


def test_the_check_names_each_broken_invariant():
    good = [(1, "commit", [("escrow", 1, 10, 600), ("commitment", 1, None, -600),
                           ("escrow", 2, 11, 400), ("commitment", 2, None, -400)]),
            (2, "deposit", [("cash", 1, None, 100), ("deposit", 1, None, -100)])]
    assert ledger.check(facts(good)) == []
    assert ledger.check(facts([(3, "deposit", [("cash", 1, None, 100), ("deposit", 1, None, -90)])])) == [
        "transaction 3 (deposit) does not balance: its entries sum to 10 cents",
        "pledge 1: deposited 90 cents of 0 committed",
        "pledge 1: 100 cents of cash against 90 deposited"]
    over = [(1, "commit", [("escrow", 2, 11, 600), ("commitment", 2, None, -600)])]
    assert ledger.check(facts(over)) == ["pledge 2: committed 600 cents, more than its 500",
                                         "component 11: 600 cents held or paid, above its accepted prices (400)"]
    lost = [(1, "commit", [("escrow", 1, 10, 600), ("commitment", 1, None, -600)]),
            (2, "move", [("escrow", 1, 10, -600), ("cash", 1, None, 600)])]
    assert ledger.check(facts(lost)) == [
        "pledge 1: committed 600 cents but 0 are accounted for (in escrow 0, released 0, refunded 0)",
        "pledge 1: 600 cents of cash against 0 deposited"]


def test_the_check_keeps_refunds_within_each_milestone():
    committed = [(1, "commit", [("escrow", 1, 10, 600), ("commitment", 1, None, -600)])]
    release = [(2, "release", [("escrow", 1, 10, -400, None), ("payable", 1, 10, 400, 7)])]
    refund = [(3, "refund", [("escrow", 1, 10, -200, None), ("refund", 1, 10, 200, 7)])]
    funded = {(1, 10): 600}
    whole = committed + release + refund
    assert ledger.check(Facts(whole, {1: 1000}, {10: 600}, funded, {7: 400}, {7: 600})) == []
    # refunded more than the milestone holds: out of another milestone's escrow
    assert ledger.check(Facts(whole, {1: 1000}, {10: 600}, funded, {7: 400}, {7: 500})) == [
        "milestone 7: 600 cents paid out or refunded, more than its 500"]
    # a refund out of thin air
    minted = [(3, "refund", [("cash", 1, None, -200), ("refund", 1, 10, 200, 7)])]
    assert ledger.check(Facts(committed + release + minted, {1: 1000}, {10: 600}, funded, {7: 400})) == [
        "pledge 1: committed 600 cents but 800 are accounted for (in escrow 200, released 400, refunded 200)",
        "pledge 1: -200 cents of cash against 0 deposited",
        "pledge 1, component 10: 800 cents in escrow, released or refunded but 600 fund its milestones"]
    money = ledger.money_by_pledge(e for _, _, entries in whole for e in entries)[1]
    assert (money.refunded, money.owed, money.due_back) == (200, 400, 0)


def test_the_check_ties_every_payout_to_an_accepted_verification():
    committed = [(1, "commit", [("escrow", 1, 10, 600), ("commitment", 1, None, -600)])]
    release = [(2, "release", [("escrow", 1, 10, -540, None), ("payable", 1, 10, 540, 7)])]
    funded = {(1, 10): 600}
    assert ledger.check(Facts(committed + release, {1: 1000}, {10: 600}, funded, {7: 540})) == []
    assert ledger.check(Facts(committed + release, {1: 1000}, {10: 600}, funded, {})) == [
        "milestone 7: 540 cents paid out without an accepted verification"]
    assert ledger.check(Facts(committed + release, {1: 1000}, {10: 600}, funded, {7: 500})) == [
        "milestone 7: 540 cents paid out, its verification released 500"]
    assert ledger.check(Facts(committed, {1: 1000}, {10: 600}, funded, {7: 540})) == [
        "milestone 7: verified to release 540 cents, none paid out"]
    # Paid out of thin air (not out of escrow): more leaves for the component than its prices allow.
    minted = [(2, "release", [("cash", 1, None, -700), ("payable", 1, 10, 700, 7)])]
    assert ledger.check(Facts(committed + minted, {1: 1000}, {10: 600}, funded, {7: 700})) == [
        "pledge 1: committed 600 cents but 1300 are accounted for (in escrow 600, released 700, refunded 0)",
        "pledge 1: -700 cents of cash against 0 deposited",
        "pledge 1, component 10: 1300 cents in escrow, released or refunded but 600 fund its milestones",
        "component 10: 700 cents paid out, above its accepted prices (600)",
        "component 10: 1300 cents held or paid, above its accepted prices (600)"]


class LedgerMachine(RuleBasedStateMachine):
    """Random sequences of what can happen to a committed round's money today (deposits by the right and the
    wrong people, of any size; committing and clearing again): after every step the ledger check passes and
    no cent appears or disappears (cash = what was accepted, per pledge). Run on SQLite and PostgreSQL."""
    fresh: Any = None           # set by the test: a function giving a new, empty Database

    def __init__(self) -> None:
        super().__init__()
        self.db = type(self).fresh()
        self.round_id, self.analyst, f1, f2 = cleared_round(self.db)
        self.owners = {"p1": f1, "p2": f1, "p3": f2}
        self.admin = self.db.user("admin@example.org", Role.ADMIN)
        with self.db.sessions.begin() as session:
            services.commit_run(session, self.analyst, self.round_id)
        self.accepted = {key: 0 for key in self.owners}
        self.committed = {key: money(self.db, self.round_id, key).committed for key in self.owners}

    @rule(key=st.sampled_from(["p1", "p2", "p3"]), cents=st.integers(1, 1_200_000),
          who=st.sampled_from(["owner", "admin", "other funder", "analyst"]))
    def deposit(self, key: str, cents: int, who: str) -> None:
        user = {"owner": self.owners[key], "admin": self.admin, "analyst": self.analyst,
                "other funder": self.owners["p3" if key != "p3" else "p1"]}[who]
        owed = self.committed[key] - self.accepted[key]
        try:
            with self.db.sessions.begin() as session:
                services.record_deposit(session, user, self.round_id, key, {"amount": f"{cents // 100}.{cents % 100:02d}"})
        except NotFound:
            assert who == "other funder"
        except Forbidden:
            assert who == "analyst"
        except InvalidInput:
            assert cents > owed > 0
        except WrongState:
            assert owed == 0
        else:
            assert who in ("owner", "admin") and cents <= owed
            self.accepted[key] += cents

    @rule()
    def commit_or_clear_again(self) -> None:
        with pytest.raises(WrongState, match="committed"):
            with self.db.sessions.begin() as session:
                services.commit_run(session, self.analyst, self.round_id)
        with pytest.raises(WrongState, match="committed"):
            services.clear_round(self.db.sessions, self.analyst, self.round_id)

    @invariant()
    def nothing_appears_or_disappears(self) -> None:
        assert check(self.db, self.round_id) == []
        for key, accepted in self.accepted.items():
            m = money(self.db, self.round_id, key)
            assert (m.committed, m.deposited, m.cash) == (self.committed[key], accepted, accepted)

    def teardown(self) -> None:
        self.db.engine.dispose()


def fresh_databases(request, tmp_path_factory, kind):
    """A function giving a new, empty Database of `kind` each time (one per hypothesis example)."""
    if kind == "sqlite":
        template = request.getfixturevalue("sqlite_template")

        def fresh() -> Database:
            path = tmp_path_factory.mktemp("ledger") / "swarm.sqlite3"
            shutil.copyfile(template, path)
            engine = make_engine(f"sqlite:///{path}")
            return Database("sqlite", f"sqlite:///{path}", engine, make_sessionmaker(engine))
    else:
        url = request.getfixturevalue("pg_url")

        def fresh() -> Database:
            engine = make_engine(url)
            _empty_pg(engine)
            return Database("postgresql", url, engine, make_sessionmaker(engine))
    return fresh


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_random_sequences_keep_the_ledger_whole(request, tmp_path_factory, kind):
    LedgerMachine.fresh = staticmethod(fresh_databases(request, tmp_path_factory, kind))
    run_state_machine_as_test(LedgerMachine, settings=settings(max_examples=15, stateful_step_count=12,
                                                               deadline=None))


def test_committing_makes_a_delivery_and_a_holdback_milestone_per_awarded_item_funded_to_the_cent(db):
    from market.models import Award, BidItem, Milestone, MilestoneFunding
    from market.services.settlement import DEFAULT_TERMS
    round_id, analyst, _, _ = cleared_round(db)
    with db.sessions.begin() as session:
        services.commit_run(session, analyst, round_id)
    with db.sessions.begin() as session:
        items = session.execute(select(BidItem).join(Award, Award.bid_id == BidItem.bid_id)).scalars().all()
        milestones = session.scalars(select(Milestone).order_by(Milestone.id)).all()
        by_item = {}
        for m in milestones:
            by_item.setdefault(m.bid_item_id, {})[m.kind] = m
            assert sum(f.amount_cents for f in m.funding) == m.amount_cents and m.state == "open"
        assert set(by_item) == {i.id for i in items}
        for item in items:
            parts = by_item[item.id]
            held = item.price_cents * DEFAULT_TERMS.holdback_percent // 100
            assert parts["delivery"].amount_cents == item.price_cents - held
            assert ("holdback" in parts) == (held > 0)
            if held:
                assert parts["holdback"].amount_cents == held and parts["holdback"].service_days == DEFAULT_TERMS.service_days
        # Each pledge's escrow for a component is exactly what it funds of that component's milestones.
        funded = {}
        for f, component_id in session.execute(select(MilestoneFunding, Milestone.component_id)
                                               .join(Milestone, Milestone.id == MilestoneFunding.milestone_id)):
            funded[f.pledge_id, component_id] = funded.get((f.pledge_id, component_id), 0) + f.amount_cents
        flows = {(f.pledge_id, f.component_id): f.amount_cents for f in session.scalars(select(Flow))}
        assert funded == flows
    assert check(db, round_id) == []


def test_the_check_compares_milestone_funding_with_escrow():
    committed = [(1, "commit", [("escrow", 1, 10, 600), ("commitment", 1, None, -600)])]
    assert ledger.check(Facts(committed, {1: 1000}, {10: 600}, {(1, 10): 600})) == []
    assert ledger.check(Facts(committed, {1: 1000}, {10: 600}, {(1, 10): 599, (2, 10): 1})) == [
        "pledge 1, component 10: 600 cents in escrow, released or refunded but 599 fund its milestones",
        "pledge 2, component 10: 0 cents in escrow, released or refunded but 1 fund its milestones"]


def test_analysts_set_the_terms_until_the_commit_and_the_milestones_follow_them(db):
    from market.models import Milestone
    from market.services import settlement
    round_id, analyst, f1, _ = cleared_round(db)
    with db.sessions.begin() as session:
        assert settlement.terms(session, round_id) == settlement.Terms(10, 90, 14)
    with db.sessions.begin() as session, pytest.raises(Forbidden):
        settlement.set_terms(session, f1, round_id, {"holdback_percent": 20})
    for bad, field in (({"holdback_percent": 60}, "holdback_percent"), ({"service_days": "ten"}, "service_days"),
                       ({"review_days": 0}, "review_days"), ({"holdback_percent": 12.5}, "holdback_percent")):
        with db.sessions.begin() as session, pytest.raises(InvalidInput) as refused:
            settlement.set_terms(session, analyst, round_id, bad)
        assert set(refused.value.fields) == {field}
    with db.sessions.begin() as session:
        assert settlement.set_terms(session, analyst, round_id, {"holdback_percent": 25, "service_days": 30}) == (
            settlement.Terms(25, 30, 14))
        services.commit_run(session, analyst, round_id)
    with db.sessions.begin() as session:
        for m in session.scalars(select(Milestone).where(Milestone.kind == "holdback")):
            assert m.service_days == 30
        held = session.scalar(select(func.sum(Milestone.amount_cents)).where(Milestone.kind == "holdback"))
        total = session.scalar(select(func.sum(Milestone.amount_cents)))
        assert held * 4 <= total <= held * 4 + 4 * 10     # 25%, each item rounded down to the cent
        assert session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "terms")) == 1
    with db.sessions.begin() as session, pytest.raises(WrongState, match="follow the terms it had then"):
        settlement.set_terms(session, analyst, round_id, {"holdback_percent": 5})
    assert check(db, round_id) == []
