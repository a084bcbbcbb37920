"""Editing a draft round's challenges (adding them is `rounds.add_challenge`)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import schemas
from ..errors import InvalidInput, NotFound, WrongState
from ..models import Challenge, Component, RoundStatus, User
from .common import STAFF, audit, is_key, lock_round, require_role, touch


def change_challenge(session: Session, user: User | None, round_id: int, key: str, data: dict[str, Any]) -> Challenge:
    """Replace a challenge's title, tags, value, reliability and components (the format's shape, as for
    `add_challenge`; the id may change too). Drafts only: no pledge or bid refers to a component yet."""
    require_role(user, STAFF, "edit challenges")
    rnd = lock_round(session, round_id)
    if rnd.status != RoundStatus.DRAFT:
        raise WrongState(f"round {rnd.id} is {rnd.status}: challenges are set only while it is a draft")
    challenge = session.execute(select(Challenge).where(Challenge.round_id == rnd.id, Challenge.key == key)
                                ).scalar_one_or_none() if is_key(key) else None
    if challenge is None:
        raise NotFound(f"no challenge {key!r} in round {rnd.id}")
    values = schemas.load(schemas.made(schemas.ChallengeSchema), data)
    if values["id"] != key and session.execute(select(Challenge.id).where(
            Challenge.round_id == rnd.id, Challenge.key == values["id"])).first():
        raise InvalidInput({"id": f'challenge id "{values["id"]}" is already used in round {rnd.id}'})
    before = {"key": challenge.key, "components": [c.key for c in challenge.components]}
    challenge.key = values["id"]
    challenge.title = values.get("title")
    challenge.value = values.get("value", 0)
    challenge.reliability = values.get("reliability")
    challenge.tags = list(values.get("tags", []))
    challenge.components.clear()
    session.flush()                       # old components go before new ones may reuse their keys
    for j, c in enumerate(values["components"]):
        challenge.components.append(Component(
            key=c["id"], title=c.get("title"), unit=c.get("unit"), quantity=c.get("quantity", 1),
            critical=c.get("critical", True), value=c.get("value", 0), requires=list(c.get("requires", [])),
            min_reliability=c.get("min_reliability"), max_unit_price_cents=c.get("max_unit_price"), position=j))
    touch(rnd)
    session.flush()
    audit(session, user, "change", "challenge", challenge.id, rnd.id, before=before,
          after={"key": challenge.key, "components": [c.key for c in challenge.components]})
    return challenge
