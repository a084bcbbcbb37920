"""Notifications (issue 17): each user's in-app inbox, and an e-mail for each, through the outbox.

`notify` is called inside the transaction of what it tells (a commit, a review, a release, a dispute), so a
user is told exactly what happened, once, or nothing if it rolled back. The e-mail waits in the outbox table
until the worker sends it (market/outbox.py): through SMTP when configured, else to the log.

What is told, to whom:
- the commit: each actor of the round that bid, its awards won or lost, and the milestones it must report on;
- a holdback opening: its actor, with the dates it can be reported between;
- a report accepted or rejected: its actor; money released: its actor and the funders paying for it;
- a dispute opened: not sent (analysts are nobody's participants: it waits on their round page);
  a dispute decided: its actor and its verifier, and the funders paying for it when money moved;
- a milestone written off: its actor and the funders paying for it.
Texts say what and where, never a price of another's bid or a funder's private figure.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..models import (Bid, Milestone, MilestoneFunding, Notification, OutboxMessage, Pledge, Round, RoundActor,
                      RoundFunder, User, utcnow)

SUBJECT = "Swarm Market: {}"
INBOX_PAGE = 50


def notify(session: Session, user_ids: Iterable[int | None], kind: str, text: str, link: str | None = None,
           round_id: int | None = None) -> int:
    """One inbox line and one e-mail for each (distinct, known) user; how many were told."""
    ids = sorted({u for u in user_ids if u is not None})
    if not ids:
        return 0
    emails = dict(session.execute(select(User.id, User.email).where(User.id.in_(ids))).all())
    for user_id in ids:
        if user_id not in emails:
            continue
        session.add(Notification(user_id=user_id, round_id=round_id, kind=kind, text=text, link=link))
        body = text + (f"\n\nSee it on the site: {link}" if link else "") + "\n"
        session.add(OutboxMessage(to_email=emails[user_id], subject=subject_of(text), body=body))
    session.flush()
    return len(emails)


def subject_of(text: str) -> str:
    """An e-mail subject: one line (a reason typed over several lines must not make a header break), at most
    200 characters."""
    return SUBJECT.format(" ".join(text.split()))[:200]


def actor_user(session: Session, actor_id: int) -> int | None:
    return session.scalar(select(RoundActor.user_id).where(RoundActor.id == actor_id))


def funder_users(session: Session, milestone_id: int) -> list[int]:
    """The users of the funders whose pledges pay for the milestone."""
    return [u for u in session.scalars(
        select(RoundFunder.user_id).join(Pledge, Pledge.funder_id == RoundFunder.id)
        .join(MilestoneFunding, MilestoneFunding.pledge_id == Pledge.id)
        .where(MilestoneFunding.milestone_id == milestone_id).distinct()) if u is not None]


def tell_commit(session: Session, round_id: int, winners: set[int]) -> None:
    """At the commit: each bidding actor's award won or lost, and the milestones to report on."""
    rnd = session.get(Round, round_id)
    assert rnd is not None
    name = rnd.name or f"round {round_id}"
    actors = session.execute(select(RoundActor.id, RoundActor.user_id).join(Bid, Bid.actor_id == RoundActor.id)
                             .where(RoundActor.round_id == round_id, Bid.withdrawn.is_(False)).distinct()).all()
    for actor_id, user_id in actors:
        if actor_id in winners:
            count = session.scalar(select(func.count(Milestone.id)).where(Milestone.actor_id == actor_id))
            notify(session, [user_id], "award won",
                   f"You won work in {name}: {count} milestones to deliver and report on",
                   f"/rounds/{round_id}/bids", round_id)
        else:
            notify(session, [user_id], "award lost", f"Your bids in {name} were not accepted",
                   f"/rounds/{round_id}/bids", round_id)


def inbox(session: Session, user: User, limit: int | None = INBOX_PAGE) -> list[Notification]:
    """The user's latest notifications (all: limit None), newest first."""
    return list(session.scalars(select(Notification).where(Notification.user_id == user.id)
                                .order_by(Notification.id.desc()).limit(limit)))


def unread(session: Session, user_id: int) -> int:
    return int(session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0)


def mark_read(session: Session, user: User, upto: int | None = None, now: datetime | None = None) -> int:
    """Mark the user's notifications read (those up to id `upto`, or all); how many were unread."""
    query = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if upto is not None:
        query = query.where(Notification.id <= upto)
    return session.execute(query.values(read_at=now or utcnow())).rowcount or 0  # type: ignore[attr-defined]
