"""Rounds and their lifecycle: draft -> open -> closed -> cleared.

Challenges are set while a round is a draft; pledges and bids change only while it is open;
after close nothing of the round changes but its clearing. Only analysts and admins (or the
command line) create, open, close and clear rounds.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import schemas
from ..errors import InvalidInput, WrongState
from ..models import Challenge, Component, Round, RoundStatus, User
from . import rollover
from .common import STAFF, as_utc, audit, lock_round, require_role, touch


def create_round(session: Session, user: User | None, data: dict[str, Any]) -> Round:
    require_role(user, STAFF, "create rounds")
    values = schemas.load(schemas.made(schemas.RoundSchema), data)
    rnd = Round(name=values["name"], currency=values["currency"], note=values.get("note"),
                status=RoundStatus.DRAFT.value)
    session.add(rnd)
    session.flush()
    audit(session, user, "create", "round", rnd.id, rnd.id, name=rnd.name, currency=rnd.currency)
    return rnd


def add_challenge(session: Session, user: User | None, round_id: int, data: dict[str, Any]) -> Challenge:
    """A challenge with its components, in the format's shape (`max_unit_price` as money). Drafts only."""
    require_role(user, STAFF, "add challenges")
    rnd = lock_round(session, round_id)
    if rnd.status != RoundStatus.DRAFT:
        raise WrongState(f"round {rnd.id} is {rnd.status}: challenges are set only while it is a draft")
    values = schemas.load(schemas.made(schemas.ChallengeSchema), data)
    if session.execute(select(Challenge.id).where(Challenge.round_id == rnd.id,
                                                  Challenge.key == values["id"])).first():
        raise InvalidInput({"id": f'challenge id "{values["id"]}" is already used in round {rnd.id}'})
    position = session.execute(select(func.count()).select_from(Challenge)
                               .where(Challenge.round_id == rnd.id)).scalar_one()
    challenge = build_challenge(rnd, position, values)
    session.add(challenge)
    touch(rnd)
    session.flush()
    audit(session, user, "create", "challenge", challenge.id, rnd.id, key=challenge.key,
          components=[c.key for c in challenge.components])
    return challenge


def build_challenge(rnd: Round, position: int, values: dict[str, Any]) -> Challenge:
    challenge = Challenge(round=rnd, key=values["id"], title=values.get("title"), value=values.get("value", 0),
                          reliability=values.get("reliability"), tags=list(values.get("tags", [])),
                          position=position)
    for j, c in enumerate(values["components"]):
        challenge.components.append(Component(
            key=c["id"], title=c.get("title"), unit=c.get("unit"), quantity=c.get("quantity", 1),
            critical=c.get("critical", True), value=c.get("value", 0), requires=list(c.get("requires", [])),
            min_reliability=c.get("min_reliability"), max_unit_price_cents=c.get("max_unit_price"), position=j))
    return challenge


def _transition(session: Session, user: User | None, round_id: int, to: RoundStatus, allowed_from: RoundStatus,
                doing: str) -> Round:
    require_role(user, STAFF, f"{doing} rounds")
    rnd = lock_round(session, round_id)
    if rnd.status != allowed_from:
        raise WrongState(f"round {rnd.id} is {rnd.status}: only a round that is {allowed_from} can be {to}")
    before = rnd.status
    rnd.status = to.value
    touch(rnd)
    session.flush()
    audit(session, user, doing, "round", rnd.id, rnd.id, before=before, after=rnd.status)
    return rnd


def open_round(session: Session, user: User | None, round_id: int) -> Round:
    """draft -> open: funders may pledge and actors bid; money rolled over from the earlier rounds of its
    programme becomes its pledges (services/rollover.py)."""
    rnd = _transition(session, user, round_id, RoundStatus.OPEN, RoundStatus.DRAFT, "open")
    rollover.roll_into(session, user, rnd)
    return rnd


SOURCES = ("declared", "track_record")


def set_round_options(session: Session, user: User | None, round_id: int, data: dict[str, Any]) -> Round:
    """An analyst sets the round's programme (`programme`: text, or None; rounds of one programme take the money
    funders roll over), which reliability its clearing uses (`reliability_source`: "declared" or
    "track_record", market/records.py) until the round is cleared, and its schedule (`opens_at`, `closes_at`:
    ISO date-times, UTC unless zoned, or None; pledges and bids are refused from the closing time on)."""
    require_role(user, STAFF, "set round options")
    rnd = lock_round(session, round_id)
    problems: dict[str, str] = {}
    before = {"programme": rnd.programme, "reliability_source": rnd.reliability_source,
              "opens_at": _iso(rnd.opens_at), "closes_at": _iso(rnd.closes_at)}
    stamps: dict[str, datetime | None] = {}
    for name in ("opens_at", "closes_at"):
        if name in data:
            try:
                stamps[name] = _stamp(data[name])
            except ValueError:
                problems[name] = "a date and time, e.g. 2027-01-31T17:00 (UTC unless it says its zone), or nothing"
    opens = stamps.get("opens_at", rnd.opens_at)
    closes = stamps.get("closes_at", rnd.closes_at)
    if opens is not None and closes is not None and as_utc(closes) <= as_utc(opens) and not problems:
        problems["closes_at"] = "after the opening time"
    if stamps and rnd.status == RoundStatus.CLEARED:
        problems["closes_at" if "closes_at" in stamps else "opens_at"] = f"round {rnd.id} is cleared already"
    if "reliability_source" in data:
        if data["reliability_source"] not in SOURCES:
            problems["reliability_source"] = f"one of {', '.join(SOURCES)}"
        elif rnd.status == RoundStatus.CLEARED and data["reliability_source"] != rnd.reliability_source:
            problems["reliability_source"] = f"round {rnd.id} is cleared: its clearing used {rnd.reliability_source}"
    if "programme" in data:
        value = data["programme"]
        if value is not None and not (isinstance(value, str) and 1 <= len(value.strip()) <= 100):
            problems["programme"] = "a name of 1 to 100 characters, or nothing"
    if problems:
        raise InvalidInput(problems)
    if "reliability_source" in data:
        rnd.reliability_source = data["reliability_source"]
    if "programme" in data:
        rnd.programme = data["programme"].strip() if data["programme"] else None
    for name, stamp in stamps.items():
        setattr(rnd, name, stamp)
    touch(rnd)
    session.flush()
    audit(session, user, "options", "round", rnd.id, rnd.id, before=before,
          after={"programme": rnd.programme, "reliability_source": rnd.reliability_source,
                 "opens_at": _iso(rnd.opens_at), "closes_at": _iso(rnd.closes_at)})
    return rnd


def close_round(session: Session, user: User | None, round_id: int) -> Round:
    """open -> closed: no more pledges or bids; the round waits for its clearing."""
    return _transition(session, user, round_id, RoundStatus.CLOSED, RoundStatus.OPEN, "close")


def reopen_round(session: Session, user: User | None, round_id: int) -> Round:
    """closed -> open: the recovery for a round closed too early or that cannot be cleared as it stands;
    pledges and bids may change again. The audit log records who reopened it."""
    return _transition(session, user, round_id, RoundStatus.OPEN, RoundStatus.CLOSED, "reopen")


def list_rounds(session: Session) -> list[Round]:
    return list(session.execute(select(Round).order_by(Round.id)).scalars())


def _stamp(value: Any) -> datetime | None:
    """An ISO date-time (UTC unless it names its zone), or None for nothing; ValueError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError(value)
    stamp = datetime.fromisoformat(value.strip())
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _iso(stamp: datetime | None) -> str | None:
    return None if stamp is None else as_utc(stamp).isoformat()
