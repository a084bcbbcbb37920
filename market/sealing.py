"""What of a cleared round each viewer may see: bids stay sealed and pledges private after the clearing.

A clearing run keeps the engine's allocation as the file format has it (`swarm solve` and the analysts
read it whole). Every page and API answer for anyone else goes through here:

- analysts and admins see everything;
- public after the clearing: the awards (who delivers what, at what price), each challenge's own figures
  (value, reliability target, reserves, floors, quantities) and its cost, which is money in aggregate;
- a reason for a challenge not completed that names a bid, or carries a figure read from bids that lost
  (the reliability the surest eligible bids reach, a cheapest cost and so a shortfall, how many units the
  eligible bids offer, an actor's limits), is said without them; an actor sees in full a reason that
  names its own bid and no other. A reason not known here is replaced whole: sealed unless shown safe;
- a pledge's flows, spent and returned are its funder's: others see them only for a pledge its funder
  listed by name (`Pledge.listed`); the rest is shown per challenge as a total and a number of funders.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Pledge, Role, User
from .services.access import visible_bids, visible_pledges
from .services.common import STAFF

SEALED = "not completed: the detailed reason names sealed bids and is shown to the analysts only"


@dataclass(frozen=True)
class Viewer:
    full: bool = False                          # analysts and admins
    bids: frozenset[str] = frozenset()          # keys of its own bids
    pledges: frozenset[str] = frozenset()       # keys of its own pledges
    listed: frozenset[str] = frozenset()        # the round's pledges listed by name

    def sees_pledge(self, key: str) -> bool:
        return self.full or key in self.pledges or key in self.listed


ANALYST = Viewer(full=True)


def anonymous(session: Session, round_id: int) -> Viewer:
    return Viewer(listed=_listed(session, round_id))


def viewer(session: Session, user: User, round_id: int) -> Viewer:
    """A signed-in account: its own bids and pledges, and the round's listed pledges."""
    if user.role in STAFF:
        return ANALYST
    bids = frozenset(b.key for b in visible_bids(session, user, round_id)) if user.role == Role.ACTOR else frozenset()
    pledges = (frozenset(p.key for p in visible_pledges(session, user, round_id)) if user.role == Role.FUNDER
               else frozenset())
    return Viewer(False, bids, pledges, _listed(session, round_id))


def _listed(session: Session, round_id: int) -> frozenset[str]:
    return frozenset(session.execute(select(Pledge.key).where(Pledge.round_id == round_id,
                                                              Pledge.listed.is_(True))).scalars())


# ---------------------------------------------------------------- reasons

def _rule(pattern: str, public: str | None) -> tuple[re.Pattern[str], str | None]:
    return re.compile(pattern), public


# What an infeasible clearing's reasons say the fixed bids break (solver/infeasible.py): fixed phrases.
_BROKEN = ("the money pledged and its limits \\(rules 5 and 8\\)|the reliability targets \\(rule 6\\)"
           "|the actors' budgets, loads and exclusive groups \\(rule 7\\)"
           "|the money, reliability targets and actors' capacity together \\(rules 5 to 8\\)")

# Each reason the engine writes (solver/eligibility.py, solver/reasons.py), and what others are shown of it:
# None means it is public as it is (no bid, no figure read from one); {names} come from the match.
_RULES = (
    _rule(r"bid (?P<bid>\S+) prices (?P<component>\S+) at .+, above the reserve of (?P<reserve>\S+) a unit",
          "no eligible bid prices {component} within its reserve of {reserve} a unit"),
    _rule(r"bid (?P<bid>\S+) has reliability \S+, below the (?P<floor>\S+) that (?P<component>\S+) requires",
          "no eligible bid on {component} has the reliability of {floor} it requires"),
    _rule(r"no pledge's scope admits (?P<component>\S+), so nothing can pay bid (?P<bid>\S+)",
          "no pledge's scope admits {component}, so no bid on it can be paid"),
    _rule(r"critical component (?P<component>\S+): eligible bids offer \d+ of the (?P<quantity>\d+) units needed",
          "critical component {component}: the eligible bids do not offer the {quantity} units needed"),
    _rule(r"critical component \S+: (no eligible bid|no pledge's scope admits it, so no bid on it can be paid"
          r"|it requires \S+, which cannot be funded|its challenge cannot be completed)", None),
    _rule(r"reliability target (?P<target>\S+) out of reach with the eligible bids(; .*)?",
          "reliability target {target} out of reach with the eligible bids"),
    _rule(r"actor capacity: .*",
          "actor capacity: the bids it needs cannot be accepted together within their actors' limits"),
    _rule(r"not enough money in scope: .*",
          "not enough money in scope: the money in scope falls short of its cheapest cost"),
    _rule(r"pledge limits: .*",
          "pledge limits: the money in scope cannot cover its cheapest cost within max_share and match rules"),
    _rule(r"outcompeted for money: .*",
          "outcompeted for money: the money that may pay for it is spent on completed challenges that together "
          "deliver more value, and what is left of it cannot pay for it"),
    _rule(r"outcompeted for actors: .*",
          "outcompeted for actors: the bids it needs compete with completed challenges for their actors' "
          "capacity"),
    _rule(r"its value is 0, so completing it would only add cost", None),
    _rule(r"its components cannot all be covered by eligible bids together "
          r"\(quantities, bundles and requires do not fit\)", None),
    _rule(r"not chosen by the clearing \(run with explanations for the detailed cause\)", None),
    _rule(r"not chosen by the clearing; detailed tests skipped: only the first \d+ challenges not chosen are "
          r"tested in detail", None),
    _rule(r"not chosen by the clearing; detailed tests skipped: the explanation budget of \S+ s was used up", None),
    _rule(r"not reached: the search stopped at its limit before completing it", None),
    _rule(r"not chosen: completing it would not raise the total value", None),
    # Version 1.1 (solver/reasons.py): a pledge's own terms are its funder's, so a reason naming a pledge
    # is said in full only to whom sees that pledge (its funder, and anyone when it is listed).
    _rule(r"condition: pledge (?P<pledge>\S+) could pay for it only if funder (?P<funder>\S+) pays at least "
          r"(?P<min>\S+) into it, and (?P=funder) does not",
          "condition: a pledge that could pay for it pays only if another funder pays at least a minimum into it "
          "too, and that funder does not"),
    _rule(r"min_spend: pledge (?P<pledge>\S+) could pay for it, but it pays nothing or at least \S+ in total, more "
          r"than it can put into this challenge",
          "min_spend: a pledge that could pay for it pays nothing or at least a minimum in total, more than it can "
          "put into this challenge"),
    _rule(r"max_challenge_share: pledge (?P<pledge>\S+) may pay at most \S+ of its cost, and the other money that "
          r"may pay for it cannot pay the rest",
          "max_challenge_share: a pledge that could pay for it may pay only part of its cost, and the other money "
          "that may pay for it cannot pay the rest"),
    _rule(r"funders' conditions: .*",
          "funders' conditions: the money that may pay for it cannot cover its cheapest cost within the pledges' "
          "min_spend, max_challenge_share and conditions"),
    _rule(r"not completed: the fixed bids cannot all be accepted, so the clearing is infeasible and accepts "
          r"nothing", None),
    # Version 1.1, status infeasible (solver/infeasible.py): every bid loses then, fixed ones included, so
    # others read no bid id, price, reliability or actor; a bid's actor reads a reason naming only its bid.
    _rule(r'fixed bid "(?P<bid>[^"]+)" is not eligible: its item on "(?P<component>[^"]+)" is priced .+ for \d+, '
          r'above the reserve of (?P<reserve>\S+) a unit',
          'a fixed bid is not eligible: its item on "{component}" is priced above the reserve of {reserve} a unit'),
    _rule(r'fixed bid "(?P<bid>[^"]+)" is not eligible: its reliability \S+ is below the (?P<floor>\S+) that '
          r'"(?P<component>[^"]+)" requires',
          'a fixed bid is not eligible: its reliability is below the {floor} that "{component}" requires'),
    _rule(r'fixed bid "(?P<bid>[^"]+)" cannot be paid: no pledge\'s scope admits "(?P<component>[^"]+)"',
          'a fixed bid cannot be paid: no pledge\'s scope admits "{component}"'),
    _rule(r'fixed bid "(?P<bid>[^"]+)" is on "(?P<challenge>[^"]+)", which cannot be completed: .+',
          'a fixed bid is on "{challenge}", which cannot be completed'),
    _rule(r'fixed bids .+ are in the same exclusive group "[^"]+" of actor "[^"]+"',
          "two fixed bids of one actor are in the same exclusive group"),
    _rule(r'fixed bids? .+ of actor "[^"]+" (cost \S+ together, above its budget|have a load of \S+ together, '
          r'above its load) of \S+',
          "fixed bids of one actor go over its budget or load together"),
    _rule(r'fixed bids? .+ on "(?P<challenge>[^"]+)" have a reliability of \S+ together, below its target of '
          r'(?P<target>\S+)',
          'the fixed bids on "{challenge}" together fall below its reliability target of {target}'),
    _rule(r'fixed bids? .+ cannot be paid: the pledges that may pay for "(?P<challenge>[^"]+)" hold \S+ against '
          r'the \S+ the fixed bids on it cost',
          'the fixed bids on "{challenge}" cannot be paid: the pledges that may pay for it hold less than they cost'),
    _rule(r"fixed bids? .+ cannot be paid: the pledges that may pay for them hold \S+ against the \S+ they cost",
          "fixed bids cannot be paid: the pledges that may pay for them hold less than they cost"),
    _rule(r'fixed bid "(?P<bid>[^"]+)" cannot be accepted: no allocation with it keeps (?P<what>' + _BROKEN + ")",
          "a fixed bid cannot be accepted: no allocation with it keeps {what}"),
    _rule(r'the fixed bids .+ together break (?P<what>' + _BROKEN + ")", "the fixed bids together break {what}"),
    _rule(r'the fixed bids .+ cannot all be accepted together', "the fixed bids cannot all be accepted together"),
    _rule(r'not cleared: the fixed bids .+ cannot all be accepted \(see the reasons on "(?P<challenge>[^"]+)"\)',
          'not cleared: the fixed bids cannot all be accepted (see the reasons on "{challenge}")'),
)


def reason_for(reason: str, seer: Viewer) -> str:
    """One reason as `seer` may read it."""
    if seer.full:
        return reason
    for pattern, public in _RULES:
        found = pattern.fullmatch(reason)
        if found is None:
            continue
        named = found.groupdict()
        if public is None or named.get("bid") in seer.bids:
            return reason
        if named.get("pledge") is not None and seer.sees_pledge(named["pledge"]):
            return reason
        return public.format(**found.groupdict())
    return SEALED


def reasons_for(reasons: Iterable[str], seer: Viewer) -> list[str]:
    """The reasons as `seer` may read them, each once (many losing bids may say the same in public)."""
    return list(dict.fromkeys(reason_for(r, seer) for r in reasons))


# ---------------------------------------------------------------- money

def others(count: int, named: bool) -> str:
    """The label of the funders not listed by name, e.g. "3 funders" or, beside named ones, "1 other funder"."""
    return f"{count} {'other ' if named else ''}funder{'' if count == 1 else 's'}"


def allocation_for(allocation: dict[str, Any], seer: Viewer) -> dict[str, Any]:
    """The allocation document as `seer` may read it: the analysts' is the run's own; anyone else's has the
    reasons as `reason_for` gives them, the flows and pledges of only its own and listed pledges, and on
    each challenge the number of funders paying into it (`funders`)."""
    if seer.full:
        return allocation
    funders: dict[str, set[str]] = {}
    for f in allocation["flows"]:
        funders.setdefault(f["component"].split("/")[0], set()).add(f["funder"])
    # The solver's block counts every bid, eligible bid and pledge, and its bounds and gaps are read from
    # them: the analysts' alone.
    return {k: v for k, v in allocation.items() if k != "solver"} | {
        "challenges": [c | {"funders": len(funders.get(c["id"], ()))} for c in allocation["challenges"]],
        "flows": [f for f in allocation["flows"] if seer.sees_pledge(f["pledge"])],
        "pledges": [p for p in allocation["pledges"] if seer.sees_pledge(p["id"])],
        "unfunded": [u | {"reasons": reasons_for(u["reasons"], seer)} for u in allocation.get("unfunded", [])]}
