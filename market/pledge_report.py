"""After clearing, what a pledge's version-1.1 limits did (read-only): for each condition, whether it was met
in each challenge the pledge could pay into and what the pledge paid there; whether its minimum spend was
reached; its share of each project it paid into against its cap.

Everything is read from the clearing run as it was cleared (its market document and allocation), not from
the pledge as it may have been changed since.

What a funder is shown of the funder its condition names: the money that funder paid into a challenge is
that funder's own flows, private unless its pledges are listed by name (`sealing`). So the amount is shown
only when every pledge of the named funder is one the viewer may see (listed, or the viewer is an analyst);
otherwise the report says "met" or "not met" against the minimum the conditioned funder itself set, which
tells no more than the condition it chose. (A condition met still says that the named funder paid at least
that minimum there: the condition's own meaning, and what the funder needs to know of its pledge.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from solver.market import Challenge as SolverChallenge
from solver.market import Component as SolverComponent
from solver.money import format_money_grouped, parse_money

from .reads import names
from .scope_preview import to_scope
from .sealing import Viewer


@dataclass
class ConditionCheck:
    funder: str                  # the named funder's display name
    min_cents: int
    met: bool
    their_cents: int | None      # what the named funder paid there; None: not the viewer's to see


@dataclass
class ChallengeLine:
    key: str
    title: str
    paid_cents: int              # this pledge into the challenge
    cost_cents: int              # the challenge's cost in the allocation (public after clearing)
    checks: list[ConditionCheck]
    text: str


@dataclass
class PledgeReport:
    key: str
    status: str                  # the allocation's status
    lines: list[ChallengeLine]   # one per challenge the pledge could pay into (its scope admits a component)
    conditions: list[str]        # one summary sentence per condition
    min_spend: str | None        # the sentence on the minimum spend, when the pledge has one
    shares: list[str] = field(default_factory=list)      # per challenge paid into, with max_challenge_share
    broken: list[str] = field(default_factory=list)      # a rule the allocation does not keep (never expected)

    @property
    def infeasible(self) -> bool:
        return self.status == "infeasible"


def money(cents: int) -> str:
    return format_money_grouped(cents)


def _pledge_doc(document: dict[str, Any], key: str) -> tuple[dict[str, Any], str] | None:
    for f in document.get("funders", []):
        for p in f.get("pledges", []):
            if p["id"] == key:
                return p, f["id"]
    return None


def _solver_challenge(c: dict[str, Any]) -> SolverChallenge:
    return SolverChallenge(id=c["id"], tags=tuple(c.get("tags", ())), components=tuple(
        SolverComponent(challenge_id=c["id"], id=k["id"]) for k in c.get("components", ())))


def pledge_report(run: Any, key: str, seer: Viewer) -> PledgeReport | None:
    """The report of pledge `key` in clearing run `run` (None: not in that clearing, or no 1.1 limit to
    report). `seer` must be one that sees the pledge itself (its funder or an analyst)."""
    found = _pledge_doc(run.market, key)
    if found is None or not seer.sees_pledge(key):
        return None
    pledge, own_funder = found
    conditions = [(c["funder"], parse_money(str(c["min"]))) for c in pledge.get("conditions") or ()]
    min_spend = None if pledge.get("min_spend") is None else parse_money(str(pledge["min_spend"]))
    share = pledge.get("max_challenge_share")
    if not conditions and min_spend is None and share is None:
        return None
    alloc = run.allocation
    funder_names, _ = names(run.market)
    status = str(alloc.get("status", ""))
    scope = to_scope(pledge.get("scope"))
    challenges = [c for c in run.market.get("challenges", [])
                  if scope is None or any(scope.admits(_solver_challenge(c), k)
                                          for k in _solver_challenge(c).components)]
    cost = {c["id"]: parse_money(c["cost"]) for c in alloc.get("challenges", [])}
    paid: dict[tuple[str, str], int] = {}          # (funder or "pledge:" + id, challenge) -> cents
    for f in alloc.get("flows", []):
        challenge = f["component"].split("/")[0]
        cents = parse_money(f["amount"])
        paid[(f["funder"], challenge)] = paid.get((f["funder"], challenge), 0) + cents
        paid[("pledge:" + f["pledge"], challenge)] = paid.get(("pledge:" + f["pledge"], challenge), 0) + cents
    pledges_of = {f["id"]: [p["id"] for p in f.get("pledges", [])] for f in run.market.get("funders", [])}
    shown = {funder: all(seer.sees_pledge(p) for p in pledges_of.get(funder, [])) for funder, _ in conditions}

    lines, broken = [], []
    for c in challenges:
        mine = paid.get(("pledge:" + key, c["id"]), 0)
        checks = []
        for funder, least in conditions:
            theirs = paid.get((funder, c["id"]), 0)
            checks.append(ConditionCheck(funder_names.get(funder, funder), least, theirs >= least,
                                         theirs if shown[funder] else None))
        title = c.get("title") or c["id"]
        lines.append(ChallengeLine(c["id"], title, mine, cost.get(c["id"], 0), checks, _line(title, mine, checks)))
        if mine and any(not k.met for k in checks):
            broken.append(f"{title}: this pledge paid {money(mine)} although a condition was not met there")

    summaries = []
    for i, (funder, least) in enumerate(conditions):
        name = funder_names.get(funder, funder)
        met = [line.title for line in lines if line.checks[i].met]
        unmet = [line.title for line in lines if not line.checks[i].met]
        if not lines:
            summaries.append(f"Only if {name} pays at least {money(least)}: no challenge was in this pledge's scope.")
        elif not met:
            summaries.append(f"Only if {name} pays at least {money(least)}: not met in any challenge this pledge "
                             f"could pay into, so it paid nothing.")
        elif not unmet:
            summaries.append(f"Only if {name} pays at least {money(least)}: met in every challenge this pledge "
                             f"could pay into ({len(met)}).")
        else:
            summaries.append(f"Only if {name} pays at least {money(least)}: met in {_list(met)}; not met in "
                             f"{_list(unmet)}, where this pledge could pay nothing.")

    spent = sum(parse_money(f["amount"]) for f in alloc.get("flows", []) if f["pledge"] == key)
    if conditions and lines and spent == 0 and status != "infeasible" and all(
            any(line.checks[i].met for line in lines) for i in range(len(conditions))):
        together = [line.title for line in lines if all(k.met for k in line.checks)]
        summaries.append(f"Its conditions were met together in {_list(together)}, which other money paid for."
                         if together else "Its conditions were each met somewhere, but never all in one challenge.")
    spend_text = None
    if min_spend is not None:
        if spent == 0:
            spend_text = (f"Minimum spend {money(min_spend)}: not reached. This pledge pays nothing or at least "
                          f"{money(min_spend)}; it paid nothing, and all of it was returned to you.")
        elif spent >= min_spend:
            spend_text = f"Minimum spend {money(min_spend)}: reached, it paid {money(spent)} in total."
        else:
            spend_text = f"Minimum spend {money(min_spend)}: it paid only {money(spent)}."
            broken.append(f"paid {money(spent)} in total, below the minimum spend of {money(min_spend)}")

    shares = []
    if share is not None:
        for line in lines:
            if line.paid_cents:
                of = f" ({line.paid_cents / line.cost_cents:.0%})" if line.cost_cents else ""
                capped = line.paid_cents + 1 > float(share) * line.cost_cents
                shares.append(f"{line.title}: paid {money(line.paid_cents)} of its cost {money(line.cost_cents)}"
                              f"{of}; at most {_percent(float(share))} allowed"
                              f"{': the cap bound what it paid' if capped else ''}.")
    if status == "infeasible":
        summaries.insert(0, "The clearing was infeasible: the fixed bids could not all be accepted, so no "
                            "challenge was funded and every pledge was returned in full.")
    return PledgeReport(key, status, lines, summaries, spend_text, shares, broken)


def _percent(share: float) -> str:
    return f"{share * 100:.2f}".rstrip("0").rstrip(".") + "%"


def _list(titles: list[str], most: int = 5) -> str:
    shown = ", ".join(titles[:most])
    return shown + (f" and {len(titles) - most} more" if len(titles) > most else "")


def _line(title: str, mine: int, checks: list[ConditionCheck]) -> str:
    """E.g. "paid 20,000.00 to c1: the Ministry paid 60,000.00 there (at least 50,000.00 needed)"."""
    head = f"paid {money(mine)} to {title}" if mine else f"paid nothing to {title}"
    parts = []
    for k in checks:
        if k.their_cents is not None:
            state = "met" if k.met else "not met"
            parts.append(f"{k.funder} paid {money(k.their_cents)} there "
                         f"(at least {money(k.min_cents)} needed: {state})")
        elif k.met:
            parts.append(f"{k.funder} paid at least the {money(k.min_cents)} needed there (met)")
        else:
            parts.append(f"{k.funder} paid less than the {money(k.min_cents)} needed there (not met)")
    return head + (": " + "; ".join(parts) if parts else "")
