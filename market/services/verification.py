"""Verifiers (issue 17): who checks delivered work, and on what.

Analysts assign a verifier to a whole round or to one of its challenges. A verifier is a verifier account, or a
funder or actor account that is independent of what it checks: it may not own a funder whose pledge pays for
it, nor an actor that bid on it (winner or loser: a competitor is not independent either). The conflict is
checked when the verifier is assigned and again at every review, since money and awards change after an
assignment (a round can be assigned before it is cleared).

A milestone is someone's to verify when they are assigned to its round or its challenge and not conflicted;
to everyone else (but analysts, who see all) it looks absent.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from .. import schemas
from ..errors import Forbidden, InvalidInput, NotFound
from ..models import (Bid, BidItem, Challenge, Component, Milestone, MilestoneFunding, Pledge, Role, RoundActor,
                      RoundFunder, User, VerifierAssignment)
from .clearing import audit_who
from .common import STAFF, audit, by_id, get_round, lock_round, require_role

MAY_VERIFY = (Role.VERIFIER, Role.FUNDER, Role.ACTOR)


@dataclass(frozen=True)
class AssignmentView:
    id: int
    email: str
    name: str
    challenge: str | None           # its key; None: the whole round


def conflict(session: Session, user: User, round_id: int, challenge_id: int | None) -> str | None:
    """Why `user` may not verify the challenge (or, None, any of the round), or None if it may."""
    if user.role not in MAY_VERIFY:
        return f"{user.email} is {user.role}: verifiers are verifier, funder or actor accounts"
    components = select(Component.id).join(Challenge).where(Challenge.round_id == round_id)
    if challenge_id is not None:
        components = components.where(Component.challenge_id == challenge_id)
    where = "on it" if challenge_id is not None else "in the round"
    funds = select(Pledge.id).join(RoundFunder, RoundFunder.id == Pledge.funder_id).where(
        RoundFunder.user_id == user.id, Pledge.round_id == round_id)
    if challenge_id is not None:    # a challenge: a pledge of theirs funding its milestones (round-wide: any)
        funds = (funds.join(MilestoneFunding, MilestoneFunding.pledge_id == Pledge.id)
                 .join(Milestone, Milestone.id == MilestoneFunding.milestone_id)
                 .where(Milestone.component_id.in_(components)))
    if session.scalar(select(exists(funds))):
        return f"{user.email} funds work {where}: a verifier may not be a funder of what it verifies"
    bids = (select(Bid.id).join(RoundActor, RoundActor.id == Bid.actor_id).join(BidItem, BidItem.bid_id == Bid.id)
            .where(RoundActor.user_id == user.id, Bid.round_id == round_id, BidItem.component_id.in_(components)))
    if session.scalar(select(exists(bids))):
        return f"{user.email} bid {where}: a verifier may not be an actor on what it verifies"
    return None


def assign_verifier(session: Session, user: User | None, round_id: int, data: dict[str, Any]) -> VerifierAssignment:
    """Assign the account `data["email"]` to verify the round, or its challenge `data["challenge"]`."""
    require_role(user, STAFF, "assign verifiers")
    values = schemas.load(schemas.made(schemas.VerifierSchema), data)
    lock_round(session, round_id)
    verifier = session.scalar(select(User).where(User.email == values["email"].strip().lower()))
    if verifier is None:
        raise InvalidInput({"email": f"no account {values['email']!r}"})
    challenge_id = None
    if values["challenge"]:
        challenge_id = session.scalar(select(Challenge.id).where(Challenge.round_id == round_id,
                                                                 Challenge.key == values["challenge"]))
        if challenge_id is None:
            raise InvalidInput({"challenge": f"no challenge {values['challenge']!r} in round {round_id}"})
    why = conflict(session, verifier, round_id, challenge_id)
    if why:
        raise InvalidInput({"email": why})
    same = select(VerifierAssignment).where(VerifierAssignment.round_id == round_id,
                                            VerifierAssignment.user_id == verifier.id,
                                            VerifierAssignment.challenge_id.is_(None) if challenge_id is None
                                            else VerifierAssignment.challenge_id == challenge_id)
    if session.scalar(same) is not None:
        raise InvalidInput({"email": f"{verifier.email} is assigned to that already"})
    row = VerifierAssignment(round_id=round_id, challenge_id=challenge_id, user_id=verifier.id,
                             assigned_by=audit_who(user))
    session.add(row)
    session.flush()
    audit(session, user, "assign verifier", "verifier", row.id, round_id, email=verifier.email,
          challenge=values["challenge"])
    return row


def unassign_verifier(session: Session, user: User | None, round_id: int, assignment_id: int) -> None:
    require_role(user, STAFF, "assign verifiers")
    lock_round(session, round_id)
    row = by_id(session, VerifierAssignment, assignment_id)
    if row is None or row.round_id != round_id:
        raise NotFound(f"no verifier assignment {assignment_id} in round {round_id}")
    email = session.get(User, row.user_id).email  # type: ignore[union-attr]
    session.delete(row)
    session.flush()
    audit(session, user, "unassign verifier", "verifier", assignment_id, round_id, email=email)


def assignments(session: Session, user: User | None, round_id: int) -> list[AssignmentView]:
    require_role(user, STAFF, "see verifier assignments")
    get_round(session, round_id)
    rows = session.execute(
        select(VerifierAssignment.id, User.email, User.name, Challenge.key).join(User)
        .outerjoin(Challenge, Challenge.id == VerifierAssignment.challenge_id)
        .where(VerifierAssignment.round_id == round_id).order_by(VerifierAssignment.id)).all()
    return [AssignmentView(*row) for row in rows]


def assigned_to(user: User) -> Any:
    """A condition on Milestone: `user` is assigned to its round or its challenge."""
    challenge = (select(Component.challenge_id).where(Component.id == Milestone.component_id)
                 .correlate(Milestone).scalar_subquery())
    return exists(select(VerifierAssignment.id).where(
        VerifierAssignment.user_id == user.id, VerifierAssignment.round_id == Milestone.round_id,
        or_(VerifierAssignment.challenge_id.is_(None), VerifierAssignment.challenge_id == challenge))
        .correlate(Milestone))


def verifies(user: User) -> Any:
    """A condition on Milestone: `user` is assigned to it and independent of its challenge (no bid of theirs on
    it, no pledge of theirs funding it). An assignment made before a conflict arose (a bid or a link to a
    participant came later) gives no sight of the work: a competitor never reads a rival's reports."""
    challenge = (select(Component.challenge_id).where(Component.id == Milestone.component_id)
                 .correlate(Milestone).scalar_subquery())
    part = aliased(Component)
    bid = (select(BidItem.id).join(Bid, Bid.id == BidItem.bid_id).join(RoundActor, RoundActor.id == Bid.actor_id)
           .join(part, part.id == BidItem.component_id)
           .where(RoundActor.user_id == user.id, part.challenge_id == challenge).correlate(Milestone))
    funded = aliased(Milestone)
    funds = (select(MilestoneFunding.id).join(Pledge, Pledge.id == MilestoneFunding.pledge_id)
             .join(RoundFunder, RoundFunder.id == Pledge.funder_id)
             .join(funded, funded.id == MilestoneFunding.milestone_id).join(part, part.id == funded.component_id)
             .where(RoundFunder.user_id == user.id, part.challenge_id == challenge).correlate(Milestone))
    return and_(assigned_to(user), ~exists(bid), ~exists(funds))


def is_assigned(session: Session, user: User, milestone: Milestone) -> bool:
    return session.scalar(select(Milestone.id).where(Milestone.id == milestone.id, assigned_to(user))) is not None


def may_verify(session: Session, user: User, milestone: Milestone) -> bool:
    """Whether `user` may review the milestone's reports (shown as a form; `require_verifier` decides)."""
    try:
        require_verifier(session, user, milestone)
    except (Forbidden, NotFound):
        return False
    return True


def require_verifier(session: Session, user: User | None, milestone: Milestone) -> None:
    """`user` may review the milestone's reports: the command line, or an assigned and independent verifier.
    Anyone not assigned finds it absent; analysts and admins see it but do not verify (they decide disputes)."""
    if user is None:
        return
    if user.role in STAFF:
        raise Forbidden("analysts and admins do not verify deliveries: assign a verifier")
    if not is_assigned(session, user, milestone):
        raise NotFound(f"no milestone {milestone.id} for you to verify")
    challenge_id = session.scalar(select(Component.challenge_id).where(Component.id == milestone.component_id))
    why = conflict(session, user, milestone.round_id, challenge_id)
    if why:
        raise Forbidden(why)
