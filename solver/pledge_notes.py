"""What a pledge's version-1.1 limits did in a clearing, read from the allocation alone (no solve).

A note per pledge that uses min_spend, max_challenge_share or conditions: whether each condition was met
and where, whether min_spend was reached, where the share cap bound. These are about a pledge, not a
challenge, so they are not in the allocation's `unfunded`; the allocation itself is unchanged (version-1
allocations stay byte-identical). `swarm explain` prints them, and the pledge page reads them from here:
they name the pledge's own terms, so they are its funder's (and the analysts') to see, and they count the
named funders' money only as far as the viewer may see it (`sees`).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .market import Market, Pledge
from .money import MoneyError, format_money, parse_money


@dataclass(frozen=True, slots=True)
class ConditionOutcome:
    funder: str
    min: int
    met_in: tuple[str, ...]            # challenges the pledge may pay into where the funder paid >= min
    paid_into: tuple[str, ...]         # challenges the pledge paid into (the condition held in each)


@dataclass(frozen=True, slots=True)
class PledgeNote:
    pledge: str
    funder: str
    spent: int
    conditions: tuple[ConditionOutcome, ...]
    notes: tuple[str, ...]


def pledge_notes(market: Market, doc: Mapping[str, Any],
                 sees: Callable[[str], bool] | None = None) -> tuple[PledgeNote, ...]:
    """One note per pledge with a 1.1 limit, in market order, from an allocation document of `market` (as
    the engine writes it and the database keeps it); none for an infeasible clearing (nothing is paid
    there, and its reasons say why) or a market without such pledges.

    `sees`: for a viewer who may not see every pledge's flows (market/sealing.py: Viewer.sees_pledge), only
    the flows of the pledges it sees count towards the named funders' payments, so no note hints at money
    it may not see: a condition met only by such money reads as not met there."""
    if doc.get("status") == "infeasible":
        return ()
    limited = [p for p in market.pledges if p.conditional]
    if not limited:
        return ()
    challenge_of = {k.key: k.challenge_id for k in market.components}
    funder_into: dict[tuple[str, str], int] = {}        # (funder, challenge) -> cents
    pledge_into: dict[tuple[str, str], int] = {}        # (pledge, challenge) -> cents
    for flow in doc.get("flows", []):
        cid = challenge_of.get(flow.get("component"), "")
        amount = _cents(flow.get("amount"))
        if sees is None or sees(flow.get("pledge", "")):
            funder_into[flow.get("funder"), cid] = funder_into.get((flow.get("funder"), cid), 0) + amount
        pledge_into[flow.get("pledge"), cid] = pledge_into.get((flow.get("pledge"), cid), 0) + amount
    spent = {p.get("id"): _cents(p.get("spent")) for p in doc.get("pledges", [])}
    cost = {c.get("id"): _cents(c.get("cost")) for c in doc.get("challenges", [])}
    return tuple(_note(market, pledge, spent.get(pledge.id, 0), funder_into, pledge_into, cost) for pledge in limited)


def _cents(raw: Any) -> int:
    try:
        return parse_money(raw)
    except MoneyError:
        return 0


def _note(market: Market, pledge: Pledge, spent: int, funder_into: dict[tuple[str, str], int],
          pledge_into: dict[tuple[str, str], int], cost: dict[Any, int]) -> PledgeNote:
    admitted = [c.id for c in market.challenges if any(pledge.admits(c, k) for k in c.components)]
    paid_into = tuple(cid for cid in admitted if pledge_into.get((pledge.id, cid), 0) > 0)
    outcomes = tuple(ConditionOutcome(c.funder_id, c.min,
                                      tuple(cid for cid in admitted if funder_into.get((c.funder_id, cid), 0) >= c.min),
                                      paid_into)
                     for c in pledge.conditions)
    notes: list[str] = []
    if spent == 0:
        unmet = [o for o in outcomes if not o.met_in]
        for o in unmet:
            notes.append(f"pledge {pledge.id} paid nothing: its condition on funder {o.funder} (at least "
                         f"{format_money(o.min)} into the same challenge) was not met in any challenge it could fund")
        if outcomes and not unmet:
            # Met means the funder paid into it, so it was completed: by that money and the others'.
            together = [cid for cid in admitted if all(cid in o.met_in for o in outcomes)]
            if not together:
                notes.append(f"pledge {pledge.id} paid nothing: its conditions on funders "
                             f"{', '.join(o.funder for o in outcomes)} were never all met in one challenge it could "
                             "fund")
            else:
                notes.append(f"pledge {pledge.id} paid nothing: its conditions were met only in {', '.join(together)}, "
                             "which other money paid for")
        if not unmet and pledge.min_spend is not None:
            notes.append(f"pledge {pledge.id} paid nothing: its min_spend of {format_money(pledge.min_spend)} was not "
                         "reached (it pays nothing or at least that much in total)")
        if not notes:
            notes.append(f"pledge {pledge.id} paid nothing: no challenge it could fund needed its money")
    else:
        for o in outcomes:
            notes.append(f"pledge {pledge.id}: its condition on funder {o.funder} (at least {format_money(o.min)}) "
                         f"was met in every challenge it paid into: {', '.join(paid_into)}")
        if pledge.min_spend is not None:
            notes.append(f"pledge {pledge.id}: its min_spend of {format_money(pledge.min_spend)} was reached (it paid "
                         f"{format_money(spent)})")
    share = pledge.max_challenge_share
    if share is not None:
        capped = [cid for cid in paid_into if pledge_into[pledge.id, cid] + 1 > share * cost.get(cid, 0)]
        if capped:
            notes.append(f"pledge {pledge.id}: its max_challenge_share of {share:g} capped what it paid into "
                         f"{', '.join(capped)}")
    return PledgeNote(pledge.id, pledge.funder_id, spent, outcomes, tuple(notes))
