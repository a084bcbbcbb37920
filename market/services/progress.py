"""A round's public progress after its commit (issue 17): per challenge, milestones verified of total and money
released of committed, in aggregate only. No funder, pledge, price of a single bid or unverified report shows:
what a challenge's milestones add up to is its awarded cost, which the results page shows already."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Account, Challenge, Component, LedgerEntry, Milestone, MilestoneState
from .common import get_round
from .settlement import is_committed, phase


ENDED = (MilestoneState.WRITTEN_OFF, MilestoneState.FAILED, MilestoneState.CANCELLED)


@dataclass(frozen=True)
class ChallengeProgress:
    key: str
    title: str
    milestones: int             # its milestones (deliveries and holdbacks)
    verified: int               # accepted by a verifier (or on a dispute)
    written_off: int            # ended undelivered: written off, or failed or cancelled (issue 18)
    committed_cents: int        # what its milestones pay in all
    released_cents: int         # paid to actors for verified work
    refunded_cents: int         # gone back to the funders


@dataclass(frozen=True)
class RoundProgress:
    round_id: int
    name: str
    currency: str
    phase: str
    challenges: list[ChallengeProgress]

    @property
    def totals(self) -> ChallengeProgress:
        c = self.challenges
        return ChallengeProgress("", "All challenges", sum(x.milestones for x in c), sum(x.verified for x in c),
                                 sum(x.written_off for x in c), sum(x.committed_cents for x in c),
                                 sum(x.released_cents for x in c), sum(x.refunded_cents for x in c))


def round_progress(session: Session, round_id: int) -> RoundProgress | None:
    """The round's progress, for anyone; None before its clearing is committed (there is nothing to follow)."""
    rnd = get_round(session, round_id)
    if not is_committed(session, round_id):
        return None
    counts = session.execute(
        select(Challenge.key, Challenge.title, func.count(Milestone.id),
               func.sum(func.coalesce(Milestone.amount_cents, 0)),
               func.count(Milestone.id).filter(Milestone.state == MilestoneState.ACCEPTED),
               func.count(Milestone.id).filter(Milestone.state.in_(ENDED)))
        .join(Component, Component.challenge_id == Challenge.id)
        .join(Milestone, Milestone.component_id == Component.id)
        .where(Challenge.round_id == round_id).group_by(Challenge.id, Challenge.key, Challenge.title)
        .order_by(Challenge.id)).all()
    moved = {(key, account): int(cents) for key, account, cents in session.execute(
        select(Challenge.key, LedgerEntry.account, func.sum(LedgerEntry.amount_cents))
        .join(Component, Component.challenge_id == Challenge.id)
        .join(Milestone, Milestone.component_id == Component.id)
        .join(LedgerEntry, LedgerEntry.milestone_id == Milestone.id)
        .where(Challenge.round_id == round_id, LedgerEntry.account.in_([Account.PAYABLE.value, Account.REFUND.value]))
        .group_by(Challenge.key, LedgerEntry.account))}
    rows = [ChallengeProgress(key, title or key, total, verified, written_off, int(cents or 0),
                              moved.get((key, Account.PAYABLE.value), 0), moved.get((key, Account.REFUND.value), 0))
            for key, title, total, cents, verified, written_off in counts]
    return RoundProgress(rnd.id, rnd.name or f"Round {rnd.id}", rnd.currency, phase(session, round_id), rows)
