"""Delivery and verification of milestones (issue 17): an actor reports, a verifier decides, money follows.

- An actor reports on its own milestone (delivered quantity, a note, optional coordinates, evidence files),
  from the milestone's opening (a holdback: the end of its service period) until its deadline; while a report
  waits for a verifier there is no other; after a rejection it may report again, until the deadline.
- An assigned, independent verifier (services/verification.py) accepts it, in full or for fewer units (paid
  pro rata, in whole cents, rounded down: the deduction stays in escrow), or rejects it with a reason.
- Accepting releases the milestone in the same transaction: escrow(p, k) -> payable(p, k, m) for each pledge
  funding it, in proportion to what each funds (market/split.py), so every released cent is attributed to its
  funder. Accepting a delivery opens its holdback: it can be reported on once the service period has passed.
- A report not reviewed within the round's review time is escalated to the analysts (`overdue`); nothing is
  ever paid without a verifier's acceptance.

Evidence files are checked by content (JPEG, PNG or PDF, whatever their name says), at most MAX_FILES per
report and MAX_FILE_BYTES each, and kept in a `Storage` (market/storage.py) under the sha256 of their bytes.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from solver.money import format_money_grouped

from .. import ledger, schemas
from ..errors import InvalidInput, NotFound, WrongState
from ..ledger import Posting
from ..models import (Account, Challenge, Component, DeliveryReport, Dispute, DisputeState, LedgerEntry,
                      LedgerTransaction, Milestone, MilestoneFunding, MilestoneKind, MilestoneState, Pledge, ReportFile,
                      ReportState, Role, Round, RoundActor, RoundFunder, SETTLED_STATES, User, utcnow)
from ..split import split_table
from ..storage import Storage
from .clearing import audit_who
from .common import STAFF, as_utc, audit, by_id, get_round, lock_round
from .settlement import terms
from . import notifications
from .verification import require_verifier, verifies

RELEASE = "release"
MAX_FILES = 5
MAX_FILE_BYTES = 10 * 1024 * 1024
# What evidence may be: the type is read from the bytes, never from the name or the browser's word for it.
EVIDENCE_TYPES = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",),
                  "application/pdf": (b"%PDF-",)}


@dataclass(frozen=True)
class Upload:
    """A file as it came in: the name its sender gave it, and its bytes."""
    filename: str
    data: bytes


def sniff(data: bytes) -> str | None:
    for content_type, magics in EVIDENCE_TYPES.items():
        if any(data.startswith(magic) for magic in magics):
            return content_type
    return None


def clean_filename(name: str) -> str:
    """The last part of whatever path was sent, without control characters, at most 200 characters."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    kept = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C").strip()
    return (kept or "evidence")[-200:]


def check_files(files: list[Upload]) -> list[tuple[Upload, str]]:
    """Each file with its type, or InvalidInput naming every bad one ("files[1]")."""
    if len(files) > MAX_FILES:
        raise InvalidInput({"files": f"at most {MAX_FILES} files per report (got {len(files)})"})
    problems: dict[str, str] = {}
    typed = []
    for i, upload in enumerate(files):
        kind = sniff(upload.data)
        if not upload.data:
            problems[f"files[{i}]"] = f"{clean_filename(upload.filename)} is empty"
        elif len(upload.data) > MAX_FILE_BYTES:
            problems[f"files[{i}]"] = (f"{clean_filename(upload.filename)} is {len(upload.data):,} bytes: at most "
                                       f"{MAX_FILE_BYTES // (1024 * 1024)} MB per file")
        elif kind is None:
            problems[f"files[{i}]"] = (f"{clean_filename(upload.filename)} is not a JPEG or PNG photo or a PDF "
                                       "document")
        else:
            typed.append((upload, kind))
    if problems:
        raise InvalidInput(problems)
    return typed


def _absent(milestone_id: Any) -> NotFound:
    return NotFound(f"no milestone {milestone_id}, or it is not yours")


def own_milestone(session: Session, user: User | None, milestone_id: Any, lock: bool = False) -> Milestone:
    """The actor's own milestone (the command line: any); anyone else's looks absent."""
    milestone = by_id(session, Milestone, milestone_id, lock=lock)
    if milestone is None:
        raise _absent(milestone_id)
    if user is not None and (user.role != Role.ACTOR or not is_owner(session, user, milestone)):
        raise _absent(milestone_id)
    return milestone


def readable_by(user: User) -> Any:
    """A condition on Milestone: `user` (not staff) may read it: its actor, a verifier assigned to it and
    independent of it (whatever the account's role: funder and actor accounts verify too), or a funder whose
    pledge pays for it."""
    owns = exists().where(RoundActor.id == Milestone.actor_id, RoundActor.user_id == user.id)
    funds = exists().where(MilestoneFunding.milestone_id == Milestone.id, MilestoneFunding.pledge_id == Pledge.id,
                           Pledge.funder_id == RoundFunder.id, RoundFunder.user_id == user.id)
    return or_(owns, verifies(user), funds)


def may_read(session: Session, user: User | None, milestone: Milestone) -> bool:
    """Its actor, a verifier assigned to it, a funder paying for it, analysts, admins, the command line."""
    if user is None or user.role in STAFF:
        return True
    return session.scalar(select(Milestone.id).where(Milestone.id == milestone.id, readable_by(user))) is not None


def is_owner(session: Session, user: User, milestone: Milestone) -> bool:
    """`user` owns the actor that delivers the milestone."""
    return session.scalar(select(RoundActor.user_id).where(RoundActor.id == milestone.actor_id)) == user.id


def report_milestone(session: Session, user: User | None, report_id: Any) -> int:
    """The milestone a report is on, for whoever may read that milestone (anyone else: absent)."""
    report = by_id(session, DeliveryReport, report_id)
    milestone = None if report is None else session.get(Milestone, report.milestone_id)
    if milestone is None or not may_read(session, user, milestone):
        raise NotFound(f"no report {report_id}, or it is not yours to see")
    return milestone.id


def round_currencies(session: Session, round_ids: set[int]) -> dict[int, str]:
    return dict(session.execute(select(Round.id, Round.currency).where(Round.id.in_(round_ids))).all())


def visible_milestones(session: Session, user: User | None, round_id: int) -> list[Milestone]:
    """The round's milestones `user` may read (analysts, admins, the command line: all), in order."""
    get_round(session, round_id)
    query = select(Milestone).where(Milestone.round_id == round_id).order_by(Milestone.id)
    if user is not None and user.role not in STAFF:
        query = query.where(readable_by(user))
    return list(session.scalars(query))


def details_of(session: Session, milestone_ids: list[int]) -> dict[int, MilestoneDetail]:
    """Milestones by id (the caller has the right to read them: its own awards, its own pledges)."""
    rows = list(session.scalars(select(Milestone).where(Milestone.id.in_(milestone_ids)).order_by(Milestone.id)))
    return {d.id: d for d in details(session, rows)}


def readable_milestone(session: Session, user: User | None, milestone_id: Any) -> Milestone:
    milestone = by_id(session, Milestone, milestone_id)
    if milestone is None or not may_read(session, user, milestone):
        raise _absent(milestone_id)
    return milestone


def submit_report(session: Session, user: User | None, milestone_id: Any, data: dict[str, Any],
                  files: list[Upload], storage: Storage, now: datetime | None = None) -> DeliveryReport:
    """The actor reports milestone `milestone_id` delivered: data = {quantity, note, latitude, longitude}."""
    values, typed = _report_input(data, files)
    milestone = own_milestone(session, user, milestone_id)
    lock_round(session, milestone.round_id, shared=True)
    milestone = own_milestone(session, user, milestone_id, lock=True)
    now = now or utcnow()
    refusal = report_refusal(milestone, now)
    if refusal:
        raise WrongState(refusal)
    ceiling = milestone.quantity
    if milestone.kind == MilestoneKind.HOLDBACK:
        ceiling = _delivered(session, milestone) or ceiling
    if values["quantity"] > ceiling:
        raise InvalidInput({"quantity": f"at most {ceiling}, the quantity "
                                        + ("accepted at delivery" if ceiling < milestone.quantity else "awarded")})
    report = DeliveryReport(milestone_id=milestone.id, round_id=milestone.round_id, quantity=values["quantity"],
                            note=values["note"], latitude=values["latitude"], longitude=values["longitude"],
                            submitted_by=audit_who(user), submitted_at=now)
    session.add(report)
    session.flush()
    for upload, kind in typed:
        key = storage.put(upload.data)
        session.add(ReportFile(report_id=report.id, name=clean_filename(upload.filename), content_type=kind,
                               size_bytes=len(upload.data), storage_key=key))
    milestone.state = MilestoneState.SUBMITTED.value
    session.flush()
    audit(session, user, "report", "milestone", milestone.id, milestone.round_id, report=report.id,
          quantity=report.quantity, files=len(typed))
    return report


def _report_input(data: dict[str, Any], files: list[Upload]) -> tuple[dict[str, Any], list[tuple[Upload, str]]]:
    """The report's fields and its typed files, or InvalidInput naming every problem of both at once."""
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    typed: list[tuple[Upload, str]] = []
    try:
        values = schemas.load(schemas.made(schemas.ReportSchema), data)
    except InvalidInput as exc:
        problems.update(exc.fields)
    try:
        typed = check_files(files)
    except InvalidInput as exc:
        problems.update(exc.fields)
    if problems:
        raise InvalidInput(problems)
    return values, typed


# Issue 18: milestones stopped by an award failure, or by a repair that could not complete their challenge.
STOPPED = (MilestoneState.FAILED, MilestoneState.CANCELLED)
STOPPED_WHY = {MilestoneState.FAILED: "milestone {} stopped: its award failed",
               MilestoneState.CANCELLED: "milestone {} was cancelled: a repair could not complete its challenge"}


def report_refusal(milestone: Milestone, now: datetime) -> str | None:
    """Why its actor may not report on the milestone at `now`, or None when it may."""
    if milestone.state == MilestoneState.SUBMITTED:
        return f"milestone {milestone.id} has a report waiting for a verifier"
    if milestone.state == MilestoneState.ACCEPTED:
        return f"milestone {milestone.id} is accepted already"
    if milestone.state == MilestoneState.DISPUTED:
        return f"milestone {milestone.id} is disputed: an analyst decides"
    if milestone.state == MilestoneState.WRITTEN_OFF:
        return f"milestone {milestone.id} was written off"
    if milestone.state in STOPPED:
        return STOPPED_WHY[MilestoneState(milestone.state)].format(milestone.id)
    if milestone.opens_at is None and milestone.kind == MilestoneKind.HOLDBACK:
        return (f"milestone {milestone.id} is a holdback: it opens once its delivery is accepted and has kept "
                f"working for {milestone.service_days} days")
    if milestone.opens_at is not None and now < as_utc(milestone.opens_at):
        return (f"milestone {milestone.id} can be reported from {as_utc(milestone.opens_at):%Y-%m-%d %H:%M} UTC, "
                "at the end of its service period")
    if milestone.due_at is not None and now > as_utc(milestone.due_at):
        return f"milestone {milestone.id}'s deadline passed on {as_utc(milestone.due_at):%Y-%m-%d %H:%M} UTC"
    return None


def dispute_refusal(milestone: Milestone, report_id: int, report_state: str, latest: int | None, held: int,
                    disputed: bool) -> str | None:
    """Why its actor may not dispute the decision on report `report_id` now, or None when it may: a rejection
    that is the milestone's latest decision, or an acceptance that left money in escrow (a deduction), once
    per report. `latest`: the milestone's latest report; `held`: what it still holds in escrow."""
    if disputed:
        return f"report {report_id} was disputed already"
    if milestone.state == MilestoneState.DISPUTED:
        return f"milestone {milestone.id} has a dispute waiting for an analyst"
    if milestone.state == MilestoneState.WRITTEN_OFF:
        return f"milestone {milestone.id} was written off"
    if milestone.state in STOPPED:
        return STOPPED_WHY[MilestoneState(milestone.state)].format(milestone.id)
    if report_state == ReportState.SUBMITTED:
        return f"report {report_id} waits for a verifier: there is no decision to dispute yet"
    if report_state == ReportState.ACCEPTED and held <= 0:
        return f"report {report_id} was accepted in full: there is nothing to dispute"
    if report_state == ReportState.REJECTED and (milestone.state != MilestoneState.REJECTED or report_id != latest):
        return f"report {report_id}'s rejection is not the milestone's latest decision"
    if held <= 0:
        return f"milestone {milestone.id} holds nothing in escrow to dispute"
    return None


def write_off_refusal(milestone_id: int, state: str, held: int) -> str | None:
    """Why an analyst may not write the milestone off now (`held`: what it still holds in escrow), or None."""
    if state == MilestoneState.DISPUTED:
        return f"milestone {milestone_id} is disputed: its money is frozen until an analyst decides"
    if state == MilestoneState.SUBMITTED:
        return f"milestone {milestone_id} has a report waiting for a verifier: have it reviewed first"
    if state == MilestoneState.WRITTEN_OFF:
        return f"milestone {milestone_id} was written off already"
    if state in STOPPED:
        return STOPPED_WHY[MilestoneState(state)].format(milestone_id) + ": its escrow goes with the repair"
    if state == MilestoneState.ACCEPTED and held == 0:
        return f"milestone {milestone_id} is paid in full: nothing is left to write off"
    return None


def _delivered(session: Session, holdback: Milestone) -> int | None:
    """The quantity accepted at the delivery a holdback belongs to (None: all of it, as when an analyst decided
    a dispute of the delivery for its actor)."""
    delivery = select(Milestone.id).where(Milestone.bid_item_id == holdback.bid_item_id,
                                          Milestone.kind == MilestoneKind.DELIVERY).scalar_subquery()
    if session.scalar(select(Dispute.id).where(Dispute.milestone_id == delivery,
                                               Dispute.state == DisputeState.FOR_ACTOR)) is not None:
        return None
    return session.scalar(select(DeliveryReport.accepted_quantity).where(
        DeliveryReport.milestone_id == delivery, DeliveryReport.state == ReportState.ACCEPTED))


def review_report(session: Session, user: User | None, report_id: Any, data: dict[str, Any],
                  now: datetime | None = None) -> DeliveryReport:
    """A verifier's decision, data = {decision: accept|reject, quantity (accept: default the reported one),
    reason (a rejection's, or a deduction's: required then)}. Accepting releases the milestone's money."""
    values = schemas.load(schemas.made(schemas.ReviewSchema), data)
    report = by_id(session, DeliveryReport, report_id)
    if report is None:
        raise NotFound(f"no report {report_id} for you to verify")
    milestone = session.get(Milestone, report.milestone_id)
    assert milestone is not None
    require_verifier(session, user, milestone)
    lock_round(session, milestone.round_id, shared=True)
    report = by_id(session, DeliveryReport, report_id, lock=True)
    assert report is not None
    if report.state != ReportState.SUBMITTED:
        raise WrongState(f"report {report.id} is {report.state} already")
    if milestone.state in STOPPED:
        raise WrongState(STOPPED_WHY[MilestoneState(milestone.state)].format(milestone.id))
    now = now or utcnow()
    reason = values["reason"].strip()
    if values["decision"] == "reject" and not reason:
        raise InvalidInput({"reason": "say why the report is rejected: the actor reads it to report again"})
    quantity = values["quantity"] or report.quantity
    if quantity > report.quantity:
        raise InvalidInput({"quantity": f"at most the {report.quantity} reported"})
    if values["decision"] == "accept" and quantity < milestone.quantity and not reason:
        raise InvalidInput({"reason": f"say why only {quantity} of {milestone.quantity} are accepted: the "
                                      "actor may dispute the deduction"})
    report.reviewed_by, report.reviewer_id, report.reviewed_at = audit_who(user), getattr(user, "id", None), now
    if values["decision"] == "reject":
        report.state, report.reason = ReportState.REJECTED.value, reason
        milestone.state = MilestoneState.REJECTED.value
        session.flush()
        audit(session, user, "reject report", "milestone", milestone.id, milestone.round_id, report=report.id,
              reason=reason)
        notifications.notify(session, [notifications.actor_user(session, milestone.actor_id)], "report rejected",
                             f"Report {report.id} on milestone {milestone.id} was rejected: {reason}",
                             f"/milestones/{milestone.id}", milestone.round_id)
        return report
    released = milestone.amount_cents * quantity // milestone.quantity
    report.state, report.accepted_quantity, report.released_cents = ReportState.ACCEPTED.value, quantity, released
    report.reason = reason or None
    milestone.state = MilestoneState.ACCEPTED.value
    row = release(session, user, milestone, released)
    if milestone.kind == MilestoneKind.DELIVERY:
        open_holdback(session, milestone, now)
    session.flush()
    audit(session, user, "accept report", "milestone", milestone.id, milestone.round_id, report=report.id,
          quantity=quantity, of=milestone.quantity, released_cents=released,
          transaction=None if row is None else row.id, reason=reason or None)
    _tell_release(session, milestone, released, f"report {report.id} accepted for {quantity} of {milestone.quantity}")
    return report


def _tell_release(session: Session, milestone: Milestone, released: int, why: str) -> None:
    """The actor and the funders paying for the milestone: money released (or not), and why."""
    currency = session.scalar(select(Round.currency).where(Round.id == milestone.round_id))
    link = f"/milestones/{milestone.id}"
    paid = f"{format_money_grouped(released)} {currency} released" if released else "nothing released"
    notifications.notify(session, [notifications.actor_user(session, milestone.actor_id)], "payment released",
                         f"Milestone {milestone.id}: {why}; {paid} to you", link, milestone.round_id)
    if released:
        notifications.notify(session, notifications.funder_users(session, milestone.id), "payment released",
                             f"Milestone {milestone.id}: {why}; {paid} to its actor from your pledges' escrow",
                             link, milestone.round_id)


def release(session: Session, user: User | None, milestone: Milestone, amount: int) -> LedgerTransaction | None:
    """Move `amount` of the milestone's escrow to its actor's payable, split over its funding pledges in
    proportion to what each still holds for it (whole cents, both totals exact): at the first release that is
    what each funds."""
    if amount <= 0:
        return None
    held = unspent(session, milestone)
    parts = split_table([amount, sum(held.values()) - amount], list(held.values()))[0]
    postings = [p for pledge_id, cents in zip(held, parts) for p in (
        Posting(Account.PAYABLE, pledge_id, cents, milestone.component_id, milestone.id),
        Posting(Account.ESCROW, pledge_id, -cents, milestone.component_id))]
    return ledger.post(session, milestone.round_id, RELEASE, postings, audit_who(user),
                       memo=f"milestone {milestone.id} ({milestone.kind})")


def unspent(session: Session, milestone: Milestone) -> dict[int, int]:
    """Per funding pledge (in pledge order), what it still holds in escrow for the milestone: its funding less
    what was paid out or refunded of it."""
    spent = dict(session.execute(
        select(LedgerEntry.pledge_id, func.sum(LedgerEntry.amount_cents))
        .where(LedgerEntry.milestone_id == milestone.id,
               LedgerEntry.account.in_([Account.PAYABLE.value, Account.REFUND.value]))
        .group_by(LedgerEntry.pledge_id)).all())
    funding = session.execute(select(MilestoneFunding.pledge_id, MilestoneFunding.amount_cents)
                              .where(MilestoneFunding.milestone_id == milestone.id)
                              .order_by(MilestoneFunding.pledge_id)).all()
    return {pledge_id: cents - int(spent.get(pledge_id) or 0) for pledge_id, cents in funding}


def open_holdback(session: Session, delivery: Milestone, now: datetime) -> None:
    holdback = session.scalar(select(Milestone).where(Milestone.bid_item_id == delivery.bid_item_id,
                                                      Milestone.kind == MilestoneKind.HOLDBACK))
    if holdback is None or holdback.state != MilestoneState.OPEN:
        return                      # written off with a delivery that failed, before the analyst decided for it
    agreed = terms(session, delivery.round_id)
    holdback.opens_at = now + timedelta(days=holdback.service_days or 0)
    holdback.due_at = holdback.opens_at + timedelta(days=agreed.holdback_report_days)
    notifications.notify(session, [notifications.actor_user(session, holdback.actor_id)], "milestone to report",
                         f"Milestone {holdback.id} (the holdback): report that it still works from "
                         f"{holdback.opens_at:%Y-%m-%d} to {holdback.due_at:%Y-%m-%d}",
                         f"/milestones/{holdback.id}", holdback.round_id)


def reports(session: Session, milestone_ids: list[int]) -> dict[int, list[DeliveryReport]]:
    """Every report of each milestone, oldest first (with their files)."""
    out: dict[int, list[DeliveryReport]] = {m: [] for m in milestone_ids}
    for report in session.scalars(select(DeliveryReport).where(DeliveryReport.milestone_id.in_(milestone_ids))
                                  .order_by(DeliveryReport.id)):
        out[report.milestone_id].append(report)
    return out


def evidence(session: Session, user: User | None, file_id: Any, storage: Storage) -> tuple[ReportFile, bytes]:
    """An evidence file, for whoever may read its milestone (its actor, its verifiers, the funders paying
    for it, analysts); anyone else finds it absent."""
    row = by_id(session, ReportFile, file_id)
    milestone = None
    if row is not None:
        report = session.get(DeliveryReport, row.report_id)
        milestone = session.get(Milestone, report.milestone_id) if report is not None else None
    if row is None or milestone is None or not may_read(session, user, milestone):
        raise NotFound(f"no file {file_id}, or it is not yours to see")
    try:
        return row, storage.get(row.storage_key)
    except FileNotFoundError:
        raise NotFound(f"file {file_id}'s content is missing from the evidence storage") from None


@dataclass(frozen=True)
class Waiting:
    """A report waiting for a verifier: what it is about, since when, and whether it is overdue."""
    report: DeliveryReport
    milestone: Milestone
    component: str
    actor: str
    due: datetime               # submitted + the round's review time
    overdue: bool


def waiting_reports(session: Session, user: User | None, round_id: int | None = None,
                    now: datetime | None = None) -> list[Waiting]:
    """Reports waiting for review: a verifier's (assigned, its rounds), or every one (analysts; a round's).
    Those past the round's review time are overdue: escalated to the analysts, never paid automatically."""
    query = (select(DeliveryReport, Milestone, Challenge.key, Component.key, RoundActor)
             .join(Milestone, Milestone.id == DeliveryReport.milestone_id)
             .join(Component, Component.id == Milestone.component_id).join(Challenge)
             .join(RoundActor, RoundActor.id == Milestone.actor_id)
             .where(DeliveryReport.state == ReportState.SUBMITTED).order_by(DeliveryReport.id))
    if round_id is not None:
        query = query.where(DeliveryReport.round_id == round_id)
    if user is not None and user.role not in STAFF:
        query = query.where(verifies(user))
    now = now or utcnow()
    out = []
    review_days: dict[int, int] = {}
    for report, milestone, challenge, component, actor in session.execute(query).all():
        if milestone.round_id not in review_days:
            review_days[milestone.round_id] = terms(session, milestone.round_id).review_days
        due = as_utc(report.submitted_at) + timedelta(days=review_days[milestone.round_id])
        out.append(Waiting(report, milestone, f"{challenge}/{component}", actor.name or actor.key, due, now > due))
    return out


@dataclass(frozen=True)
class FileView:
    id: int
    name: str
    content_type: str
    size_bytes: int


@dataclass(frozen=True)
class ReportView:
    id: int
    state: str
    quantity: int
    note: str
    latitude: float | None
    longitude: float | None
    submitted_at: datetime
    reviewed_at: datetime | None
    accepted_quantity: int | None
    released_cents: int | None
    reason: str | None
    files: list[FileView]


@dataclass(frozen=True)
class DisputeView:
    id: int
    report_id: int
    kind: str                   # rejection or deduction
    amount_cents: int           # disputed: frozen in escrow until decided
    reason: str
    opened_at: datetime
    state: str                  # open, for_actor, for_verifier
    decided_at: datetime | None
    decision: str | None        # the analyst's note
    released_cents: int | None  # what the decision paid the actor


@dataclass(frozen=True)
class MilestoneDetail:
    """A milestone as its actor, its verifiers, the funders paying for it and analysts read it."""
    id: int
    round_id: int
    component: str              # "challenge/component"
    actor: str
    kind: str
    quantity: int
    amount_cents: int
    state: str
    service_days: int | None
    opens_at: datetime | None
    due_at: datetime | None
    released_cents: int         # paid to the actor so far (the ledger's payouts)
    refunded_cents: int         # gone back to the funders (written off, deductions upheld)
    reports: list[ReportView]   # oldest first
    disputes: list[DisputeView]  # oldest first
    next_step: str              # what happens next, in words
    may_report: bool            # its actor may report on it now (`report_refusal`)
    disputable: int | None      # the report its actor may dispute now, if any

    @property
    def in_escrow_cents(self) -> int:
        return self.amount_cents - self.released_cents - self.refunded_cents

    @property
    def may_write_off(self) -> bool:
        """An analyst may write it off now (`write_off_refusal`)."""
        return write_off_refusal(self.id, self.state, self.in_escrow_cents) is None

    @property
    def settled(self) -> bool:
        """Nothing more will happen to its money: paid and refunded in full, written off, or stopped (failed,
        cancelled) with its escrow moved by a repair."""
        return self.state in SETTLED_STATES and self.in_escrow_cents == 0


def milestone_detail(session: Session, user: User | None, milestone_id: Any) -> MilestoneDetail:
    """One milestone with its reports, for whoever may read it (anyone else: absent)."""
    return details(session, [readable_milestone(session, user, milestone_id)])[0]


def details(session: Session, milestones: list[Milestone], now: datetime | None = None) -> list[MilestoneDetail]:
    """Milestones (already allowed to the reader) with their reports, files, disputes and money."""
    ids = [m.id for m in milestones]
    found = reports(session, ids)
    names = dict(session.execute(select(Milestone.id, Challenge.key + "/" + Component.key)
                                 .join(Component, Component.id == Milestone.component_id).join(Challenge)
                                 .where(Milestone.id.in_(ids))).all())
    actors = {a.id: a.name or a.key for a in session.scalars(select(RoundActor).where(
        RoundActor.id.in_({m.actor_id for m in milestones})))}
    moved: dict[tuple[int | None, str], int] = {
        (m, a): int(c) for m, a, c in session.execute(
            select(LedgerEntry.milestone_id, LedgerEntry.account, func.sum(LedgerEntry.amount_cents))
            .where(LedgerEntry.milestone_id.in_(ids)).group_by(LedgerEntry.milestone_id, LedgerEntry.account))}
    argued: dict[int, list[DisputeView]] = {m: [] for m in ids}
    for d in session.scalars(select(Dispute).where(Dispute.milestone_id.in_(ids)).order_by(Dispute.id)):
        argued[d.milestone_id].append(DisputeView(
            d.id, d.report_id, d.kind, d.amount_cents, d.reason, as_utc(d.opened_at), d.state,
            None if d.decided_at is None else as_utc(d.decided_at), d.decision, d.released_cents))
    now = now or utcnow()
    out = []
    for m in milestones:
        views = [ReportView(r.id, r.state, r.quantity, r.note, r.latitude, r.longitude, as_utc(r.submitted_at),
                            None if r.reviewed_at is None else as_utc(r.reviewed_at), r.accepted_quantity,
                            r.released_cents, r.reason,
                            [FileView(f.id, f.name, f.content_type, f.size_bytes) for f in r.files])
                 for r in found[m.id]]
        released, refunded = moved.get((m.id, Account.PAYABLE), 0), moved.get((m.id, Account.REFUND), 0)
        opens = None if m.opens_at is None else as_utc(m.opens_at)
        due = None if m.due_at is None else as_utc(m.due_at)
        held = m.amount_cents - released - refunded
        last = views[-1] if views else None         # only the latest decision can be disputed
        disputable = None
        if last is not None and dispute_refusal(m, last.id, last.state, last.id, held,
                                                any(d.report_id == last.id for d in argued[m.id])) is None:
            disputable = last.id
        out.append(MilestoneDetail(m.id, m.round_id, names[m.id], actors[m.actor_id], m.kind, m.quantity,
                                   m.amount_cents, m.state, m.service_days, opens, due, released, refunded, views,
                                   argued[m.id], _next_step(m, opens, due, now, held),
                                   report_refusal(m, now) is None, disputable))
    return out


def _next_step(m: Milestone, opens: datetime | None, due: datetime | None, now: datetime, held: int) -> str:
    by = f" by {due:%Y-%m-%d}" if due is not None else ""
    if m.state == MilestoneState.WRITTEN_OFF:
        return "written off: what it held went back to the funders"
    if m.state == MilestoneState.FAILED:
        return ("stopped: its award failed; a repair gives what it held to a replacement actor or back to the funders"
                if held else "stopped: its award failed; what it held went to the repair or back to the funders")
    if m.state == MilestoneState.CANCELLED:
        return "cancelled: a repair could not complete its challenge; what it held went back to the funders"
    if m.state == MilestoneState.DISPUTED:
        return "disputed: an analyst decides; the disputed money stays in escrow until then"
    if m.state == MilestoneState.ACCEPTED:
        if held > 0:
            return "verified; the deduction stays in escrow: the actor may dispute it, or an analyst refunds it"
        return "verified and paid"
    if m.state == MilestoneState.SUBMITTED:
        return "a verifier reviews the report"
    if m.kind == MilestoneKind.HOLDBACK and opens is None:
        return f"once the delivery is accepted, {m.service_days} days of service, then a report that it still works"
    if opens is not None and now < opens:
        return f"report that it still works from {opens:%Y-%m-%d}{by}"
    if due is not None and now > due:
        return f"the deadline passed on {due:%Y-%m-%d}: an analyst decides"
    if m.state == MilestoneState.REJECTED:
        return f"report again{by}"
    return f"submit a delivery report{by}" if m.kind == MilestoneKind.DELIVERY else f"report that it still works{by}"
