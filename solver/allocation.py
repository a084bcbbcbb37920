"""The solver's output: an allocation, and its `swarm-allocation/1` JSON document."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .market import Number
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
    status: str                                   # "optimal", "feasible" or "error"
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
            "flows": [{"pledge": f.pledge, "funder": f.funder, "component": f.component, "amount": format_money(f.amount)}
                      for f in self.flows],
            "pledges": [{"id": p.id, "funder": p.funder, "amount": format_money(p.amount),
                         "spent": format_money(p.spent), "returned": format_money(p.returned)} for p in self.pledges],
            "unfunded": [{"challenge": u.challenge, "reasons": list(u.reasons)} for u in self.unfunded],
            "solver": self.solver,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_document(), indent=2, ensure_ascii=False) + "\n"


def normalise_value(total: float | int) -> Number:
    """Whole values print as integers so the same market gives the same bytes."""
    if isinstance(total, float) and total.is_integer() and abs(total) < 2**53:
        return int(total)
    return total
