"""Delivery reports, verifiers and releases (issue 17): an actor reports on its milestone with evidence, an
assigned, independent verifier accepts (in full or pro rata) or rejects, acceptance releases the money to the
actor's payable attributed to every funding pledge; the ledger check holds after every write."""
from __future__ import annotations

import tempfile
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import event, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import func, select

from market import services
from market.errors import Forbidden, InvalidInput, NotFound, WrongState
from market.models import (Account, DeliveryReport, LedgerEntry, Milestone, MilestoneFunding, Pledge, ReportFile,
                           Role, RoundActor, utcnow)
from market.services import delivery, verification
from market.services.delivery import Upload
from market.storage import DiskStorage

from .test_ledger import check, cleared_round, fresh_databases

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%test\n"


@pytest.fixture
def market(db, tmp_path):
    """The small market cleared and committed, every participant with an account, a verifier assigned to the
    whole round; evidence kept under tmp_path."""
    round_id, analyst, f1, f2 = cleared_round(db)
    a1 = db.user("a1@example.org", Role.ACTOR)
    a2 = db.user("a2@example.org", Role.ACTOR)
    verifier = db.user("vera@example.org", Role.VERIFIER)
    with db.sessions.begin() as session:
        services.link_participant(session, None, round_id, "a1", a1.id)
        services.link_participant(session, None, round_id, "a2", a2.id)
        services.commit_run(session, analyst, round_id)
        services.assign_verifier(session, analyst, round_id, {"email": "vera@example.org"})
    return dict(db=db, round_id=round_id, analyst=analyst, f1=f1, f2=f2, a1=a1, a2=a2, verifier=verifier,
                storage=DiskStorage(tmp_path / "evidence"))


def milestone_of(db, round_id, actor_key, kind="delivery", component=None):
    with db.sessions.begin() as session:
        query = (select(Milestone).join(RoundActor, RoundActor.id == Milestone.actor_id)
                 .where(Milestone.round_id == round_id, RoundActor.key == actor_key, Milestone.kind == kind)
                 .order_by(Milestone.id))
        rows = session.scalars(query).all()
        if component is not None:
            rows = [m for m in rows if m.component_id == component]
        session.expunge_all()
        return rows[0]


def submit(m, user, milestone_id, quantity, files=(), now=None, **extra):
    with m["db"].sessions.begin() as session:
        report = services.submit_report(session, user, milestone_id, {"quantity": quantity, **extra}, list(files),
                                        m["storage"], now=now)
        return report.id


def review(m, user, report_id, decision, now=None, **extra):
    with m["db"].sessions.begin() as session:
        report = services.review_report(session, user, report_id, {"decision": decision, **extra}, now=now)
        return report.state, report.released_cents


def payable(db, milestone_id):
    with db.sessions.begin() as session:
        return {p: int(c) for p, c in session.execute(
            select(LedgerEntry.pledge_id, func.sum(LedgerEntry.amount_cents)).where(
                LedgerEntry.account == Account.PAYABLE, LedgerEntry.milestone_id == milestone_id)
            .group_by(LedgerEntry.pledge_id))}


def funding(db, milestone_id):
    with db.sessions.begin() as session:
        return dict(session.execute(select(MilestoneFunding.pledge_id, MilestoneFunding.amount_cents)
                                    .where(MilestoneFunding.milestone_id == milestone_id)).all())


def test_an_accepted_report_releases_the_milestone_to_the_actor_attributed_to_each_pledge(market):
    m = market
    milestone = milestone_of(m["db"], m["round_id"], "a1")
    report_id = submit(m, m["a1"], milestone.id, milestone.quantity, [Upload("site/photo.png", PNG)],
                       note="both wells drilled", latitude=-0.09, longitude=34.76)
    assert check(m["db"], m["round_id"]) == []
    assert milestone_of(m["db"], m["round_id"], "a1").state == "submitted"
    assert review(m, m["verifier"], report_id, "accept") == ("accepted", milestone.amount_cents)
    assert check(m["db"], m["round_id"]) == []
    assert payable(m["db"], milestone.id) == funding(m["db"], milestone.id)
    assert sum(payable(m["db"], milestone.id).values()) == milestone.amount_cents
    with m["db"].sessions.begin() as session:
        report = session.get(DeliveryReport, report_id)
        assert (report.latitude, report.longitude, report.note, report.reviewed_by) == (
            -0.09, 34.76, "both wells drilled", "vera@example.org")
        [evidence] = report.files
        assert (evidence.name, evidence.content_type, evidence.size_bytes) == ("photo.png", "image/png", len(PNG))
    # Its holdback opens after the service period (90 days by default), with 30 days to report.
    holdback = milestone_of(m["db"], m["round_id"], "a1", "holdback", milestone.component_id)
    opens = holdback.opens_at.replace(tzinfo=utcnow().tzinfo)
    assert timedelta(days=89) < opens - utcnow() <= timedelta(days=90)
    assert holdback.due_at - holdback.opens_at == timedelta(days=30)
    with pytest.raises(WrongState, match="can be reported from"):
        submit(m, m["a1"], holdback.id, 1)
    later = opens + timedelta(days=1)
    held = submit(m, m["a1"], holdback.id, milestone.quantity, [Upload("still.pdf", PDF)], now=later,
                  note="pumps still work")
    assert review(m, m["verifier"], held, "accept", now=later) == ("accepted", holdback.amount_cents)
    assert check(m["db"], m["round_id"]) == []
    # Both milestones paid: the item's whole price is the actor's, and nothing of it is left in escrow.
    assert sum(payable(m["db"], milestone.id).values()) + sum(payable(m["db"], holdback.id).values()) == (
        milestone.amount_cents + holdback.amount_cents)


def test_a_partial_acceptance_pays_pro_rata_and_keeps_the_deduction_in_escrow(market):
    m = market
    milestone = milestone_of(m["db"], m["round_id"], "a1")
    assert milestone.quantity == 2
    report_id = submit(m, m["a1"], milestone.id, 2)
    with pytest.raises(InvalidInput, match="reason"):
        review(m, m["verifier"], report_id, "accept", quantity=1)
    with pytest.raises(InvalidInput, match="at most the 2 reported"):
        review(m, m["verifier"], report_id, "accept", quantity=3)
    state, released = review(m, m["verifier"], report_id, "accept", quantity=1, reason="one well is dry")
    assert (state, released) == ("accepted", milestone.amount_cents // 2)
    assert sum(payable(m["db"], milestone.id).values()) == milestone.amount_cents // 2
    assert check(m["db"], m["round_id"]) == []
    # The holdback pays for what still works of what was accepted: at most 1 unit.
    holdback = milestone_of(m["db"], m["round_id"], "a1", "holdback", milestone.component_id)
    later = holdback.opens_at.replace(tzinfo=utcnow().tzinfo) + timedelta(hours=1)
    with pytest.raises(InvalidInput, match="at most 1, the quantity accepted at delivery"):
        submit(m, m["a1"], holdback.id, 2, now=later)


def test_a_rejected_report_can_be_made_again_until_the_deadline(market):
    m = market
    milestone = milestone_of(m["db"], m["round_id"], "a2")
    first = submit(m, m["a2"], milestone.id, milestone.quantity)
    with pytest.raises(WrongState, match="waiting for a verifier"):
        submit(m, m["a2"], milestone.id, milestone.quantity)
    with pytest.raises(InvalidInput, match="say why"):
        review(m, m["verifier"], first, "reject")
    assert review(m, m["verifier"], first, "reject", reason="no photos of the latrines") == ("rejected", None)
    with pytest.raises(WrongState, match="rejected already"):
        review(m, m["verifier"], first, "accept")
    assert payable(m["db"], milestone.id) == {}
    due = milestone.due_at.replace(tzinfo=utcnow().tzinfo)
    assert timedelta(days=179) < due - utcnow() <= timedelta(days=180)
    with pytest.raises(WrongState, match="deadline passed"):
        submit(m, m["a2"], milestone.id, milestone.quantity, now=due + timedelta(seconds=1))
    second = submit(m, m["a2"], milestone.id, milestone.quantity, [Upload("latrines.jpg", b"\xff\xd8\xff\xe0" + b"0" * 9)])
    assert review(m, m["verifier"], second, "accept")[0] == "accepted"
    with pytest.raises(WrongState, match="accepted already"):
        submit(m, m["a2"], milestone.id, 1)
    assert check(m["db"], m["round_id"]) == []


def test_evidence_is_checked_by_its_content_and_a_refused_report_writes_nothing(market, tmp_path):
    m = market
    milestone = milestone_of(m["db"], m["round_id"], "a1")
    cases = [([Upload("x.png", b"GIF89a....")], "files[0]", "not a JPEG or PNG photo or a PDF"),
             ([Upload("ok.png", PNG), Upload("empty.pdf", b"")], "files[1]", "empty.pdf is empty"),
             ([Upload(f"{i}.png", PNG) for i in range(6)], "files", "at most 5 files"),
             ([Upload("big.pdf", b"%PDF-" + b"0" * delivery.MAX_FILE_BYTES)], "files[0]", "at most 10 MB")]
    for files, field, message in cases:
        with pytest.raises(InvalidInput) as refused:
            submit(m, m["a1"], milestone.id, 1, files)
        assert message in refused.value.fields[field]
    with pytest.raises(InvalidInput) as refused:
        submit(m, m["a1"], milestone.id, 1, latitude=91.0, longitude=0)
    assert refused.value.fields == {"latitude": "the latitude in degrees, from -90 to 90"}
    with pytest.raises(InvalidInput) as refused:
        submit(m, m["a1"], milestone.id, 1, latitude=1.5)
    assert refused.value.fields == {"longitude": "give both coordinates, or neither"}
    with pytest.raises(InvalidInput, match="at most 2, the quantity awarded"):
        submit(m, m["a1"], milestone.id, 3)
    with m["db"].sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(DeliveryReport)) == 0
        assert session.scalar(select(func.count()).select_from(ReportFile)) == 0
    assert not (tmp_path / "evidence").exists()
    assert delivery.clean_filename("C:\\Users\\me\\photo\x00.png") == "photo.png"
    assert delivery.clean_filename("../../etc/passwd") == "passwd"


def test_only_the_milestones_actor_reports_and_only_an_assigned_independent_verifier_reviews(market):
    m = market
    db, round_id = m["db"], m["round_id"]
    milestone = milestone_of(db, round_id, "a1")
    for who in ("a2", "f1", "verifier", "analyst"):
        with pytest.raises(NotFound, match="not yours"):
            submit(m, m[who], milestone.id, 1)
    report_id = submit(m, m["a1"], milestone.id, 2, [Upload("p.png", PNG)])
    outsider = db.user("other@example.org", Role.VERIFIER)
    with pytest.raises(NotFound):
        review(m, outsider, report_id, "accept")
    with pytest.raises(Forbidden, match="do not verify"):
        review(m, m["analyst"], report_id, "accept")
    for who in ("a1", "f1"):                   # not assigned: it looks absent to them
        with pytest.raises(NotFound):
            review(m, m[who], report_id, "accept")
    # Evidence: its actor, the round's verifier, a funder paying for it and analysts see it; no one else.
    with db.sessions.begin() as session:
        file_id = session.scalar(select(ReportFile.id))
    for who in ("a1", "verifier", "analyst", "f1"):
        with db.sessions.begin() as session:
            row, data = delivery.evidence(session, m[who], file_id, m["storage"])
            assert data == PNG and row.content_type == "image/png"
    for user in (m["a2"], outsider):
        with db.sessions.begin() as session, pytest.raises(NotFound):
            delivery.evidence(session, user, file_id, m["storage"])
    assert check(db, round_id) == []


def test_verifier_assignments_refuse_funders_and_actors_of_what_they_verify(market):
    m = market
    db, round_id, analyst = m["db"], m["round_id"], m["analyst"]

    def assign(email, challenge=None, by=analyst):
        with db.sessions.begin() as session:
            return services.assign_verifier(session, by, round_id, {"email": email, "challenge": challenge}).id

    with pytest.raises(InvalidInput, match="funds work in the round"):
        assign("f1@example.org")
    with pytest.raises(InvalidInput, match="funds work on it"):
        assign("f1@example.org", "wells")
    with pytest.raises(InvalidInput, match="bid on it"):
        assign("a1@example.org", "wells")
    with pytest.raises(InvalidInput, match="bid in the round"):
        assign("a2@example.org")
    assignment = assign("a2@example.org", "wells")    # a2 bid only on latrines: independent of the wells
    with pytest.raises(InvalidInput, match="analyst: verifiers are"):
        assign("ana@example.org")
    with pytest.raises(InvalidInput, match="no account"):
        assign("nobody@example.org")
    with pytest.raises(InvalidInput, match="no challenge 'roads'"):
        assign("vera@example.org", "roads")
    with pytest.raises(InvalidInput, match="assigned to that already"):
        assign("vera@example.org")
    with pytest.raises(Forbidden):
        assign("vera@example.org", "wells", by=m["verifier"])
    # a2 verifies a1's wells; the latrines (its own) it cannot even see to review.
    wells = milestone_of(db, round_id, "a1")
    report_id = submit(m, m["a1"], wells.id, 2)
    assert review(m, m["a2"], report_id, "accept")[0] == "accepted"
    latrines = milestone_of(db, round_id, "a2")
    own = submit(m, m["a2"], latrines.id, latrines.quantity)
    with pytest.raises(NotFound):
        review(m, m["a2"], own, "accept")
    with db.sessions.begin() as session:
        views = verification.assignments(session, analyst, round_id)
        assert [(v.email, v.challenge) for v in views] == [("vera@example.org", None), ("a2@example.org", "wells")]
        services.unassign_verifier(session, analyst, round_id, assignment)
    with pytest.raises(NotFound):
        review(m, m["a2"], own, "accept")
    assert check(db, round_id) == []


def test_reports_past_the_review_time_are_escalated_not_paid(market):
    m = market
    milestone = milestone_of(m["db"], m["round_id"], "a2")
    report_id = submit(m, m["a2"], milestone.id, milestone.quantity)
    with m["db"].sessions.begin() as session:
        [waiting] = delivery.waiting_reports(session, m["verifier"])
        assert (waiting.report.id, waiting.overdue, waiting.actor) == (report_id, False, "a2")
        late = utcnow() + timedelta(days=15)
        [waiting] = delivery.waiting_reports(session, m["analyst"], m["round_id"], now=late)
        assert waiting.overdue
        assert delivery.waiting_reports(session, m["a1"]) == []       # not a verifier of anything
    assert payable(m["db"], milestone.id) == {}


def test_a_milestone_reads_with_its_reports_what_is_paid_and_what_comes_next(market):
    m = market
    milestone = milestone_of(m["db"], m["round_id"], "a1")
    with m["db"].sessions.begin() as session:
        detail = delivery.milestone_detail(session, m["a1"], milestone.id)
        assert detail.may_report and detail.next_step.startswith("submit a delivery report by ")
        assert (detail.component, detail.actor, detail.released_cents, detail.reports) == (
            "wells/drill", "DrillCo", 0, [])
    report_id = submit(m, m["a1"], milestone.id, 2, [Upload("p.png", PNG)], note="done")
    review(m, m["verifier"], report_id, "accept", quantity=1, reason="one is dry")
    holdback = milestone_of(m["db"], m["round_id"], "a1", "holdback", milestone.component_id)
    with m["db"].sessions.begin() as session:
        detail = delivery.milestone_detail(session, m["f1"], milestone.id)
        [report] = detail.reports
        assert (report.state, report.accepted_quantity, report.reason, [f.name for f in report.files]) == (
            "accepted", 1, "one is dry", ["p.png"])
        assert detail.released_cents == milestone.amount_cents // 2 and not detail.may_report
        assert detail.next_step.startswith("verified; the deduction stays in escrow")
        assert detail.disputable == report.id and detail.in_escrow_cents == milestone.amount_cents - detail.released_cents
        assert delivery.milestone_detail(session, m["a1"], holdback.id).next_step.startswith(
            "report that it still works from ")
        for outsider in (m["a2"],):
            with pytest.raises(NotFound):
                delivery.milestone_detail(session, outsider, milestone.id)


class DeliveryMachine(RuleBasedStateMachine):
    """Random sequences of reports (by the milestone's actor and by another), acceptances in full and pro rata,
    rejections, reports again, holdback reports, disputes (by the actor and by another), analysts' decisions
    (for the actor, in full or in part, or for the verifier), write-offs, time passing and deposits, on a
    committed round: after every step the ledger check passes, each milestone has paid exactly what its
    verifications and decisions say and never more than its amount, and no cent appears or disappears
    (escrow + released + refunded = committed, per pledge)."""
    fresh: Any = None

    def __init__(self) -> None:
        super().__init__()
        self.db = type(self).fresh()
        self.round_id, analyst, f1, _ = cleared_round(self.db)
        self.f1 = f1
        self.actors = {"a1": self.db.user("a1@example.org", Role.ACTOR), "a2": self.db.user("a2@example.org", Role.ACTOR)}
        self.verifier = self.db.user("vera@example.org", Role.VERIFIER)
        self.storage = DiskStorage(tempfile.mkdtemp(prefix="evidence-"))
        with self.db.sessions.begin() as session:
            for key, user in self.actors.items():
                services.link_participant(session, None, self.round_id, key, user.id)
            services.commit_run(session, analyst, self.round_id)
            services.assign_verifier(session, analyst, self.round_id, {"email": "vera@example.org"})
            rows = session.execute(select(Milestone.id, RoundActor.key, Milestone.amount_cents, Milestone.quantity)
                                   .join(RoundActor, RoundActor.id == Milestone.actor_id).order_by(Milestone.id)).all()
        self.milestones = [tuple(row) for row in rows]
        self.released = {mid: 0 for mid, *_ in self.milestones}
        self.waiting: dict[int, int] = {}           # milestone -> its report waiting for review
        self.disputable: dict[int, int] = {}        # milestone -> its report rejected, or accepted with a deduction
        self.disputed: dict[int, int] = {}          # dispute -> its milestone, while open
        self.analyst = analyst
        self.now = utcnow()
        with self.db.sessions.begin() as session:
            self.committed = sum(m.committed for m in services.settlement.pledges_money(
                session, list(session.scalars(select(Pledge.id).where(Pledge.round_id == self.round_id)))).values())

    @rule(i=st.integers(0, 20), quantity=st.sampled_from([0, 0, 1, 3]),
          by_owner=st.sampled_from([True, True, True, False]), photo=st.booleans())
    def report(self, i: int, quantity: int, by_owner: bool, photo: bool) -> None:
        """quantity 0: the quantity awarded."""
        mid, actor, _, awarded = self.milestones[i % len(self.milestones)]
        quantity = quantity or awarded
        user = self.actors[actor] if by_owner else self.actors["a2" if actor == "a1" else "a1"]
        try:
            with self.db.sessions.begin() as session:
                report = services.submit_report(session, user, mid, {"quantity": quantity},
                                                [Upload("p.png", PNG)] if photo else [], self.storage, now=self.now)
                self.waiting[mid] = report.id
                self.disputable.pop(mid, None)      # only the latest decision can be disputed
        except NotFound:
            assert not by_owner
        except (WrongState, InvalidInput):
            assert by_owner

    @precondition(lambda self: self.waiting)
    @rule(data=st.data(), decision=st.sampled_from(["accept", "partial", "reject"]))
    def review(self, data: Any, decision: str) -> None:
        mid = data.draw(st.sampled_from(sorted(self.waiting)))
        _, _, amount, quantity = next(m for m in self.milestones if m[0] == mid)
        asked: dict[str, Any] = {"decision": "reject" if decision == "reject" else "accept", "reason": "checked"}
        if decision == "partial":
            asked["quantity"] = 1
        try:
            with self.db.sessions.begin() as session:
                report = services.review_report(session, self.verifier, self.waiting[mid], asked, now=self.now)
                accepted, released = report.accepted_quantity, report.released_cents
        except InvalidInput:
            return                                  # e.g. a partial quantity above what was reported
        report_id = self.waiting.pop(mid)
        if decision != "reject":
            assert released == amount * accepted // quantity
            self.released[mid] = released
        if decision == "reject" or released < amount:
            self.disputable[mid] = report_id

    @precondition(lambda self: self.disputable)
    @rule(data=st.data(), by_owner=st.sampled_from([True, True, True, False]))
    def dispute(self, data: Any, by_owner: bool) -> None:
        mid = data.draw(st.sampled_from(sorted(self.disputable)))
        actor = next(m for m in self.milestones if m[0] == mid)[1]
        user = self.actors[actor] if by_owner else self.actors["a2" if actor == "a1" else "a1"]
        try:
            with self.db.sessions.begin() as session:
                row = services.open_dispute(session, user, self.disputable[mid], {"reason": "it was all there"})
                self.disputed[row.id] = mid
                del self.disputable[mid]
                event(f"dispute of a {row.kind}")
                assert row.amount_cents == self.amount(mid) - self.released[mid] - self.refunded(session, mid)
        except NotFound:
            assert not by_owner
        except WrongState:
            assert by_owner

    @precondition(lambda self: self.disputed)
    @rule(data=st.data(), for_actor=st.booleans(), part=st.sampled_from([None, 1, 2]))
    def decide(self, data: Any, for_actor: bool, part: int | None) -> None:
        dispute_id = data.draw(st.sampled_from(sorted(self.disputed)))
        asked: dict[str, Any] = {"decision": "actor" if for_actor else "verifier", "note": "looked at the photos"}
        if part is not None:
            asked["release"] = f"0.0{part}"
        try:
            with self.db.sessions.begin() as session:
                row = services.decide_dispute(session, self.analyst, dispute_id, asked)
                paid = row.released_cents or 0
        except InvalidInput:
            return                                  # a part above the disputed amount
        mid = self.disputed.pop(dispute_id)
        self.released[mid] += paid
        event(f"decided for the {asked['decision']}")

    @rule(i=st.integers(0, 20), now=st.integers(0, 3))
    def write_off(self, i: int, now: int) -> None:
        if now:                                     # seldom: a written-off milestone has nothing more to do
            return
        mid = self.milestones[i % len(self.milestones)][0]
        try:
            with self.db.sessions.begin() as session:
                services.write_off(session, self.analyst, mid, {"reason": "the actor left"})
        except WrongState:
            return
        event("written off")
        self.disputable.pop(mid, None)

    def amount(self, mid: int) -> int:
        return next(m for m in self.milestones if m[0] == mid)[2]

    def refunded(self, session: Any, mid: int) -> int:
        return int(session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            LedgerEntry.milestone_id == mid, LedgerEntry.account == Account.REFUND)))

    @rule(days=st.sampled_from([1, 10, 95]))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)

    @rule(cents=st.integers(1, 500_000))
    def deposit(self, cents: int) -> None:
        try:
            with self.db.sessions.begin() as session:
                services.record_deposit(session, self.f1, self.round_id, "p1",
                                        {"amount": f"{cents // 100}.{cents % 100:02d}"})
        except (InvalidInput, WrongState):
            pass

    @invariant()
    def every_cent_is_where_the_verifications_say(self) -> None:
        assert check(self.db, self.round_id) == []
        with self.db.sessions.begin() as session:
            paid = dict(session.execute(select(LedgerEntry.milestone_id, func.sum(LedgerEntry.amount_cents))
                                        .where(LedgerEntry.account == Account.PAYABLE)
                                        .group_by(LedgerEntry.milestone_id)).all())
            money = services.settlement.pledges_money(
                session, list(session.scalars(select(Pledge.id).where(Pledge.round_id == self.round_id))))
            for mid, *_ in self.milestones:
                assert self.released[mid] + self.refunded(session, mid) <= self.amount(mid)
        assert {mid: paid.get(mid, 0) for mid in self.released} == self.released
        assert sum(m.in_escrow + m.released + m.refunded for m in money.values()) == self.committed

    def teardown(self) -> None:
        self.db.engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_random_delivery_sequences_keep_the_ledger_whole(request, tmp_path_factory, kind):
    DeliveryMachine.fresh = staticmethod(fresh_databases(request, tmp_path_factory, kind))
    run_state_machine_as_test(DeliveryMachine, settings=settings(max_examples=15, stateful_step_count=40,
                                                                 deadline=None))
