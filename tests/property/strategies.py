"""Hypothesis strategies for `swarm-market/1` documents.

`markets()` draws small but complete markets as plain dicts, the form a market
file decodes to, so tests can both edit them and turn them into `Market`
objects with `solver.loading.parse_market`. Every feature of the format shows
up: tagged challenges with (sometimes zero) values and reliability targets;
critical and non-critical components with quantities, acyclic `requires`,
reliability floors and reserve prices; unscoped and scoped pledges with
`max_share` and `match`, some repeated so that pooling happens; actors with
reliability, budget and load, and bundle bids across components and challenges
with quantities, reliability overrides, loads and exclusive groups.

Every choice is a small integer, a boolean or an element of a short list, drawn
top-down, so hypothesis shrinks a failure towards fewer challenges, fewer
pledges, fewer bids and plainer options.
"""
from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

TAGS = ("sdg:6", "region:ke", "water")
PROBABILITIES = (1.0, 0.95, 0.9, 0.8, 0.6)
TARGETS = (0.9, 0.81, 0.8, 0.72, 0.5)          # 0.81 = 0.9 x 0.9, 0.72 = 0.9 x 0.8: targets met exactly
SHARES = (0.5, 0.25, 0.75, 1.0)
MATCHES = (1, 0.5, 2)
LOADS = (0, 1, 2, 0.5)
CAPACITY_LOADS = (1, 0, 2, 0.5, 1.5)
GROUPS = ("g1", "g2")


def money(cents: int) -> str:
    """Cents as the format's decimal string with two fraction digits."""
    return f"{cents // 100}.{cents % 100:02d}"


def cents(low: int, high: int) -> st.SearchStrategy[int]:
    """Whole currency units half the time (readable), any cent amount otherwise (rounding)."""
    units = st.integers(-(-low // 100), high // 100).map(lambda u: u * 100)
    return st.one_of(units, st.integers(low, high))


@st.composite
def _components(draw: st.DrawFn, max_components: int, values: st.SearchStrategy[float]) -> list[dict[str, Any]]:
    count = draw(st.integers(1, max_components))
    out: list[dict[str, Any]] = []
    for j in range(count):
        component: dict[str, Any] = {"id": f"k{j}"}
        quantity = draw(st.integers(1, 3))
        if quantity != 1 or draw(st.booleans()):
            component["quantity"] = quantity
        if j > 0 and draw(st.booleans()):          # the first stays critical: a challenge needs one
            component["critical"] = False
            value = draw(values)
            if value or draw(st.booleans()):
                component["value"] = value
        if j > 0:                                   # only earlier components: never a cycle
            requires = draw(st.lists(st.integers(0, j - 1), max_size=2, unique=True))
            if requires:
                component["requires"] = [f"k{r}" for r in requires]
        if draw(st.integers(0, 4)) == 0:
            component["min_reliability"] = draw(st.sampled_from(TARGETS))
        if draw(st.integers(0, 4)) == 0:
            component["max_unit_price"] = money(draw(cents(500, 4000)))
        out.append(component)
    return out


@st.composite
def _challenges(draw: st.DrawFn, max_challenges: int, max_components: int,
                whole_values: bool) -> list[dict[str, Any]]:
    # Whole values by default; otherwise tenths too (0.1 + 0.2 is not 0.3 in binary).
    small: st.SearchStrategy[float] = st.integers(0, 30)
    large: st.SearchStrategy[float] = st.integers(1, 100)
    if not whole_values:
        small = st.one_of(small, st.integers(0, 300).map(lambda t: t / 10))
        large = st.one_of(large, st.integers(1, 1000).map(lambda t: t / 10))
    count = draw(st.integers(1, max_challenges))
    out = []
    for i in range(count):
        challenge: dict[str, Any] = {"id": f"C{i}"}
        tags = draw(st.lists(st.sampled_from(TAGS), max_size=2, unique=True))
        if tags:
            challenge["tags"] = tags
        challenge["value"] = draw(st.one_of(large, st.just(0)))
        if draw(st.integers(0, 2)) == 0:
            challenge["reliability"] = draw(st.sampled_from(TARGETS))
        challenge["components"] = draw(_components(max_components, small))
        out.append(challenge)
    return out


@st.composite
def _scope(draw: st.DrawFn, challenges: list[dict[str, Any]]) -> dict[str, Any] | None:
    if draw(st.booleans()):
        return None
    ids = [c["id"] for c in challenges]
    keys = [f"{c['id']}/{k['id']}" for c in challenges for k in c["components"]]
    scope: dict[str, Any] = {}
    kinds = draw(st.lists(st.sampled_from(("challenges", "components", "tags")), min_size=1, max_size=2, unique=True))
    for kind in kinds:
        pool = {"challenges": ids, "components": keys, "tags": list(TAGS)}[kind]
        scope[kind] = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))
    return scope


@st.composite
def _funders(draw: st.DrawFn, challenges: list[dict[str, Any]], max_funders: int,
             max_pledges: int) -> list[dict[str, Any]]:
    count = draw(st.integers(0, max_funders))
    out = []
    n = 0
    for f in range(count):
        pledges = []
        for _ in range(draw(st.integers(1, max_pledges))):
            pledge: dict[str, Any] = {"amount": money(draw(cents(1, 10000)))}
            scope = draw(_scope(challenges))
            if scope is not None:
                pledge["scope"] = scope
            if draw(st.integers(0, 3)) == 0:
                pledge["max_share"] = draw(st.sampled_from(SHARES))
            if draw(st.integers(0, 3)) == 0:
                pledge["match"] = draw(st.sampled_from(MATCHES))
            copies = draw(st.sampled_from((1, 1, 2, 3)))      # equal pledges pool together
            for _ in range(copies):
                pledges.append({"id": f"p{n}", **pledge})
                n += 1
        out.append({"id": f"F{f}", "pledges": pledges})
    return out


@st.composite
def _bid(draw: st.DrawFn, bid_id: str, challenges: list[dict[str, Any]], cross: bool) -> dict[str, Any]:
    home = draw(st.sampled_from(challenges))
    keys = [(home, k) for k in home["components"]]
    if cross and len(challenges) > 1 and draw(st.integers(0, 3)) == 0:
        keys += [(c, k) for c in challenges if c is not home for k in c["components"]]
    chosen = draw(st.lists(st.integers(0, len(keys) - 1), min_size=1, max_size=3, unique=True))
    items = []
    for index in sorted(chosen):
        challenge, component = keys[index]
        item: dict[str, Any] = {"component": f"{challenge['id']}/{component['id']}"}
        if draw(st.integers(0, 2)) == 0:
            item["quantity"] = draw(st.integers(1, 3))
        item["price"] = money(draw(st.one_of(cents(0, 4000), st.just(0))))
        items.append(item)
    bid: dict[str, Any] = {"id": bid_id, "items": items}
    if draw(st.integers(0, 3)) == 0:
        bid["reliability"] = draw(st.sampled_from(PROBABILITIES))
    if draw(st.integers(0, 2)) == 0:
        bid["load"] = draw(st.sampled_from(LOADS))
    if draw(st.integers(0, 2)) == 0:
        bid["exclusive_group"] = draw(st.sampled_from(GROUPS))
    return bid


@st.composite
def _actors(draw: st.DrawFn, challenges: list[dict[str, Any]], max_actors: int, max_bids: int,
            cross: bool) -> list[dict[str, Any]]:
    count = draw(st.integers(1, max_actors))
    left = max_bids
    out = []
    n = 0
    for a in range(count):
        actor: dict[str, Any] = {"id": f"A{a}"}
        if draw(st.booleans()):
            actor["reliability"] = draw(st.sampled_from(PROBABILITIES))
        if draw(st.integers(0, 2)) == 0:
            capacity: dict[str, Any] = {}
            if draw(st.booleans()):
                capacity["budget"] = money(draw(cents(0, 8000)))
            if draw(st.booleans()):
                capacity["load"] = draw(st.sampled_from(CAPACITY_LOADS))
            actor["capacity"] = capacity
        bids = []
        for _ in range(draw(st.integers(0, left))):
            bids.append(draw(_bid(f"b{n}", challenges, cross)))
            n += 1
        left -= len(bids)
        actor["bids"] = bids
        out.append(actor)
    return out


@st.composite
def markets(draw: st.DrawFn, max_bids: int = 8, max_challenges: int = 3, max_components: int = 3,
            max_funders: int = 3, max_pledges: int = 2, max_actors: int = 3,
            cross_challenge: bool = True, whole_values: bool = True) -> dict[str, Any]:
    """A valid `swarm-market/1` document (a dict) with at most `max_bids` bids in all.

    `max_pledges` counts distinct pledges per funder; each may be repeated up
    to three times with the same terms, so a funder can hold more.
    `whole_values=False` draws values in tenths as well as whole ones.
    """
    challenges = draw(_challenges(max_challenges, max_components, whole_values))
    funders = draw(_funders(challenges, max_funders, max_pledges))
    actors = draw(_actors(challenges, max_actors, max_bids, cross_challenge))
    return {"format": "swarm-market/1", "name": "property", "challenges": challenges,
            "funders": funders, "actors": actors}
