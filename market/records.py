"""Actors' track records (issue 18): what became of the work they were awarded, across every round their account
took part in, and the reliability it suggests.

Counted per milestone (a delivery and its holdback, so a holdback that stops working counts too):
  verified  accepted by a verifier (or on a dispute decided for the actor);
  late      its deadline passed with no accepted report (still open, or rejected and not reported again);
  failed    its award was marked failed, or an analyst wrote it off;
and, beside them, rejected: reports a verifier rejected (the actor may report again, so a rejection alone is no
failure). An actor that is not linked to an account has only the rounds it is in.

The estimate is Bayesian: a Beta prior whose mean is the declared reliability r and whose weight is PRIOR_WEIGHT
milestones, updated by the verified milestones (successes) and the late and failed ones (failures):
    (PRIOR_WEIGHT * r + verified) / (PRIOR_WEIGHT + verified + late + failed).
With no record it is the declared value; each outcome moves it by about 1/(PRIOR_WEIGHT + n). A round whose
`reliability_source` is "track_record" clears with this estimate in place of each bid's declared reliability
(market/snapshot.py), so its market file carries the estimates and stays checkable on its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import (Bid, DeliveryReport, Milestone, MilestoneState, ReportState, RoundActor, User,
                     as_utc, utcnow)

PRIOR_WEIGHT = 10


def actor_reliability(actor: RoundActor) -> float:
    """The actor's declared reliability, else the format's default 1."""
    return actor.reliability if actor.reliability is not None else 1.0


def declared_reliability(bid: Bid, actor: RoundActor) -> float:
    """The bid's own declared reliability, else its actor's."""
    return bid.reliability if bid.reliability is not None else actor_reliability(actor)


@dataclass(frozen=True)
class Record:
    verified: int = 0
    late: int = 0
    failed: int = 0
    rejected: int = 0

    @property
    def outcomes(self) -> int:
        return self.verified + self.late + self.failed

    def estimate(self, declared: float) -> float:
        """The track-record reliability with `declared` as the prior's mean."""
        return (PRIOR_WEIGHT * declared + self.verified) / (PRIOR_WEIGHT + self.outcomes)


def records(session: Session, actor_ids: list[int], now: datetime | None = None) -> dict[int, Record]:
    """Each round actor's record: over every round actor of the same account (or itself alone, unlinked)."""
    now = now or utcnow()
    rows = session.execute(select(RoundActor.id, RoundActor.user_id).where(RoundActor.id.in_(actor_ids))).all()
    users = {actor_id: user_id for actor_id, user_id in rows}
    linked = {u for u in users.values() if u is not None}
    same: dict[int, list[int]] = {}
    if linked:
        for actor_id, user_id in session.execute(select(RoundActor.id, RoundActor.user_id)
                                                 .where(RoundActor.user_id.in_(linked))):
            if user_id is not None:
                same.setdefault(user_id, []).append(actor_id)
    every = sorted({a for a in actor_ids} | {a for ids in same.values() for a in ids})
    per_actor: dict[int, dict[str, int]] = {a: {"verified": 0, "late": 0, "failed": 0, "rejected": 0} for a in every}
    for actor_id, state, due in session.execute(
            select(Milestone.actor_id, Milestone.state, Milestone.due_at)
            .where(Milestone.actor_id.in_(every))):
        counts = per_actor[actor_id]
        if state == MilestoneState.ACCEPTED:
            counts["verified"] += 1
        elif state in (MilestoneState.FAILED, MilestoneState.WRITTEN_OFF):
            counts["failed"] += 1
        elif state in (MilestoneState.OPEN, MilestoneState.REJECTED) and due is not None and as_utc(due) < now:
            counts["late"] += 1
    for actor_id, rejected in session.execute(
            select(Milestone.actor_id, func.count(DeliveryReport.id))
            .join(DeliveryReport, DeliveryReport.milestone_id == Milestone.id)
            .where(Milestone.actor_id.in_(every), DeliveryReport.state == ReportState.REJECTED,
                   Milestone.state.not_in([MilestoneState.FAILED, MilestoneState.CANCELLED]))
            .group_by(Milestone.actor_id)):
        per_actor[actor_id]["rejected"] += int(rejected)
    out = {}
    for actor_id in actor_ids:
        user_id = users.get(actor_id)
        group = same.get(user_id, [actor_id]) if user_id is not None else [actor_id]
        totals = {k: sum(per_actor[a][k] for a in group) for k in ("verified", "late", "failed", "rejected")}
        out[actor_id] = Record(**totals)
    return out



@dataclass(frozen=True)
class OwnRecord:
    """An actor's record as it reads it on its page: beside its declared reliability."""
    declared: float
    estimate: float
    verified: int
    late: int
    failed: int
    rejected: int


def own_record(session: Session, user: User, round_id: int) -> OwnRecord | None:
    """The signed-in actor's record, with its declared reliability in the round (None: not an actor of it)."""
    mine = session.scalar(select(RoundActor).where(RoundActor.round_id == round_id, RoundActor.user_id == user.id))
    if mine is None:
        return None
    declared = actor_reliability(mine)
    found = records(session, [mine.id])[mine.id]
    return OwnRecord(declared, found.estimate(declared), found.verified, found.late, found.failed, found.rejected)
