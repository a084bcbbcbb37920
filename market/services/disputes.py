"""Disputes and write-offs (issue 17): the analysts' decisions that end a milestone's money.

- An actor may dispute a verifier's rejection (the latest report of a rejected milestone) or an acceptance that
  left money in escrow (a deduction: fewer units accepted, or reported), once per report. Only the disputed
  amount, what the milestone still holds in escrow, is frozen: the milestone is `disputed`, nothing else of
  the round stops. An analyst decides, with a note both parties read:
  - for the actor: `release` of the disputed amount (all, by default) is paid to the actor, attributed to each
    funding pledge in proportion to what it still holds; the rest goes back to the funders; a rejected
    milestone becomes accepted (a delivery's holdback opens);
  - for the verifier: a deduction goes back to the funders; a rejection stands, and the actor may report again
    until the milestone's deadline.
- An analyst writes off a milestone its actor will not complete (or the deduction left on an accepted one):
  whatever it still holds in escrow goes back to each funding pledge, to the cent; a delivery written off takes
  its holdback with it. Never while a report waits for a verifier or a dispute for an analyst.

Every decision is one transaction with its ledger entries and its audit row.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import ledger, schemas
from ..errors import InvalidInput, NotFound, WrongState
from ..ledger import Posting
from ..models import (Account, DeliveryReport, Dispute, DisputeState, LedgerTransaction, Milestone, MilestoneKind,
                      MilestoneState, ReportState, User, utcnow)
from .clearing import audit_who
from . import notifications
from .common import STAFF, audit, by_id, lock_round, require_role
from .delivery import dispute_refusal, open_holdback, own_milestone, release, unspent, write_off_refusal

REFUND = "refund"
Row = TypeVar("Row", Dispute, Milestone)


def open_dispute(session: Session, user: User | None, report_id: Any, data: dict[str, Any],
                 now: datetime | None = None) -> Dispute:
    """The actor disputes the decision on its report `report_id`: data = {reason}."""
    values = schemas.load(schemas.made(schemas.DisputeSchema), data)
    report = by_id(session, DeliveryReport, report_id)
    if report is None:
        raise NotFound(f"no report {report_id}, or it is not yours")
    try:
        milestone = own_milestone(session, user, report.milestone_id)
    except NotFound:
        raise NotFound(f"no report {report_id}, or it is not yours") from None
    lock_round(session, milestone.round_id, shared=True)
    milestone = own_milestone(session, user, report.milestone_id, lock=True)
    held = sum(unspent(session, milestone).values())
    latest = session.scalar(select(DeliveryReport.id).where(DeliveryReport.milestone_id == milestone.id)
                            .order_by(DeliveryReport.id.desc()))
    disputed = session.scalar(select(Dispute.id).where(Dispute.report_id == report.id)) is not None
    refusal = dispute_refusal(milestone, report.id, report.state, latest, held, disputed)
    if refusal:
        raise WrongState(refusal)
    kind = "rejection" if report.state == ReportState.REJECTED else "deduction"
    dispute = Dispute(round_id=milestone.round_id, milestone_id=milestone.id, report_id=report.id, kind=kind,
                      amount_cents=held, reason=values["reason"], opened_by=audit_who(user),
                      opened_at=now or utcnow())
    session.add(dispute)
    milestone.state = MilestoneState.DISPUTED.value
    session.flush()
    audit(session, user, "dispute", "milestone", milestone.id, milestone.round_id, dispute=dispute.id,
          report=report.id, kind=kind, amount_cents=held, reason=values["reason"])
    return dispute


def decide_dispute(session: Session, user: User | None, dispute_id: Any, data: dict[str, Any],
                   now: datetime | None = None) -> Dispute:
    """An analyst decides: data = {decision: actor|verifier, release (for the actor; default all), note}."""
    require_role(user, STAFF, "decide disputes")
    values = schemas.load(schemas.made(schemas.DecisionSchema), data)
    dispute = _locked(session, Dispute, dispute_id, "dispute")
    milestone = by_id(session, Milestone, dispute.milestone_id, lock=True)
    assert milestone is not None
    if dispute.state != DisputeState.OPEN:
        raise WrongState(f"dispute {dispute.id} was decided already ({dispute.state})")
    now = now or utcnow()
    moved: dict[str, Any] = {}
    if values["decision"] == "actor":
        paid = dispute.amount_cents if values["release"] is None else values["release"]
        if paid > dispute.amount_cents:
            raise InvalidInput({"release": f"at most the {dispute.amount_cents} cents disputed"})
        moved["release"] = _id(release(session, user, milestone, paid))
        moved["refund"] = _id(refund(session, user, milestone))
        milestone.state = MilestoneState.ACCEPTED.value
        if dispute.kind == "rejection" and milestone.kind == MilestoneKind.DELIVERY:
            open_holdback(session, milestone, now)
        dispute.state, dispute.released_cents = DisputeState.FOR_ACTOR.value, paid
    else:
        if dispute.kind == "deduction":
            moved["refund"] = _id(refund(session, user, milestone))
            milestone.state = MilestoneState.ACCEPTED.value
        else:
            milestone.state = MilestoneState.REJECTED.value
        dispute.state = DisputeState.FOR_VERIFIER.value
    dispute.decided_by, dispute.decided_at, dispute.decision = audit_who(user), now, values["note"]
    session.flush()
    audit(session, user, "decide dispute", "milestone", milestone.id, milestone.round_id, dispute=dispute.id,
          decision=values["decision"], released_cents=dispute.released_cents, note=values["note"], **moved)
    reviewer = session.scalar(select(DeliveryReport.reviewer_id).where(DeliveryReport.id == dispute.report_id))
    told = [notifications.actor_user(session, milestone.actor_id), reviewer]
    if moved.get("release") or moved.get("refund"):         # money moved: the funders paying for it hear too
        told += notifications.funder_users(session, milestone.id)
    notifications.notify(session, told, "dispute decided", f"Dispute {dispute.id} on milestone {milestone.id} was "
                         f"decided for the {values['decision']}: {values['note']}", f"/milestones/{milestone.id}",
                         milestone.round_id)
    return dispute


def write_off(session: Session, user: User | None, milestone_id: Any, data: dict[str, Any]) -> Milestone:
    """An analyst ends a milestone: what it holds in escrow goes back to its funders (data = {reason})."""
    require_role(user, STAFF, "write milestones off")
    values = schemas.load(schemas.made(schemas.ExclusionSchema), data)
    milestone = _locked(session, Milestone, milestone_id, "milestone")
    refusal = write_off_refusal(milestone.id, milestone.state, sum(unspent(session, milestone).values()))
    if refusal:
        raise WrongState(refusal)
    ended = [milestone]
    if milestone.state != MilestoneState.ACCEPTED and milestone.kind == MilestoneKind.DELIVERY:
        holdback = session.scalar(select(Milestone).where(Milestone.bid_item_id == milestone.bid_item_id,
                                                          Milestone.kind == MilestoneKind.HOLDBACK))
        if holdback is not None and holdback.state == MilestoneState.OPEN:
            ended.append(holdback)      # it can never open: its delivery will not be accepted
    refunded = {}
    for m in ended:
        refunded[m.id] = _id(refund(session, user, m))
        if m.state != MilestoneState.ACCEPTED:
            m.state = MilestoneState.WRITTEN_OFF.value
    session.flush()
    audit(session, user, "write off", "milestone", milestone.id, milestone.round_id, reason=values["reason"],
          refunds={str(k): v for k, v in refunded.items()})
    told = [notifications.actor_user(session, milestone.actor_id)] + notifications.funder_users(session, milestone.id)
    notifications.notify(session, told, "written off", f"Milestone {milestone.id} was written off: "
                         f"{values['reason']}; what it held in escrow went back to its funders",
                         f"/milestones/{milestone.id}", milestone.round_id)
    return milestone


def _locked(session: Session, model: type[Row], row_id: Any, what: str) -> Row:
    """The row (a dispute, a milestone), read again under its round's shared lock; absent: NotFound."""
    row = by_id(session, model, row_id)
    if row is None:
        raise NotFound(f"no {what} {row_id}")
    lock_round(session, row.round_id, shared=True)
    locked = by_id(session, model, row_id, lock=True)
    assert locked is not None
    return locked


def refund(session: Session, user: User | None, milestone: Milestone) -> LedgerTransaction | None:
    """Everything the milestone still holds in escrow goes back to each pledge that gave it."""
    postings = [p for pledge_id, cents in unspent(session, milestone).items() if cents > 0 for p in (
        Posting(Account.REFUND, pledge_id, cents, milestone.component_id, milestone.id),
        Posting(Account.ESCROW, pledge_id, -cents, milestone.component_id))]
    if not postings:
        return None
    return ledger.post(session, milestone.round_id, REFUND, postings, audit_who(user),
                       memo=f"milestone {milestone.id} ({milestone.kind})")


def _id(row: LedgerTransaction | None) -> int | None:
    return None if row is None else row.id


def dispute_milestone(session: Session, user: User | None, dispute_id: Any) -> int:
    """The milestone a dispute is about, for analysts and admins, who decide disputes."""
    require_role(user, STAFF, "decide disputes")
    row = by_id(session, Dispute, dispute_id)
    if row is None:
        raise NotFound(f"no dispute {dispute_id}")
    return row.milestone_id


def open_disputes(session: Session, user: User | None, round_id: int | None = None) -> list[Dispute]:
    """Disputes waiting for an analyst (analysts, admins)."""
    require_role(user, STAFF, "see disputes")
    query = select(Dispute).where(Dispute.state == DisputeState.OPEN).order_by(Dispute.id)
    if round_id is not None:
        query = query.where(Dispute.round_id == round_id)
    return list(session.scalars(query))
