"""Hypothesis strategies for `swarm-market/1.1` documents.

`markets_1_1()` draws a version-1 market with `strategies.markets()` (every version-1 feature) and then
adds, top-down so that a failure shrinks towards fewer of them, every key of version 1.1: `min_spend`
(sometimes the whole amount), `max_challenge_share`, `conditions` naming one or two other funders (so
chains A -> B -> C and cycles A <-> B happen), scopes narrowed by `all_tags` / `exclude_tags` (also
starting from every component, and empty lists that change nothing), and fixed bids (some already
delivered: price 0, reliability 1), which sometimes make the market infeasible. A pledge repeated by the
version-1 strategy keeps the same 1.1 terms half the time, so equal conditional pledges exist.
"""
from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.property.strategies import TAGS, cents, markets, money

FORMAT = "swarm-market/1.1"
CHALLENGE_SHARES = (0.5, 0.75, 0.25, 1.0)


def _amount(text: str) -> int:
    whole, fraction = text.split(".")
    return int(whole) * 100 + int(fraction)


@st.composite
def _narrowed(draw: st.DrawFn, scope: dict[str, Any] | None) -> dict[str, Any] | None:
    """The scope with `all_tags` and/or `exclude_tags` added (an unscoped pledge gets a scope of only those)."""
    out = dict(scope or {})
    kinds = draw(st.lists(st.sampled_from(("all_tags", "exclude_tags")), min_size=1, max_size=2, unique=True))
    for kind in kinds:
        out[kind] = draw(st.lists(st.sampled_from(TAGS), max_size=2, unique=True))   # [] changes nothing
    if scope is None and not any(out.values()):
        return scope                            # {"all_tags": []} would admit nothing: not what was drawn
    return out


@st.composite
def _terms(draw: st.DrawFn, pledge: dict[str, Any], others: list[str], conditional: bool) -> dict[str, Any]:
    """The 1.1 keys for one pledge (only scope narrowing and the challenge share when not `conditional`)."""
    terms: dict[str, Any] = {}
    if draw(st.integers(0, 3)) == 0:
        narrowed = draw(_narrowed(pledge.get("scope")))
        if narrowed is not None:
            terms["scope"] = narrowed
    if draw(st.integers(0, 3)) == 0:
        terms["max_challenge_share"] = draw(st.sampled_from(CHALLENGE_SHARES))
    if conditional and draw(st.integers(0, 3)) == 0:
        amount = _amount(pledge["amount"])
        terms["min_spend"] = money(draw(st.one_of(st.just(amount), st.integers(1, amount))))
    if conditional and others and draw(st.integers(0, 2)) == 0:
        named = draw(st.lists(st.sampled_from(others), min_size=1, max_size=2, unique=True))
        terms["conditions"] = [{"funder": f, "min": money(draw(st.one_of(cents(1, 3000), st.just(1))))}
                               for f in named]
    return terms


@st.composite
def markets_1_1(draw: st.DrawFn, max_bids: int = 8, max_challenges: int = 3, max_components: int = 3,
                max_funders: int = 3, max_pledges: int = 2, max_actors: int = 3, whole_values: bool = True,
                max_conditional: int = 4, fixed: bool = True) -> dict[str, Any]:
    """A valid `swarm-market/1.1` document with at most `max_bids` bids and at most `max_conditional`
    pledges with `min_spend` or `conditions` (each is a disjunction a brute force must enumerate)."""
    doc = draw(markets(max_bids=max_bids, max_challenges=max_challenges, max_components=max_components,
                       max_funders=max_funders, max_pledges=max_pledges, max_actors=max_actors,
                       whole_values=whole_values))
    doc["format"] = FORMAT
    funders = [f["id"] for f in doc["funders"]]
    left = max_conditional
    for funder in doc["funders"]:
        others = [f for f in funders if f != funder["id"]]
        previous: tuple[dict[str, Any], dict[str, Any]] | None = None     # (version-1 terms, 1.1 terms)
        for pledge in funder["pledges"]:
            plain = {k: v for k, v in pledge.items() if k != "id"}
            if previous is not None and previous[0] == plain and draw(st.booleans()):
                terms = previous[1]             # a copy keeps its twin's 1.1 terms: equal conditional pledges
                if left == 0:
                    terms = {k: v for k, v in terms.items() if k not in ("min_spend", "conditions")}
            else:
                terms = draw(_terms(pledge, others, left > 0))
            if "min_spend" in terms or "conditions" in terms:
                left -= 1
            previous = (plain, terms)
            pledge.update(terms)
    if fixed and draw(st.booleans()):          # half the markets have no fixed bid: most stay feasible
        for actor in doc["actors"]:
            for bid in actor["bids"]:
                if draw(st.integers(0, 4)) == 0:
                    bid["fixed"] = True
                    if draw(st.integers(0, 2)) == 0:     # delivered and paid: priced 0, reliability 1
                        for item in bid["items"]:
                            item["price"] = "0.00"
                        bid["reliability"] = 1.0
                elif draw(st.integers(0, 9)) == 0:
                    bid["fixed"] = False
    return doc
