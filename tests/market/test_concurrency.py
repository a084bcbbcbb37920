"""Nothing lost: many writers at once into one round, and a close racing with pledges.

Every service locks the round row first. What changes the round itself (open, close, clear, challenges,
exclusions) locks it exclusively (FOR UPDATE on PostgreSQL); writes of pledges and bids lock it shared
(FOR SHARE), so they run side by side but never beside a close, and a change of one pledge or bid locks its
row. On SQLite each transaction begins IMMEDIATE: every write is serialised there.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any
from collections.abc import Callable

import pytest
from sqlalchemy import select, text

from market import services
from market.errors import Conflict, InvalidInput, MarketDomainError, RoundNotOpen
from market.models import AuditLog, Bid, Pledge, RoundFunder

from .helpers import draft_round

THREADS = 8
ROUNDS = 6


def run_threads(count: int, body: Callable[[int], None]) -> None:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def wrapped(n: int) -> None:
        try:
            barrier.wait()
            body(n)
        except BaseException as exc:  # surfaced below: a thread's crash must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors


def race(db: Any, create: Callable[[Any, int], object], refused: Callable[[InvalidInput], None]) -> list[str]:
    """THREADS creations at once, each in its own transaction: "created", or "refused" (an InvalidInput that
    `refused` checks) per thread, sorted."""
    outcomes: list[str] = []
    lock = threading.Lock()

    def body(n: int) -> None:
        try:
            with db.sessions.begin() as session:
                create(session, n)
            outcome = "created"
        except InvalidInput as exc:
            refused(exc)
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    run_threads(THREADS, body)
    return sorted(outcomes)


def test_concurrent_pledges_and_bids_are_each_kept_exactly_once_or_refused(db):
    round_id = draft_round(db)
    users = [db.user(f"u{n}@example.org", "funder" if n % 2 == 0 else "actor") for n in range(THREADS)]
    lock = threading.Lock()
    accepted: dict[str, dict[str, Any]] = {}        # key -> what the round must hold, or "withdrawn"
    refused: list[str] = []
    writes = Counter()

    def attempt(key: str, write: Callable[[Any], Any], expect: Any) -> bool:
        try:
            with db.sessions.begin() as session:
                write(session)
        except MarketDomainError:
            with lock:
                refused.append(key)
            return False
        with lock:
            accepted[key] = expect
            writes[key] += 1
        return True

    def body(n: int) -> None:
        user = users[n]
        funder = user.role == "funder"
        for i in range(ROUNDS):
            own = f"{'p' if funder else 'b'}-{n}-{i}"
            shared = f"{'p' if funder else 'b'}-shared-{i}"          # every thread of a kind tries it: one wins
            for key in (own, shared):
                if funder:
                    attempt(key, lambda s, key=key: services.pledge(s, user, round_id, {"id": key, "amount": n + 1}),
                            {"amount_cents": (n + 1) * 100, "owner": user.id})
                else:
                    attempt(key, lambda s, key=key: services.bid(s, user, round_id, {
                        "id": key, "items": [{"component": "wells/drill", "price": n}]}),
                        {"price_cents": n * 100, "owner": user.id})
            if funder:                                               # refused: not a valid amount
                attempt(f"bad-{n}-{i}", lambda s, i=i: services.pledge(s, user, round_id, {"id": f"bad-{n}-{i}",
                                                                                         "amount": "0"}), None)
                if i % 2:
                    attempt(own, lambda s, own=own: services.change_pledge(s, user, round_id, own, {"amount": 7}),
                            {"amount_cents": 700, "owner": user.id})
                if i % 3 == 2:
                    attempt(own, lambda s, own=own: services.withdraw_pledge(s, user, round_id, own), "withdrawn")
            else:
                attempt(f"bad-{n}-{i}", lambda s, i=i: services.bid(s, user, round_id, {"id": f"bad-{n}-{i}", "items": [
                    {"component": "wells/nowhere", "price": 1}]}), None)
                if i % 3 == 1:
                    attempt(own, lambda s, own=own: services.withdraw_bid(s, user, round_id, own), "withdrawn")

    run_threads(THREADS, body)

    with db.sessions.begin() as session:
        pledges = session.execute(select(Pledge).where(Pledge.round_id == round_id)).scalars().all()
        bids = session.execute(select(Bid).where(Bid.round_id == round_id)).scalars().all()
        stored = {p.key: ("withdrawn" if p.withdrawn else {"amount_cents": p.amount_cents,
                                                            "owner": p.funder.user_id}) for p in pledges}
        stored.update({b.key: ("withdrawn" if b.withdrawn else {"price_cents": b.items[0].price_cents,
                                                                 "owner": b.actor.user_id}) for b in bids})
        audit = session.execute(select(AuditLog).where(AuditLog.entity.in_(["pledge", "bid"]))).scalars().all()

    assert len(pledges) + len(bids) == len(stored)                 # each key exactly once (and unique in the DB)
    assert stored == accepted
    for i in range(ROUNDS):
        assert f"p-shared-{i}" in stored and f"b-shared-{i}" in stored
        assert refused.count(f"p-shared-{i}") == THREADS // 2 - 1   # all but one funder were refused
    assert not any(key.startswith("bad-") for key in stored)
    assert len(audit) == sum(writes.values())                      # one audit row per accepted write


def test_closing_while_pledges_arrive_keeps_each_pledge_whole_or_refuses_it(db):
    round_id = draft_round(db)
    funders = [db.user(f"f{n}@example.org", "funder") for n in range(THREADS - 1)]
    lock = threading.Lock()
    accepted: dict[str, int] = {}
    refused: list[str] = []
    closed = threading.Event()

    def pledger(n: int) -> None:
        for i in range(1000):
            key = f"p-{n}-{i}"
            try:
                with db.sessions.begin() as session:
                    services.pledge(session, funders[n], round_id, {"id": key, "amount": i + 1,
                                                                    "scope": {"challenges": ["wells"]}})
            except RoundNotOpen:
                with lock:
                    refused.append(key)
                return                                   # once refused, always refused: the round stays closed
            with lock:
                accepted[key] = (i + 1) * 100
                if len(accepted) == 20:
                    closed.set()
            time.sleep(0.002)                    # leave the closer a gap (SQLite's lock is not fair)

    def body(n: int) -> None:
        if n < len(funders):
            pledger(n)
        else:
            closed.wait(30)
            with db.sessions.begin() as session:
                services.close_round(session, None, round_id)

    run_threads(THREADS, body)

    with db.sessions.begin() as session:
        rows = session.execute(select(Pledge).where(Pledge.round_id == round_id)).scalars().all()
        stored = {p.key: p.amount_cents for p in rows}
        assert all(p.scope == {"challenges": ["wells"]} for p in rows)
        audit = session.execute(select(AuditLog).where(AuditLog.round_id == round_id)
                                .order_by(AuditLog.id)).scalars().all()
        document = services.export_round(session, None, round_id)
    assert stored == accepted and len(rows) == len(accepted) > 0
    assert refused and not set(refused) & set(stored)
    finished = {n for n in range(len(funders)) if f"p-{n}-999" in stored}   # done before the close came
    assert len(refused) + len(finished) == len(funders)
    close_at = [a.action for a in audit].index("close")
    assert {a.details["key"] for a in audit[:close_at] if a.entity == "pledge"} == set(stored)
    assert not [a for a in audit[close_at + 1:]]                     # nothing after the close
    assert sum(len(f["pledges"]) for f in document["funders"]) == len(stored)


def test_the_invalid_pledge_in_a_busy_round_is_absent(db):
    """A refused write leaves nothing, even a participant row created on the way."""
    round_id = draft_round(db)
    funder = db.user("solo@example.org", "funder")
    try:
        with db.sessions.begin() as session:
            services.pledge(session, funder, round_id, {"id": "p", "amount": 1, "scope": {"challenges": ["x"]}})
    except InvalidInput:
        pass
    with db.sessions.begin() as session:
        assert services.export_round(session, None, round_id)["funders"] == []


def test_concurrent_sign_ups_with_one_email_make_one_account(db):
    def refused(exc: InvalidInput) -> None:
        assert exc.fields == {"email": "same@example.org already has an account"}

    outcomes = race(db, lambda session, n: services.create_user(session, None, "same@example.org", f"Same {n}",
                                                                "funder"), refused)
    assert outcomes == ["created"] + ["refused"] * (THREADS - 1)
    with db.sessions.begin() as session:
        assert session.execute(select(AuditLog).where(AuditLog.entity == "user")).scalars().all()[0].who == "cli"


def test_concurrent_tokens_never_exceed_the_per_user_cap(db):
    """Each creation counts the owner's active tokens, then adds one: without a lock on the owner, every
    thread counted the same 19 on PostgreSQL (read committed) and all of them added theirs."""
    from market.models import ApiToken
    from market.services.tokens import MAX_ACTIVE
    owner = db.user("f@example.org", "funder")
    for n in range(MAX_ACTIVE - 1):
        with db.sessions.begin() as session:
            services.create_token(session, None, owner.id, f"t{n}")

    def refused(exc: InvalidInput) -> None:
        assert "already has 20 active tokens" in str(exc)

    outcomes = race(db, lambda session, n: services.create_token(session, None, owner.id, f"race{n}"), refused)
    assert outcomes == ["created"] + ["refused"] * (THREADS - 1)
    with db.sessions.begin() as session:
        assert len(session.execute(select(ApiToken).where(ApiToken.user_id == owner.id)).all()) == MAX_ACTIVE


def test_pledges_of_two_funders_are_written_side_by_side_and_a_close_waits_for_both(db):
    """PostgreSQL: a funder's pledge does not wait for another's uncommitted one (each locks the round only
    shared); a close waits for the pledge in flight, which is kept whole. (SQLite writes one at a time.)"""
    if db.kind != "postgresql":
        pytest.skip("SQLite serialises every write (BEGIN IMMEDIATE): nothing runs side by side there")
    round_id = draft_round(db)
    first, second = db.user("first@example.org", "funder"), db.user("second@example.org", "funder")
    for n, funder in enumerate((first, second)):                   # each has its funder row now
        with db.sessions.begin() as session:
            services.pledge(session, funder, round_id, {"id": f"start-{n}", "amount": 1})
    in_flight = db.sessions()
    in_flight.begin()
    services.pledge(in_flight, first, round_id, {"id": "in-flight", "amount": 5})     # not committed yet
    try:
        with db.sessions.begin() as session:
            session.execute(text("SET LOCAL lock_timeout = '5s'"))                  # waiting would fail here
            services.pledge(session, second, round_id, {"id": "beside", "amount": 6})
            services.change_pledge(session, second, round_id, "start-1", {"amount": 7})
        closing = threading.Thread(target=lambda: _close(db, round_id))
        closing.start()
        closing.join(1.0)
        assert closing.is_alive()                                   # the close waits for the pledge in flight
        in_flight.commit()
    finally:
        in_flight.close()
    closing.join(30)
    assert not closing.is_alive()
    with db.sessions.begin() as session:
        stored = {p.key: p.amount_cents for p in session.execute(select(Pledge)).scalars()}
        assert services.export_round(session, None, round_id)  # readable, closed
        with pytest.raises(RoundNotOpen):
            services.pledge(session, second, round_id, {"id": "late", "amount": 1})
    assert stored == {"start-0": 100, "start-1": 700, "in-flight": 500, "beside": 600}


def _close(db: Any, round_id: int) -> None:
    with db.sessions.begin() as session:
        services.close_round(session, None, round_id)


def test_first_writes_of_one_user_at_once_make_one_participant(db):
    """A user's first pledge makes its funder row under an exclusive lock: THREADS first pledges at once make
    one funder, all the pledges its own."""
    round_id = draft_round(db)
    funder = db.user("new@example.org", "funder")

    def body(n: int) -> None:
        with db.sessions.begin() as session:
            services.pledge(session, funder, round_id, {"id": f"p{n}", "amount": n + 1})

    run_threads(THREADS, body)
    with db.sessions.begin() as session:
        funders = session.execute(select(RoundFunder).where(RoundFunder.round_id == round_id)).scalars().all()
        pledges = session.execute(select(Pledge).where(Pledge.round_id == round_id)).scalars().all()
        assert [f.user_id for f in funders] == [funder.id]
        assert len(pledges) == THREADS and {p.funder_id for p in pledges} == {funders[0].id}


def test_changes_of_one_pledge_at_once_each_see_the_one_before(db):
    """Changes lock the pledge's row: THREADS changes at once of one pledge leave audit rows whose "before"
    is each the "after" of the change before it, and the pledge as the last one left it."""
    round_id = draft_round(db)
    funder = db.user("one@example.org", "funder")
    with db.sessions.begin() as session:
        services.pledge(session, funder, round_id, {"id": "p", "amount": 1})

    def body(n: int) -> None:
        with db.sessions.begin() as session:
            services.change_pledge(session, funder, round_id, "p", {"amount": n + 2})

    run_threads(THREADS, body)
    with db.sessions.begin() as session:
        changes = session.execute(select(AuditLog).where(AuditLog.action == "change", AuditLog.entity == "pledge")
                                  .order_by(AuditLog.id)).scalars().all()
        final = session.execute(select(Pledge)).scalar_one().amount_cents
    chain = [c.details["before"]["amount_cents"] for c in changes] + [changes[-1].details["after"]["amount_cents"]]
    assert len(changes) == THREADS and chain[0] == 100 and chain[-1] == final
    assert all(c.details["before"] == prev.details["after"] for prev, c in zip(changes, changes[1:]))
    assert sorted(chain[1:]) == [(n + 2) * 100 for n in range(THREADS)]


def test_a_funder_given_to_another_account_meanwhile_is_a_conflict_and_nothing_is_written(db, monkeypatch):
    """The pledge saw its user's funder row, then an analyst linked that row to another account before the
    round's lock was taken: writing it under a shared lock would make a second funder row beside another
    first write, so it is refused (409) and may be tried again."""
    from market.services import participants
    round_id = draft_round(db)
    funder, other = db.user("was@example.org", "funder"), db.user("now@example.org", "funder")
    with db.sessions.begin() as session:
        services.pledge(session, funder, round_id, {"id": "p1", "amount": 1})
        key = session.execute(select(RoundFunder.key).where(RoundFunder.user_id == funder.id)).scalar_one()
    real_lock = participants.lock_round

    def relinked_first(session, round_id, shared=False):
        with db.sessions.begin() as elsewhere:                       # the analyst, in between
            services.link_participant(elsewhere, None, round_id, key, other.id)
        return real_lock(session, round_id, shared=shared)

    monkeypatch.setattr(participants, "lock_round", relinked_first)
    if db.kind == "sqlite":                                          # its write lock would make the analyst wait
        pytest.skip("SQLite takes its one write lock at BEGIN: the analyst cannot link in between")
    with pytest.raises(Conflict, match="was given to another account meanwhile"):
        with db.sessions.begin() as session:
            services.pledge(session, funder, round_id, {"id": "p2", "amount": 2})
    with db.sessions.begin() as session:
        assert [p.key for p in session.execute(select(Pledge)).scalars()] == ["p1"]
        assert session.execute(select(RoundFunder.user_id)).scalars().all() == [other.id]


def test_a_key_taken_by_a_pledge_in_flight_is_refused_as_the_check_refuses_it(db):
    """PostgreSQL: two funders give one key at once (the command line and the tests may name keys); the
    second passed the check before the first committed, then the unique constraint refuses it: an
    InvalidInput like the check's, not a database error."""
    if db.kind != "postgresql":
        pytest.skip("SQLite serialises every write (BEGIN IMMEDIATE): the check sees the first pledge")
    round_id = draft_round(db)
    first, second = db.user("first@example.org", "funder"), db.user("second@example.org", "funder")
    for n, funder in enumerate((first, second)):
        with db.sessions.begin() as session:
            services.pledge(session, funder, round_id, {"id": f"start-{n}", "amount": 1})
    outcome: list[BaseException] = []

    def second_pledge() -> None:
        try:
            with db.sessions.begin() as session:
                services.pledge(session, second, round_id, {"id": "same", "amount": 2})
        except BaseException as exc:
            outcome.append(exc)

    in_flight = db.sessions()
    in_flight.begin()
    try:
        services.pledge(in_flight, first, round_id, {"id": "same", "amount": 1})
        racing = threading.Thread(target=second_pledge)
        racing.start()
        racing.join(1.0)
        assert racing.is_alive()                       # waiting on the unique index for the first to end
        in_flight.commit()
    finally:
        in_flight.close()
    racing.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], InvalidInput), outcome
    assert outcome[0].fields == {"id": f'pledge id "same" is already used in round {round_id}'}
    with db.sessions.begin() as session:
        assert session.execute(select(Pledge.amount_cents).where(Pledge.key == "same")).scalar_one() == 100
