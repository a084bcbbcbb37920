"""Rollover (issue 18): money a funder consented to roll on (a pledge's `rollover`) that came back to it, pledged
again in the next round of the same programme when that round opens.

What came back to a pledge, once its round's clearing is committed (or its round cleared with nothing to commit):
its amount less what is still committed net of refunds (market/ledger.py), i.e. what the clearing left unspent
plus what failures and write-offs refunded; less what earlier rollovers already took from it. Money still in
escrow, even of a failed award waiting for its repair, has not come back.

The new pledge keeps the funder (the same account, or the same key), the amount that came back, max_share, match,
max_challenge_share, min_spend (if within the amount), listing and consent; its scope is kept where it still
applies: tags stay, challenges and components stay only if the new round has them. A pledge whose scope named
challenges, components or tags of which none applies is not rolled (nothing it admits is in the new round), nor
one whose conditions name a funder the new round does not have; both are noted in the audit log, and the money
stays with its funder. Each rollover is audited on both rounds and shown on both rounds' statements.
Deposits stay with their round: a funder who paid in money that rolls over is paid back there (due back) and pays
the new pledge like any other.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Challenge, Component, ClearingRun, Flow, Pledge, Round, RoundFunder, RoundStatus, User
from .common import audit
from .settlement import is_committed, pledges_money


@dataclass(frozen=True)
class Rolled:
    source_round: int
    source_pledge: str
    pledge: str | None          # the new pledge's key (None: not rolled, see why)
    amount_cents: int
    why: str | None = None


def came_back(session: Session, pledge: Pledge) -> int:
    """What came back to the pledge and was not rolled over yet (0 while its round's money is not settled)."""
    rnd = session.get(Round, pledge.round_id)
    assert rnd is not None
    if rnd.status != RoundStatus.CLEARED:
        return 0
    if not is_committed(session, rnd.id):
        result = session.scalar(select(ClearingRun.id).where(ClearingRun.round_id == rnd.id,
                                                             ClearingRun.is_result.is_(True)))
        if result is None or session.scalar(select(Flow.id).where(Flow.run_id == result).limit(1)) is not None:
            return 0                    # cleared, its money not yet promised: the clearing may still change
    money = pledges_money(session, [pledge.id])[pledge.id]
    rolled = session.scalar(select(func.coalesce(func.sum(Pledge.amount_cents), 0))
                            .where(Pledge.rolled_from_id == pledge.id))
    return max(0, pledge.amount_cents - (money.committed - money.refunded) - int(rolled or 0))


def roll_into(session: Session, user: User | None, rnd: Round) -> list[Rolled]:
    """Roll every consenting pledge of the earlier rounds of `rnd`'s programme into `rnd` (as it opens)."""
    if not rnd.programme:
        return []
    earlier = session.scalars(select(Pledge).join(Round, Round.id == Pledge.round_id)
                              .where(Round.programme == rnd.programme, Round.id < rnd.id,
                                     Pledge.rollover.is_(True), Pledge.withdrawn.is_(False),
                                     Pledge.excluded_at.is_(None))
                              .order_by(Round.id, Pledge.id)).all()
    challenges = set(session.scalars(select(Challenge.key).where(Challenge.round_id == rnd.id)))
    components = {f"{c}/{k}" for c, k in session.execute(
        select(Challenge.key, Component.key).join(Component.challenge).where(Challenge.round_id == rnd.id))}
    funder_keys = set(session.scalars(select(RoundFunder.key).where(RoundFunder.round_id == rnd.id)))
    out = []
    for source in earlier:
        amount = came_back(session, source)
        if amount <= 0:
            continue
        scope, why = _kept_scope(source.scope, challenges, components)
        if why is None and source.conditions and any(c["funder"] not in funder_keys for c in source.conditions):
            why = "its conditions name a funder who is not in the new round"
        if why is not None:
            out.append(Rolled(source.round_id, source.key, None, amount, why))
            audit(session, user, "rollover-skipped", "pledge", source.id, rnd.id, source_round=source.round_id,
                  source=source.key, amount_cents=amount, why=why)
            continue
        funder = _funder_in(session, rnd, source)
        key = _free_key(session, rnd.id, f"{source.key}-from-{source.round_id}")
        least = source.min_spend_cents if source.min_spend_cents is not None and source.min_spend_cents <= amount \
            else None
        row = Pledge(round_id=rnd.id, funder=funder, key=key, amount_cents=amount, scope=scope,
                     max_share=source.max_share, match=source.match, min_spend_cents=least,
                     max_challenge_share=source.max_challenge_share, conditions=source.conditions,
                     listed=source.listed, rollover=True, rolled_from_id=source.id)
        session.add(row)
        session.flush()
        audit(session, user, "rollover", "pledge", row.id, rnd.id, key=key, source_round=source.round_id,
              source=source.key, source_id=source.id, amount_cents=amount, scope_before=source.scope, scope=scope)
        audit(session, user, "rolled over", "pledge", source.id, source.round_id, to_round=rnd.id, to=key,
              amount_cents=amount)
        out.append(Rolled(source.round_id, source.key, key, amount))
    return out


def _kept_scope(scope: dict[str, Any] | None, challenges: set[str], components: set[str]
                ) -> tuple[dict[str, Any] | None, str | None]:
    if scope is None:
        return None, None
    kept = dict(scope)
    named = any(scope.get(k) for k in ("challenges", "components", "tags"))
    if "challenges" in kept:
        kept["challenges"] = [c for c in kept["challenges"] if c in challenges]
    if "components" in kept:
        kept["components"] = [c for c in kept["components"] if c in components]
    if named and not any(kept.get(k) for k in ("challenges", "components", "tags")):
        return None, "none of the challenges or components its scope names is in the new round"
    return {k: v for k, v in kept.items() if v or k not in ("challenges", "components")}, None


def _funder_in(session: Session, rnd: Round, source: Pledge) -> RoundFunder:
    """The source pledge's funder in the new round: the same account's, else the same key's; made if absent."""
    old = source.funder
    query = select(RoundFunder).where(RoundFunder.round_id == rnd.id)
    found = (session.scalar(query.where(RoundFunder.user_id == old.user_id)) if old.user_id is not None
             else session.scalar(query.where(RoundFunder.key == old.key, RoundFunder.user_id.is_(None))))
    if found is not None:
        return found
    position = session.scalar(select(func.count()).select_from(RoundFunder).where(RoundFunder.round_id == rnd.id))
    taken = set(session.scalars(select(RoundFunder.key).where(RoundFunder.round_id == rnd.id)))
    key = old.key if old.key not in taken else _free(old.key, taken)
    row = RoundFunder(round_id=rnd.id, key=key, name=old.name, user_id=old.user_id, position=int(position or 0))
    session.add(row)
    session.flush()
    return row


def _free_key(session: Session, round_id: int, wanted: str) -> str:
    taken = set(session.scalars(select(Pledge.key).where(Pledge.round_id == round_id)))
    return wanted[:64] if wanted[:64] not in taken else _free(wanted, taken)


def _free(wanted: str, taken: set[str]) -> str:
    n = 2
    while f"{wanted[:58]}-{n}" in taken:
        n += 1
    return f"{wanted[:58]}-{n}"
