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
    """Which components a pledge may pay for.

    Version 1: a component matches any entry of challenges, components, tags (a scope listing none
    admits nothing). Version 1.1 narrows: the challenge must also carry every tag of `all_tags` and
    none of `exclude_tags`; a scope listing no entries but a non-empty `all_tags` or `exclude_tags`
    starts from every component.
    """
    challenges: tuple[str, ...] = ()
    components: tuple[str, ...] = ()        # "<challenge>/<component>" keys
    tags: tuple[str, ...] = ()
    all_tags: tuple[str, ...] = ()          # 1.1
    exclude_tags: tuple[str, ...] = ()      # 1.1

    def admits(self, challenge: Challenge, component: Component) -> bool:
        if self.challenges or self.components or self.tags:
            if not (challenge.id in self.challenges
                    or component.key in self.components
                    or any(tag in challenge.tags for tag in self.tags)):
                return False
        elif not (self.all_tags or self.exclude_tags):
            return False
        return (all(tag in challenge.tags for tag in self.all_tags)
                and not any(tag in challenge.tags for tag in self.exclude_tags))

    @property
    def narrows(self) -> bool:
        """True when the scope uses a version-1.1 key."""
        return bool(self.all_tags or self.exclude_tags)


@dataclass(frozen=True, slots=True)
class Condition:
    """Version 1.1: in every challenge the pledge pays into, `funder_id`'s pledges together pay at least
    `min` into that same challenge."""
    funder_id: str
    min: Cents


@dataclass(frozen=True, slots=True)
class Pledge:
    id: str
    funder_id: str
    amount: Cents
    scope: Scope | None = None              # None: every component
    max_share: float | None = None
    match: float | None = None
    min_spend: Cents | None = None          # 1.1: pays nothing or at least this in total
    max_challenge_share: float | None = None    # 1.1: per challenge, at most this fraction of its cost
    conditions: tuple[Condition, ...] = ()  # 1.1: "I pay only if they pay"

    @property
    def conditional(self) -> bool:
        """True when the pledge uses a version-1.1 limit (its scope aside)."""
        return self.min_spend is not None or self.max_challenge_share is not None or bool(self.conditions)

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
    fixed: bool = False                     # 1.1: must be accepted (already contracted)

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

    @property
    def uses_1_1(self) -> bool:
        """True when the market needs "swarm-market/1.1" to be written down."""
        return (any(p.conditional or (p.scope is not None and p.scope.narrows) for p in self.pledges)
                or any(b.fixed for b in self.bids))
