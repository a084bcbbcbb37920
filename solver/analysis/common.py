"""Shared pieces: building a verified allocation from chosen bids and flows, restricted sub-markets,
reading allocation files, and the market changes used by what-if and sweeps."""
from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..allocation import Allocation, Unfunded, from_awards
from ..eligibility import presolve
from ..loading import MAX_FILE_BYTES, JsonRefused, decode_json
from ..market import Capacity, Condition, Funder, Market, Pledge, Scope
from ..money import MoneyError, parse_money
from ..pools import make_pools
from ..verify import verify_allocation


class AnalysisError(ValueError):
    """Input an analysis cannot use (bad option value, unknown id, unreadable allocation)."""


# -- allocations ------------------------------------------------------------------------------------

def build_allocation(market: Market, accepted: Iterable[str], flows: Mapping[tuple[str, str], int], *,
                     status: str, solver: dict[str, Any], why_not: str) -> Allocation:
    """A `swarm-allocation/1` allocation of `market` from accepted bid ids and (pledge, component) -> cents.

    Everything else is derived; unfunded challenges get presolve's structural reason when there is one,
    else `why_not`. The result is checked with the independent verifier; a violation raises."""
    chosen = set(accepted)
    bids = [b for b in market.bids if b.id in chosen]
    per_pledge: dict[str, list[tuple[str, int]]] = {}
    for (pledge_id, key), cents in flows.items():
        per_pledge.setdefault(pledge_id, []).append((key, cents))
    built = from_awards(market, bids, per_pledge, status)
    pre = presolve(market, make_pools(market))
    unfunded = []
    for challenge, result in zip(market.challenges, built.challenges):
        if not result.completed:
            reason = pre.impossible_challenges.get(challenge.id) or why_not
            unfunded.append(Unfunded(challenge.id, (reason,)))
    allocation = dataclasses.replace(built, unfunded=tuple(unfunded), solver=solver)
    problems = verify_allocation(market, allocation.to_document())
    if problems:
        raise RuntimeError("internal: a baseline allocation breaks a rule: " + "; ".join(problems[:3]))
    return allocation


def read_json(path: str, what: str) -> Any:
    """The JSON document in the file `path` (`what` it should be, for the message when it is a folder), or
    an AnalysisError that says what is wrong with the file. Read as market files are: at most
    MAX_FILE_BYTES, and a repeated key or nesting too deep is an error, not a silent value or a crash."""
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise AnalysisError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AnalysisError(f"{path}: is a directory, not {what}") from None
    except OSError as exc:
        raise AnalysisError(f"{path}: cannot read it: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise AnalysisError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MB, the most {what} may be")
    try:
        return decode_json(raw.decode("utf-8-sig"))
    except JsonRefused as exc:
        raise AnalysisError(f"{path}: not {what}: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:     # json.JSONDecodeError is a ValueError
        raise AnalysisError(f"{path}: not valid JSON: {exc}") from None


def load_allocation(path: str, market: Market | None = None) -> dict[str, Any]:
    """An allocation document from `path`; with a market, it must also pass `verify_allocation`."""
    doc = read_json(path, "an allocation file")
    if not isinstance(doc, dict) or doc.get("format") != "swarm-allocation/1":
        raise AnalysisError(f'{path}: not an allocation (expected "format": "swarm-allocation/1")')
    if market is not None:
        problems = verify_allocation(market, doc)
        if problems:
            raise AnalysisError(f"{path}: not a valid allocation of this market: {problems[0]}"
                                + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    return doc


def money_of(raw: Any) -> int:
    try:
        return parse_money(raw)
    except MoneyError:
        return 0


# -- sub-markets ------------------------------------------------------------------------------------

@dataclasses.dataclass
class Usage:
    """What earlier partial clearings have taken: bids, actor budget and load, exclusive groups, money."""
    bids: set[str] = dataclasses.field(default_factory=set)
    budget: dict[str, int] = dataclasses.field(default_factory=dict)
    load: dict[str, float] = dataclasses.field(default_factory=dict)
    groups: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    spent: dict[str, int] = dataclasses.field(default_factory=dict)
    done: set[str] = dataclasses.field(default_factory=set)
    flows: dict[tuple[str, str], int] = dataclasses.field(default_factory=dict)

    def take(self, market: Market, part: Allocation) -> None:
        bids = {b.id: b for b in market.bids}
        for award in part.awards:
            bid = bids[award.bid]
            self.bids.add(bid.id)
            self.budget[bid.actor_id] = self.budget.get(bid.actor_id, 0) + bid.price
            self.load[bid.actor_id] = self.load.get(bid.actor_id, 0) + bid.load
            if bid.exclusive_group is not None:
                self.groups.add((bid.actor_id, bid.exclusive_group))
        for flow in part.flows:
            self.spent[flow.pledge] = self.spent.get(flow.pledge, 0) + flow.amount
            self.flows[flow.pledge, flow.component] = self.flows.get((flow.pledge, flow.component), 0) + flow.amount
        self.done.update(c.id for c in part.challenges if c.completed)


def _rest_of(pledge: Pledge, spent: int) -> Pledge:
    """What is left of a pledge after earlier partial clearings: its amount less what they spent. Each
    partial clearing meets a 1.1 min_spend on its own, so one that spent anything reached it, and it binds
    no more."""
    return dataclasses.replace(pledge, amount=pledge.amount - spent,
                               min_spend=None if spent > 0 else pledge.min_spend)


def submarket(market: Market, challenges: Iterable[str], pledges: Iterable[Pledge], usage: Usage) -> Market:
    """The market left for a partial clearing: only `challenges` (minus those done), only `pledges` with
    what they have left, bids not yet taken and touching only those challenges, actors' remaining capacity,
    exclusive groups already used closed."""
    keep = set(challenges) - usage.done
    chosen = tuple(c for c in market.challenges if c.id in keep)
    challenge_of = {k.key: c.id for c in market.challenges for k in c.components}
    funders: dict[str, list[Pledge]] = {}
    for pledge in pledges:
        spent = usage.spent.get(pledge.id, 0)
        left = pledge.amount - spent
        if left > 0:
            funders.setdefault(pledge.funder_id, []).append(_rest_of(pledge, spent))
    # 1.1: a condition on a funder with no money here can never be met, so its pledge pays nothing here
    # (and the engine needs every named funder to be in the market); dropping one may strand another.
    stranded = True
    while stranded:
        stranded = False
        for fid in list(funders):
            kept = [p for p in funders[fid] if all(c.funder_id in funders for c in p.conditions)]
            stranded = stranded or len(kept) < len(funders[fid])
            if kept:
                funders[fid] = kept
            else:
                del funders[fid]
    actors = []
    for actor in market.actors:
        bids = tuple(b for b in actor.bids if b.id not in usage.bids
                     and all(challenge_of[i.component] in keep for i in b.items)
                     and (b.exclusive_group is None or (actor.id, b.exclusive_group) not in usage.groups))
        capacity = actor.capacity
        if capacity is not None:
            capacity = Capacity(
                budget=None if capacity.budget is None else capacity.budget - usage.budget.get(actor.id, 0),
                load=None if capacity.load is None else capacity.load - usage.load.get(actor.id, 0))
        actors.append(dataclasses.replace(actor, bids=bids, capacity=capacity))
    return Market(challenges=chosen, funders=tuple(Funder(fid, tuple(ps)) for fid, ps in funders.items()),
                  actors=tuple(actors), name=market.name, currency=market.currency)


# -- market changes (what-if, sweeps) ---------------------------------------------------------------

def parse_amount(text: str, what: str = "amount") -> int:
    try:
        cents = parse_money(text)
    except MoneyError as exc:
        raise AnalysisError(f"{what} {text!r}: {exc}") from None
    if cents <= 0:
        raise AnalysisError(f"{what} {text!r}: must be more than 0")
    return cents


def parse_scope(market: Market, text: str) -> Scope:
    """`SCOPE` entries separated by commas: a challenge id, a component "challenge/component", or a tag."""
    challenges, components, tags = [], [], []
    ids = {c.id for c in market.challenges}
    keys = {k.key for k in market.components}
    all_tags = {t for c in market.challenges for t in c.tags}
    for entry in (e.strip() for e in text.split(",")):
        if entry in keys:
            components.append(entry)
        elif entry in ids:
            challenges.append(entry)
        elif entry in all_tags:
            tags.append(entry)
        else:
            raise AnalysisError(f"scope {entry!r}: not a challenge id, component (challenge/component) or tag "
                                f"of this market")
    return Scope(tuple(challenges), tuple(components), tuple(tags))


def add_pledge(market: Market, amount: int, scope: Scope | None, pledge_id: str, funder_id: str) -> Market:
    pledge = Pledge(pledge_id, funder_id, amount, scope)
    existing = {p.id for p in market.pledges}
    if pledge_id in existing:
        raise AnalysisError(f"pledge id {pledge_id!r} already exists in the market")
    return dataclasses.replace(market, funders=market.funders + (Funder(funder_id, (pledge,), name=funder_id),))


def drop_actor(market: Market, actor_id: str) -> Market:
    if actor_id not in {a.id for a in market.actors}:
        known = ", ".join(sorted(a.id for a in market.actors)[:5])
        raise AnalysisError(f"unknown actor {actor_id!r} (actors include {known}, ...)")
    return dataclasses.replace(market, actors=tuple(a for a in market.actors if a.id != actor_id))


def scale_pledges(market: Market, factor: float) -> Market:
    """Every pledge times `factor`, rounded to the cent (half up); a pledge rounding to 0 is dropped.

    A 1.1 min_spend is the funder's own threshold and stays, but never above the scaled amount (the spec
    wants it at most the amount: all or nothing then); conditions name what others pay and stay."""
    if not math.isfinite(factor) or factor <= 0:
        raise AnalysisError(f"pledge scale {factor!r}: must be a number above 0")
    funders = []
    for funder in market.funders:
        pledges = tuple(_scaled(p, int(math.floor(p.amount * factor + 0.5))) for p in funder.pledges)
        funders.append(dataclasses.replace(funder, pledges=tuple(p for p in pledges if p.amount > 0)))
    return dataclasses.replace(market, funders=tuple(funders))


def _scaled(pledge: Pledge, amount: int) -> Pledge:
    if pledge.min_spend is not None and pledge.min_spend > amount:
        return dataclasses.replace(pledge, amount=amount, min_spend=amount if amount > 0 else None)
    return dataclasses.replace(pledge, amount=amount)


def add_condition(market: Market, text: str) -> Market:
    """`PLEDGE:FUNDER=MIN` (1.1): the pledge pays only into challenges where FUNDER's pledges together pay at
    least MIN; the rules of the spec's `conditions` apply (not its own funder, each funder once)."""
    pledge_id, sep, rest = text.partition(":")
    funder_id, eq, raw = rest.rpartition("=")
    if not sep or not eq or not funder_id:
        raise AnalysisError(f"--add-condition {text!r}: expected PLEDGE:FUNDER=MIN, such as p1:ministry=200000")
    pledge = next((p for p in market.pledges if p.id == pledge_id), None)
    if pledge is None:
        raise AnalysisError(f"--add-condition {text!r}: unknown pledge {pledge_id!r}")
    if funder_id not in {f.id for f in market.funders}:
        raise AnalysisError(f"--add-condition {text!r}: unknown funder {funder_id!r}")
    if funder_id == pledge.funder_id:
        raise AnalysisError(f"--add-condition {text!r}: pledge {pledge_id} is funder {funder_id}'s own; a funder "
                            "may not name itself")
    if any(c.funder_id == funder_id for c in pledge.conditions):
        raise AnalysisError(f"--add-condition {text!r}: pledge {pledge_id} already has a condition on {funder_id}")
    condition = Condition(funder_id, parse_amount(raw, "--add-condition MIN"))
    changed = dataclasses.replace(pledge, conditions=pledge.conditions + (condition,))
    return dataclasses.replace(market, funders=tuple(
        dataclasses.replace(f, pledges=tuple(changed if p.id == pledge_id else p for p in f.pledges))
        for f in market.funders))


def fix_bid(market: Market, bid_id: str) -> Market:
    """The bid fixed (1.1): it must be accepted, as contracted work is."""
    if bid_id not in {b.id for b in market.bids}:
        raise AnalysisError(f"--fix-bid {bid_id!r}: unknown bid")
    return dataclasses.replace(market, actors=tuple(
        dataclasses.replace(a, bids=tuple(dataclasses.replace(b, fixed=True) if b.id == bid_id else b
                                          for b in a.bids))
        for a in market.actors))


def set_target(market: Market, challenge_id: str, target: float | None) -> Market:
    if challenge_id not in {c.id for c in market.challenges}:
        raise AnalysisError(f"unknown challenge {challenge_id!r}")
    if target is not None and not (0 < target <= 1):
        raise AnalysisError(f"reliability target {target!r} for {challenge_id}: must be in (0, 1]")
    return dataclasses.replace(market, challenges=tuple(
        dataclasses.replace(c, reliability=target) if c.id == challenge_id else c for c in market.challenges))


def parse_target(market: Market, text: str) -> tuple[str, float | None]:
    """`CHALLENGE=R` (R in (0, 1], or `none` to remove the target)."""
    if "=" not in text:
        raise AnalysisError(f"target {text!r}: expected CHALLENGE=R, such as kitui-boreholes=0.9")
    cid, raw = text.rsplit("=", 1)
    if cid not in {c.id for c in market.challenges}:
        raise AnalysisError(f"target {text!r}: unknown challenge {cid!r}")
    if raw.strip().lower() == "none":
        return cid, None
    try:
        value = float(raw)
    except ValueError:
        raise AnalysisError(f"target {text!r}: {raw!r} is not a number") from None
    if not (0 < value <= 1):
        raise AnalysisError(f"target {text!r}: the reliability must be in (0, 1]")
    return cid, value


_RANGE = re.compile(r"^\s*([^:]+):([^:]+):([^:]+)\s*$")


def parse_range(text: str, what: str) -> list[float]:
    """`START:STOP:COUNT`, COUNT evenly spaced values including both ends."""
    match = _RANGE.match(text)
    if not match:
        raise AnalysisError(f"{what} {text!r}: expected START:STOP:COUNT, such as 0.5:2.0:16")
    try:
        start, stop = float(match.group(1)), float(match.group(2))
        count = int(match.group(3))
    except ValueError:
        raise AnalysisError(f"{what} {text!r}: START and STOP must be numbers and COUNT a whole number") from None
    if not (math.isfinite(start) and math.isfinite(stop)) or count < 1:
        raise AnalysisError(f"{what} {text!r}: needs finite START and STOP and COUNT of at least 1")
    if count > 1000:
        raise AnalysisError(f"{what} {text!r}: at most 1000 points")
    if count == 1:
        return [start]
    return [round(start + (stop - start) * i / (count - 1), 10) for i in range(count)]


def num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


class Progress:
    """Where long analyses report progress; the CLI passes one that draws a rich progress bar."""

    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass

    def stop(self) -> None:
        pass


QUIET = Progress()
