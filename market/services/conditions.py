"""Version 1.1 conditions ("I pay only if they pay"): which funders of a round a pledge may name.

A condition names a funder by its key in the round, as a market file does. A funder's pledges are private
unless it lists them by name (`Pledge.listed`), and a condition tells its funder, through its own pledge's
flows, how much the named funder paid into a challenge. So a signed-in funder may name only a funder whose
pledges are all public: it has at least one pledge not withdrawn and lists every such pledge by name. Those
funders are shown by key and name (`condition_funders`, the funder picker); any other key, a funder that
exists but keeps a pledge unlisted among them, gets the same refusal as an unknown one, so that the refusal
tells nothing. Analysts and the trusted command line (user None) may name any funder of the round.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, aliased

from ..errors import InvalidInput
from ..models import Pledge, RoundFunder, User
from .common import STAFF


def condition_funders(session: Session, user: User | None, round_id: int) -> list[RoundFunder]:
    """The funders of the round `user` may name in a condition, in the round's order, leaving out its own."""
    query = select(RoundFunder).where(RoundFunder.round_id == round_id)
    if user is None or user.role in STAFF:
        return list(session.execute(query.order_by(RoundFunder.position, RoundFunder.id)).scalars())
    listed, unlisted = aliased(Pledge), aliased(Pledge)
    taking_part = and_(listed.funder_id == RoundFunder.id, listed.withdrawn.is_(False))
    query = query.where(exists().where(taking_part, listed.listed.is_(True)),
                        ~exists().where(unlisted.funder_id == RoundFunder.id, unlisted.withdrawn.is_(False),
                                        unlisted.listed.is_(False)),
                        (RoundFunder.user_id.is_(None)) | (RoundFunder.user_id != user.id))
    return list(session.execute(query.order_by(RoundFunder.position, RoundFunder.id)).scalars())


def checked_conditions(session: Session, user: User | None, round_id: int, funder: RoundFunder,
                       raw: list[dict[str, Any]] | None, kept: list[dict[str, Any]] | None = None
                       ) -> list[dict[str, Any]] | None:
    """The conditions as stored ([{"funder": key, "min_cents": cents}], None for none), each funder one `user`
    may name and not the pledge's own; InvalidInput naming "conditions[i].funder" otherwise. The schema has
    checked the mins and that no funder is named twice. A funder the pledge names already (`kept`, its stored
    conditions) stays nameable in a change, whatever it did since: the form sends the conditions back whole."""
    if not raw:
        return None
    nameable = {f.key for f in condition_funders(session, user, round_id)} | {c["funder"] for c in kept or []}
    problems = {}
    for i, condition in enumerate(raw):
        key = condition["funder"]
        if key == funder.key:
            problems[f"conditions[{i}].funder"] = "a pledge may not be conditional on its own funder"
        elif key not in nameable:
            problems[f"conditions[{i}].funder"] = (
                f'unknown funder "{key}" in round {round_id}' if user is None or user.role in STAFF else
                f'no funder "{key}" in round {round_id} that may be named: a condition names a funder that lists '
                "all its pledges by name (the round's list of funders to name)")
    if problems:
        raise InvalidInput(problems)
    return [{"funder": c["funder"], "min_cents": c["min"]} for c in raw]
