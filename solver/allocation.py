"""The solver's output: an allocation, and its `swarm-allocation/1` JSON document."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Mapping

from .market import Bid, Market, Number
from .money import format_money

FORMAT = "swarm-allocation/1"


@dataclass(frozen=True, slots=True)
class ComponentResult:
    id: str
    funded: bool
    quantity: int
    cost: int


@dataclass(frozen=True, slots=True)
class ChallengeResult:
    id: str
    completed: bool
    value: Number
    cost: int
    reliability: float
    components: tuple[ComponentResult, ...]


@dataclass(frozen=True, slots=True)
class AwardItem:
    component: str
    quantity: int
    price: int


@dataclass(frozen=True, slots=True)
class Award:
    bid: str
    actor: str
    price: int
    items: tuple[AwardItem, ...]


@dataclass(frozen=True, slots=True)
class Flow:
    pledge: str
    funder: str
    component: str
    amount: int


@dataclass(frozen=True, slots=True)
class PledgeResult:
    id: str
    funder: str
    amount: int
    spent: int

    @property
    def returned(self) -> int:
        return self.amount - self.spent


@dataclass(frozen=True, slots=True)
class Unfunded:
    challenge: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Allocation:
    market: str
    status: str                                   # "optimal", "feasible", "infeasible" (1.1: fixed bids) or "error"
    value: Number
    cost: int
    challenges: tuple[ChallengeResult, ...]
    awards: tuple[Award, ...]
    flows: tuple[Flow, ...]
    pledges: tuple[PledgeResult, ...]
    unfunded: tuple[Unfunded, ...]
    solver: dict[str, Any] = field(default_factory=dict)

    @property
    def completed(self) -> tuple[ChallengeResult, ...]:
        return tuple(c for c in self.challenges if c.completed)

    @property
    def spent(self) -> int:
        return sum(p.spent for p in self.pledges)

    @property
    def returned(self) -> int:
        return sum(p.returned for p in self.pledges)

    def to_document(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "market": self.market,
            "status": self.status,
            "value": self.value,
            "cost": format_money(self.cost),
            "challenges": [
                {"id": c.id, "completed": c.completed, "value": c.value, "cost": format_money(c.cost),
                 "reliability": c.reliability,
                 "components": [{"id": k.id, "funded": k.funded, "quantity": k.quantity, "cost": format_money(k.cost)}
                                for k in c.components]}
                for c in self.challenges],
            "awards": [
                {"bid": a.bid, "actor": a.actor, "price": format_money(a.price),
                 "items": [{"component": i.component, "quantity": i.quantity, "price": format_money(i.price)}
                           for i in a.items]}
                for a in self.awards],
            "flows": [{"pledge": f.pledge, "funder": f.funder, "component": f.component,
                       "amount": format_money(f.amount)} for f in self.flows],
            "pledges": [{"id": p.id, "funder": p.funder, "amount": format_money(p.amount),
                         "spent": format_money(p.spent), "returned": format_money(p.returned)} for p in self.pledges],
            "unfunded": [{"challenge": u.challenge, "reasons": list(u.reasons)} for u in self.unfunded],
            "solver": self.solver,
        }

    def to_json(self) -> str:
        return dumps_indented(self.to_document()) + "\n"


def dumps_indented(doc: Any) -> str:
    """Exactly `json.dumps(doc, indent=2, ensure_ascii=False)`, several times faster.

    With an indent, json.dumps leaves its C encoder for a pure-Python generator that yields every token
    through nested generators: most of the time of writing a large allocation. This writes the same
    bytes in one recursive pass, strings escaped by json's own C function. Anything it does not know
    (keys that are not strings, types other than JSON's) goes to json.dumps itself."""
    out: list[str] = []
    try:
        _encode(doc, "\n", out)
    except _Unknown:
        return json.dumps(doc, indent=2, ensure_ascii=False)
    return "".join(out)


class _Unknown(Exception):
    pass


_escape = json.encoder.encode_basestring          # the C function when available, as json.dumps uses


def _scalar(o: Any) -> str | None:
    """A JSON scalar's text, None for a container."""
    cls = type(o)
    if cls is str:
        return _escape(o)
    if cls is int:
        return int.__repr__(o)
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if cls is float:
        return _float(o)
    if isinstance(o, (dict, list, tuple)):
        return None
    if isinstance(o, str):
        return _escape(o)
    if isinstance(o, int):
        return int.__repr__(o)
    if isinstance(o, float):
        return _float(o)
    raise _Unknown


def _encode(o: Any, newline: str, out: list[str]) -> None:
    """`newline` is "\\n" and the indentation of the line `o` starts on."""
    text = _scalar(o)
    if text is not None:
        out.append(text)
        return
    inner = newline + "  "
    if isinstance(o, dict):
        if not o:
            out.append("{}")
            return
        opening = "{" + inner
        between = "," + inner
        sep = opening
        for key, value in o.items():
            if type(key) is not str:
                raise _Unknown
            text = _scalar(value)
            if text is not None:
                out.append(sep + _escape(key) + ": " + text)
            else:
                out.append(sep + _escape(key) + ": ")
                _encode(value, inner, out)
            sep = between
        out.append(newline + "}")
    else:
        if not o:
            out.append("[]")
            return
        opening = "[" + inner
        between = "," + inner
        sep = opening
        for value in o:
            text = _scalar(value)
            if text is not None:
                out.append(sep + text)
            else:
                out.append(sep)
                _encode(value, inner, out)
            sep = between
        out.append(newline + "]")


def _float(o: float) -> str:
    if o != o:
        return "NaN"
    if o == float("inf"):
        return "Infinity"
    if o == -float("inf"):
        return "-Infinity"
    return float.__repr__(o)


def normalise_value(total: float | int) -> Number:
    """Whole values print as integers so the same market gives the same bytes."""
    if isinstance(total, float) and total.is_integer() and abs(total) < 2**53:
        return int(total)
    return total


def from_awards(market: Market, accepted: list[Bid], flows: Mapping[str, list[tuple[str, int]]],
                status: str) -> Allocation:
    """The allocation that accepted bids (market order) and per-pledge flows [(component, cents)] make:
    coverage, completion, value, cost, reliability, spent and returned all derived here. `unfunded`
    and `solver` are left for the caller. Raises ValueError if bids are on a challenge not completed."""
    covered: dict[str, int] = {}
    item_cost: dict[str, int] = {}
    for bid in accepted:
        for item in bid.items:
            covered[item.component] = covered.get(item.component, 0) + item.quantity
            item_cost[item.component] = item_cost.get(item.component, 0) + item.price
    challenge_of = {k.key: c.id for c in market.challenges for k in c.components}
    touching: dict[str, list[Bid]] = {}
    for bid in accepted:
        for cid in dict.fromkeys(challenge_of[i.component] for i in bid.items):
            touching.setdefault(cid, []).append(bid)
    results = []
    total_value: float = 0
    for challenge in market.challenges:
        completed = all(covered.get(k.key, 0) >= k.quantity for k in challenge.components if k.critical)
        if not completed and any(covered.get(k.key) for k in challenge.components):
            raise ValueError(f"bids accepted on challenge {challenge.id}, which is not completed")
        components = tuple(ComponentResult(k.id, completed and covered.get(k.key, 0) >= k.quantity,
                                           covered.get(k.key, 0), item_cost.get(k.key, 0))
                           for k in challenge.components)
        value: float = 0
        if completed:
            value = challenge.value + sum(k.value for k, r in zip(challenge.components, components)
                                          if not k.critical and r.funded)
        total_value += value
        reliability = 1.0
        for bid in touching.get(challenge.id, []):
            reliability *= bid.reliability
        results.append(ChallengeResult(challenge.id, completed, normalise_value(value),
                                       sum(r.cost for r in components), reliability, components))
    order = {k.key: n for n, k in enumerate(market.components)}
    flow_rows: list[Flow] = []
    pledges: list[PledgeResult] = []
    for pledge in market.pledges:
        mine = sorted(((key, cents) for key, cents in flows.get(pledge.id, []) if cents > 0),
                      key=lambda kv: order[kv[0]])
        flow_rows.extend(Flow(pledge.id, pledge.funder_id, key, cents) for key, cents in mine)
        pledges.append(PledgeResult(pledge.id, pledge.funder_id, pledge.amount, sum(c for _, c in mine)))
    awards = tuple(Award(b.id, b.actor_id, b.price, tuple(AwardItem(i.component, i.quantity, i.price) for i in b.items))
                   for b in accepted)
    return Allocation(market=market.name, status=status, value=normalise_value(total_value),
                      cost=sum(b.price for b in accepted), challenges=tuple(results), awards=awards,
                      flows=tuple(flow_rows), pledges=tuple(pledges), unfunded=())
