"""The solver's input: a market as frozen, ordered, plain data.

Money is whole minor units (cents) everywhere. Collections are tuples in file
order, so the same file always gives the same objects in the same order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

Cents = int
Number = int | float


@dataclass(frozen=True, slots=True)
class Component:
    challenge_id: str
    id: str
    quantity: int = 1
    critical: bool = True
    value: Number = 0
    requires: tuple[str, ...] = ()          # component ids inside the same challenge
    min_reliability: float | None = None
    max_unit_price: Cents | None = None
    title: str | None = None
    unit: str | None = None

    @property
    def key(self) -> str:
        """The component's market-wide name, "<challenge>/<component>"."""
        return f"{self.challenge_id}/{self.id}"


@dataclass(frozen=True, slots=True)
class Challenge:
    id: str
    components: tuple[Component, ...]
    value: Number = 0
    reliability: float | None = None
    tags: tuple[str, ...] = ()
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """Which components a pledge may pay for; a component matches any entry."""
    challenges: tuple[str, ...] = ()
    components: tuple[str, ...] = ()        # "<challenge>/<component>" keys
    tags: tuple[str, ...] = ()

    def admits(self, challenge: Challenge, component: Component) -> bool:
        return (
            challenge.id in self.challenges
            or component.key in self.components
            or any(tag in challenge.tags for tag in self.tags)
        )


@dataclass(frozen=True, slots=True)
class Pledge:
    id: str
    funder_id: str
    amount: Cents
    scope: Scope | None = None              # None: every component
    max_share: float | None = None
    match: float | None = None

    def admits(self, challenge: Challenge, component: Component) -> bool:
        return self.scope is None or self.scope.admits(challenge, component)


@dataclass(frozen=True, slots=True)
class Funder:
    id: str
    pledges: tuple[Pledge, ...] = ()
    name: str | None = None


@dataclass(frozen=True, slots=True)
class BidItem:
    component: str                          # "<challenge>/<component>"
    quantity: int
    price: Cents
    quantity_given: bool = True             # False: defaulted to the component's quantity


@dataclass(frozen=True, slots=True)
class Bid:
    id: str
    actor_id: str
    items: tuple[BidItem, ...]
    reliability: float                      # effective: the bid's own, else the actor's
    load: Number = 0
    exclusive_group: str | None = None
    reliability_given: bool = False         # True when the bid states its own reliability

    @property
    def price(self) -> Cents:
        return sum(item.price for item in self.items)


@dataclass(frozen=True, slots=True)
class Capacity:
    budget: Cents | None = None
    load: Number | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    id: str
    bids: tuple[Bid, ...] = ()
    reliability: float = 1.0
    capacity: Capacity | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Market:
    challenges: tuple[Challenge, ...] = ()
    funders: tuple[Funder, ...] = ()
    actors: tuple[Actor, ...] = ()
    name: str = ""
    currency: str = "USD"
    note: str | None = field(default=None, compare=False)

    @property
    def pledges(self) -> tuple[Pledge, ...]:
        return tuple(p for f in self.funders for p in f.pledges)

    @property
    def bids(self) -> tuple[Bid, ...]:
        return tuple(b for a in self.actors for b in a.bids)

    @property
    def components(self) -> tuple[Component, ...]:
        return tuple(k for c in self.challenges for k in c.components)
