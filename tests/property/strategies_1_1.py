"""Hypothesis strategies for `swarm-market/1.1` documents.

`markets_1_1()` draws challenges and actors with the version-1 strategy's own pieces (every version-1
feature), and funders of its own: always at least one (a market with no money says nothing about rule
8), with version-1 scopes, `max_share` and `match`, and every key of version 1.1: `min_spend` (sometimes
the whole amount), `max_challenge_share`, `conditions` naming one or two other funders (so chains
A -> B -> C and cycles A <-> B happen), scopes narrowed by `all_tags` / `exclude_tags` (also starting
from every component, and empty lists that change nothing); then fixed bids (some already delivered:
price 0, reliability 1), which sometimes make the market infeasible. A repeated pledge keeps its twin's
1.1 terms half the time, so equal conditional pledges exist. Draws go top-down, so a failure shrinks
towards fewer challenges, funders, terms and bids.
"""
from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.property.strategies import MATCHES, SHARES, TAGS, _actors, _challenges, _scope, cents, money

FORMAT = "swarm-market/1.1"
CHALLENGE_SHARES = (0.5, 0.75, 0.25, 1.0)
PARTS = (0.5, 0.25, 0.75, 1.0, 1.25)           # of the named funder's pledges: a condition's min


def _cents(text: str) -> int:
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
def _terms(draw: st.DrawFn, pledge: dict[str, Any], others: list[str], conditional: bool,
           scale: int) -> dict[str, Any]:
    """The 1.1 keys for one pledge (only scope narrowing and the challenge share when not `conditional`)."""
    terms: dict[str, Any] = {}
    if draw(st.integers(0, 3)) == 0:
        narrowed = draw(_narrowed(pledge.get("scope")))
        if narrowed is not None:
            terms["scope"] = narrowed
    if draw(st.integers(0, 3)) == 0:
        terms["max_challenge_share"] = draw(st.sampled_from(CHALLENGE_SHARES))
    if conditional and draw(st.integers(0, 2)) == 0:
        amount = _cents(pledge["amount"])
        terms["min_spend"] = money(draw(st.one_of(st.just(amount), st.integers(1, amount))))
    if conditional and others and draw(st.integers(0, 2)) == 0:
        named = draw(st.lists(st.sampled_from(others), min_size=1, max_size=2, unique=True))
        terms["conditions"] = [{"funder": f, "min": money(draw(st.one_of(cents(1, scale), st.just(1))))}
                               for f in named]
    return terms


@st.composite
def _funders_1_1(draw: st.DrawFn, challenges: list[dict[str, Any]], max_funders: int, max_pledges: int,
                 max_conditional: int, scale: int) -> list[dict[str, Any]]:
    """One to `max_funders` funders (a market with no money says nothing about rule 8), pledged as in
    version 1, each pledge then given its 1.1 terms; at most `max_conditional` pledges have `min_spend` or
    `conditions`. A repeated pledge keeps its twin's 1.1 terms half the time: equal conditional pledges."""
    ids = [f"F{f}" for f in range(draw(st.integers(1, max_funders)))]
    left = max_conditional
    out = []
    n = 0
    for funder in ids:
        others = [f for f in ids if f != funder]
        pledges = []
        for _ in range(draw(st.integers(1, max_pledges))):
            pledge: dict[str, Any] = {"amount": money(draw(cents(1, scale)))}
            scope = draw(_scope(challenges))
            if scope is not None:
                pledge["scope"] = scope
            if draw(st.integers(0, 5)) == 0:
                pledge["max_share"] = draw(st.sampled_from(SHARES))
            if draw(st.integers(0, 5)) == 0:
                pledge["match"] = draw(st.sampled_from(MATCHES))
            terms = draw(_terms(pledge, others, left > 0, scale))
            if "min_spend" in terms or "conditions" in terms:
                left -= 1
            pledge.update(terms)
            copies = draw(st.sampled_from((1, 1, 2, 3)))       # equal pledges: pools, where they may pool
            for copy in range(copies):
                if copy and draw(st.booleans()):
                    twin = {k: v for k, v in pledge.items() if k not in ("min_spend", "conditions")}
                else:
                    twin = pledge
                    if copy and ("min_spend" in twin or "conditions" in twin):
                        left -= 1
                pledges.append({"id": f"p{n}", **twin})
                n += 1
        out.append({"id": funder, "pledges": pledges})
    # Half the conditions ask for a part of all the named funder has: those are the ones that bind.
    total = {f["id"]: sum(_cents(p["amount"]) for p in f["pledges"]) for f in out}
    for f in out:
        for pledge in f["pledges"]:
            for condition in pledge.get("conditions", []):
                if draw(st.booleans()):
                    part = draw(st.sampled_from(PARTS))
                    condition["min"] = money(max(1, round(total[condition["funder"]] * part)))
    return out


@st.composite
def markets_1_1(draw: st.DrawFn, max_bids: int = 8, max_challenges: int = 3, max_components: int = 3,
                max_funders: int = 3, max_pledges: int = 2, max_actors: int = 3, whole_values: bool = True,
                max_conditional: int = 4, fixed: bool = True) -> dict[str, Any]:
    """A valid `swarm-market/1.1` document with at most `max_bids` bids and about `max_conditional`
    pledges with `min_spend` or `conditions` (each is a disjunction a brute force must enumerate; a copy
    of one may add one more)."""
    challenges = draw(_challenges(max_challenges, max_components, whole_values))
    for challenge in challenges:                    # mostly worth doing: then money decides
        if challenge["value"] == 0 and draw(st.integers(0, 3)):
            challenge["value"] = draw(st.integers(1, 100))
    actors = draw(_actors(challenges, max_actors, max_bids, True))
    # Money on the scale of the bids (all of them at most): tight enough that who may pay matters.
    scale = max(200, sum(_cents(i["price"]) for a in actors for b in a["bids"] for i in b["items"]) // 3)
    funders = draw(_funders_1_1(challenges, max_funders, max_pledges, max_conditional, scale))
    bids = [b for a in actors for b in a["bids"]]
    if fixed and bids and draw(st.integers(0, 3)) == 0:    # most markets have no fixed bid
        # One or two fixed bids (more are almost never feasible together), some already delivered.
        for bid in draw(st.lists(st.sampled_from(bids), min_size=1, max_size=2, unique_by=id)):
            bid["fixed"] = True
            if draw(st.booleans()):                 # delivered and paid: priced 0, reliability 1
                for item in bid["items"]:
                    item["price"] = "0.00"
                bid["reliability"] = 1.0
    if bids and draw(st.integers(0, 9)) == 0:
        draw(st.sampled_from(bids)).setdefault("fixed", False)     # the default, said
    return {"format": FORMAT, "name": "property", "challenges": challenges, "funders": funders, "actors": actors}
