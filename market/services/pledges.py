"""Pledges: a funder adds, changes and withdraws its own, only while the round is open (who may: `access`).
Each write locks the round shared (`common.lock_round`): pledges and bids are written side by side, never
beside a close or a clearing, and do not change the round's own row (its changed_at stays the round's)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from solver.money import format_money

from .. import schemas
from ..errors import InvalidInput
from ..models import Challenge, Pledge, User, utcnow
from .access import pledge_for
from .common import audit, flush_new, given_key, lock_round, named_components
from .conditions import checked_conditions
from .participants import open_round_for_pledge


def pledge(session: Session, user: User | None, round_id: int, data: dict[str, Any]) -> Pledge:
    """Add a pledge `{"id"?, "amount", "scope"?, "max_share"?, "match"?, "listed"?, "min_spend"?,
    "max_challenge_share"?, "conditions"?: [{"funder": key, "min"}]}` (plus `"funder"` from the command line,
    which must give the id; a signed-in user's is given here when left out: `given_key`). `listed` (off unless
    given) shows its funder by name with its money on the public pages; which funders a condition may name:
    `conditions`."""
    values = schemas.load(schemas.made(schemas.PledgeSchema), given_key(user, "p", data))
    rnd, funder = open_round_for_pledge(session, user, round_id, values)
    if session.execute(select(Pledge.id).where(Pledge.round_id == rnd.id, Pledge.key == values["id"])).first():
        raise InvalidInput({"id": f'pledge id "{values["id"]}" is already used in round {rnd.id}'})
    scope = _scope(session, rnd.id, values.get("scope"))
    conditions = checked_conditions(session, user, rnd.id, funder, values.get("conditions"))
    row = Pledge(round_id=rnd.id, funder=funder, key=values["id"], amount_cents=values["amount"],
                 scope=scope, max_share=values.get("max_share"), match=values.get("match"),
                 listed=values.get("listed", False), min_spend_cents=values.get("min_spend"),
                 rollover=values.get("rollover", False),
                 max_challenge_share=values.get("max_challenge_share"), conditions=conditions)
    session.add(row)
    flush_new(session, "pledge", row.key, rnd.id)
    audit(session, user, "create", "pledge", row.id, rnd.id, key=row.key, funder=funder.key, **_state(row))
    return row


def change_pledge(session: Session, user: User | None, round_id: int, key: str, data: dict[str, Any]) -> Pledge:
    """Change some of amount, scope, max_share, match, min_spend, max_challenge_share, conditions (None removes
    an optional one; conditions are replaced whole), listed. An amount below the min_spend kept is refused."""
    values = schemas.load(schemas.made(schemas.PledgeSchema, ("id", "funder")), data, partial=True)
    rnd = lock_round(session, round_id, shared=True)
    row = pledge_for(session, user, rnd.id, key, change=True, doing="pledges change")
    before = _state(row)
    # Everything read before anything is set: a query would flush a half-changed row.
    scope = _scope(session, rnd.id, values["scope"]) if "scope" in values else row.scope
    conditions = (checked_conditions(session, user, rnd.id, row.funder, values["conditions"], row.conditions)
                  if "conditions" in values else row.conditions)
    amount = values.get("amount", row.amount_cents)
    least = values["min_spend"] if "min_spend" in values else row.min_spend_cents
    if least is not None and least > amount:
        raise InvalidInput({"min_spend" if "min_spend" in values else "amount": f"the min_spend "
                            f"({format_money(least)}) must be at most the amount ({format_money(amount)})"})
    row.amount_cents, row.scope, row.conditions, row.min_spend_cents = amount, scope, conditions, least
    for name in ("max_share", "match", "listed", "max_challenge_share", "rollover"):
        if name in values:
            setattr(row, name, values[name])
    row.changed_at = utcnow()
    session.flush()
    audit(session, user, "change", "pledge", row.id, rnd.id, key=row.key, before=before, after=_state(row))
    return row


def withdraw_pledge(session: Session, user: User | None, round_id: int, key: str) -> Pledge:
    """The pledge stays on record, marked withdrawn; it takes no part in the clearing."""
    rnd = lock_round(session, round_id, shared=True)
    row = pledge_for(session, user, rnd.id, key, change=True, doing="pledges are withdrawn")
    row.withdrawn = True
    row.changed_at = utcnow()
    session.flush()
    audit(session, user, "withdraw", "pledge", row.id, rnd.id, key=row.key, amount_cents=row.amount_cents)
    return row


def _state(row: Pledge) -> dict[str, Any]:
    return {"amount_cents": row.amount_cents, "scope": row.scope, "max_share": row.max_share, "match": row.match,
            "listed": row.listed, "min_spend_cents": row.min_spend_cents, "rollover": row.rollover,
            "max_challenge_share": row.max_challenge_share, "conditions": row.conditions}


def _scope(session: Session, round_id: int, scope: dict[str, Any] | None) -> dict[str, Any] | None:
    """Check the scope's challenges and components exist in the round; keep only non-empty lists."""
    if scope is None:
        return None
    named = list(scope.get("challenges", []))
    challenges = set(session.execute(select(Challenge.key).where(
        Challenge.round_id == round_id, Challenge.key.in_(named))).scalars()) if named else set()
    components = named_components(session, round_id, list(scope.get("components", [])))
    problems = {}
    for i, key in enumerate(scope.get("challenges", [])):
        if key not in challenges:
            problems[f"scope.challenges[{i}]"] = f'unknown challenge "{key}" in round {round_id}'
    for i, key in enumerate(scope.get("components", [])):
        if key not in components:
            problems[f"scope.components[{i}]"] = f'unknown component "{key}" in round {round_id}'
    if problems:
        raise InvalidInput(problems)
    return {k: list(scope[k]) for k in SCOPE_KEYS if scope.get(k)}


# In this order, as a market file writes them (market.snapshot); an empty list changes nothing, so none is kept.
SCOPE_KEYS = ("challenges", "components", "tags", "all_tags", "exclude_tags")
