"""Properties of the clearing of version-1.1 markets (tests/property/strategies_1_1.py).

Every generated 1.1 market clears to an allocation the checker accepts and that keeps rules 8 and 9 on
its whole-cent flows; CBC and HiGHS agree; tiny markets agree with a brute force written from the spec
alone (tests/solver/brute_1_1.py), including which markets are infeasible; a condition added never
raises the value; fixing a bid the optimum accepts changes nothing; and a version-1 market relabelled
1.1 clears to the same allocation; the same 1.1 market always clears to the same allocation. The brute force itself is first checked on hand-computed markets.
"""
from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from solver.clearing import ClearOptions, clear
from solver.loading import parse_market
from solver.verify import verify_allocation
from tests.property.strategies import markets, money
from tests.property.strategies_1_1 import FORMAT, markets_1_1
from tests.solver.brute_1_1 import optimum, rule_problems, to_cents
from tests.solver.helpers import without_solver

# Deterministic and database-free, as the other fuzz tests: CI runs the same examples every time.
PROPERTY = settings(deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def solve(doc: dict[str, Any], backend: str = "cbc", explain: bool = False) -> dict[str, Any]:
    return clear(parse_market(doc), ClearOptions(backend=backend, explain=explain)).to_document()


def outcome(allocation: dict[str, Any]) -> tuple[str, float, int]:
    return allocation["status"], allocation["value"], to_cents(allocation["cost"])


def valid(doc: dict[str, Any], allocation: dict[str, Any]) -> None:
    """The checker's verdict and this module's own check of rules 8 and 9 (independent of the checker)."""
    assert verify_allocation(parse_market(doc), allocation) == []
    assert rule_problems(doc, allocation) == []
    assert allocation["status"] in ("optimal", "infeasible"), allocation["solver"]


# -- the brute force, on markets computed by hand ---------------------------------------------------------

def one(challenge: str, value: float, tags: list[str] | None = None) -> dict[str, Any]:
    """A challenge of one critical component k."""
    return {"id": challenge, "value": value, "tags": tags or [], "components": [{"id": "k"}]}


def bids(*spec: tuple[str, str, str]) -> list[dict[str, Any]]:
    """One actor A with one single-item bid per (bid id, component, price)."""
    return [{"id": "A", "bids": [{"id": b, "items": [{"component": k, "price": p}]} for b, k, p in spec]}]


def market(challenges: list[dict[str, Any]], funders: dict[str, list[dict[str, Any]]],
           actors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format": FORMAT, "name": "hand", "challenges": challenges,
            "funders": [{"id": f, "pledges": pledges} for f, pledges in funders.items()], "actors": actors}


HAND = {
    # The 50.00 cover leaves G (at most half of each challenge) 25.00 < F's condition of 30.00, so F
    # cannot pay and G alone cannot cover: the 80.00 cover it is (G 40.00, F 40.00).
    "condition-blocks-the-cheapest-cover": (market(
        [one("X", 10)],
        {"F": [{"id": "f", "amount": "45.00", "conditions": [{"funder": "G", "min": "30.00"}]}],
         "G": [{"id": "g", "amount": "100.00", "max_challenge_share": 0.5}]},
        bids(("cheap", "X/k", "50.00"), ("dear", "X/k", "80.00"))), (10, 8000)),
    # A needs B >= 10, B needs C >= 10, C has 5: nobody pays, and 90.00 is not covered.
    "condition-chain-broken": (market(
        [one("X", 5)],
        {"A": [{"id": "a", "amount": "50.00", "conditions": [{"funder": "B", "min": "10.00"}]}],
         "B": [{"id": "b", "amount": "30.00", "conditions": [{"funder": "C", "min": "10.00"}]}],
         "C": [{"id": "c", "amount": "5.00"}]},
        bids(("x", "X/k", "85.00"))), (0, 0)),
    # The same chain with C at 10.00: 10 + 30 + 50 = 90 covers 85.
    "condition-chain-met": (market(
        [one("X", 5)],
        {"A": [{"id": "a", "amount": "50.00", "conditions": [{"funder": "B", "min": "10.00"}]}],
         "B": [{"id": "b", "amount": "30.00", "conditions": [{"funder": "C", "min": "10.00"}]}],
         "C": [{"id": "c", "amount": "10.00"}]},
        bids(("x", "X/k", "85.00"))), (5, 8500)),
    # G must pay 50.00 into X, more than any one bid there costs but less than the two together: F may pay.
    "condition-above-every-single-bid": (market(
        [{"id": "X", "value": 1, "components": [{"id": "k1"}, {"id": "k2"}]}],
        {"F": [{"id": "f", "amount": "100.00", "conditions": [{"funder": "G", "min": "50.00"}]}],
         "G": [{"id": "g", "amount": "55.00"}]},
        bids(("x1", "X/k1", "30.00"), ("x2", "X/k2", "30.00"))), (1, 6000)),
    # Two funders with the same condition (G >= 10.00 in the challenge): G's 15.00 opens one challenge
    # only, so Y (worth more) is done with G 10 + one of them, and X is not.
    "same-condition-two-funders": (market(
        [one("X", 1), one("Y", 2)],
        {"G": [{"id": "g", "amount": "15.00"}],
         "F1": [{"id": "f1", "amount": "25.00", "conditions": [{"funder": "G", "min": "10.00"}]}],
         "F2": [{"id": "f2", "amount": "25.00", "conditions": [{"funder": "G", "min": "10.00"}]}]},
        bids(("x", "X/k", "30.00"), ("y", "Y/k", "20.00"))), (2, 2000)),
    # The same with G capped at 40% of a challenge: 12.00 of X's 30.00 meets the condition, 8.00 of Y's
    # 20.00 does not, so X is done and Y is not.
    "same-condition-and-a-challenge-share": (market(
        [one("X", 1), one("Y", 2)],
        {"G": [{"id": "g", "amount": "20.00", "max_challenge_share": 0.4}],
         "F1": [{"id": "f1", "amount": "25.00", "conditions": [{"funder": "G", "min": "10.00"}]}],
         "F2": [{"id": "f2", "amount": "25.00", "conditions": [{"funder": "G", "min": "10.00"}]}]},
        bids(("x", "X/k", "30.00"), ("y", "Y/k", "20.00"))), (1, 3000)),
    # Each pays only if the other pays 10.00: together they cover 30.00.
    "conditions-in-a-cycle": (market(
        [one("X", 1)],
        {"A": [{"id": "a", "amount": "20.00", "conditions": [{"funder": "B", "min": "10.00"}]}],
         "B": [{"id": "b", "amount": "20.00", "conditions": [{"funder": "A", "min": "10.00"}]}]},
        bids(("x", "X/k", "30.00"))), (1, 3000)),
    # p will not engage for less than 60.00 and everything costs 50.00: p sits out, q pays Y alone.
    "min-spend-sits-out": (market(
        [one("X", 1), one("Y", 1)],
        {"P": [{"id": "p", "amount": "100.00", "min_spend": "60.00"}], "Q": [{"id": "q", "amount": "20.00"}]},
        bids(("x", "X/k", "30.00"), ("y", "Y/k", "20.00"))), (1, 2000)),
    # F pays at most 75% of X: 75.00 + G's 25.00 covers 100.00 (G at 24.99 would not).
    "challenge-share-forces-co-funding": (market(
        [one("X", 1)],
        {"F": [{"id": "f", "amount": "100.00", "max_challenge_share": 0.75}],
         "G": [{"id": "g", "amount": "25.00"}]},
        bids(("x", "X/k", "100.00"))), (1, 10000)),
    "challenge-share-short-by-a-cent": (market(
        [one("X", 1)],
        {"F": [{"id": "f", "amount": "100.00", "max_challenge_share": 0.75}],
         "G": [{"id": "g", "amount": "24.99"}]},
        bids(("x", "X/k", "100.00"))), (0, 0)),
    # "Kenya and water" admits Y only; "Kenya but never water" admits X only.
    "all-tags-and-exclude-tags": (market(
        [one("X", 1, ["region:ke"]), one("Y", 2, ["region:ke", "water"]), one("Z", 4, ["water"])],
        {"F": [{"id": "f", "amount": "15.00", "scope": {"all_tags": ["region:ke", "water"]}},
               {"id": "g", "amount": "15.00", "scope": {"tags": ["region:ke"], "exclude_tags": ["water"]}}]},
        bids(("x", "X/k", "10.00"), ("y", "Y/k", "10.00"), ("z", "Z/k", "10.00"))), (3, 2000)),
    # A fixed bid on a challenge of no value is still accepted, and paid.
    "fixed-bid-of-no-value": (market(
        [one("X", 0)], {"F": [{"id": "f", "amount": "60.00"}]},
        [{"id": "A", "bids": [{"id": "x", "fixed": True, "items": [{"component": "X/k", "price": "50.00"}]}]}]),
        (0, 5000)),
    # Too little money in scope for the fixed bid: infeasible.
    "fixed-bid-unaffordable": (market(
        [one("X", 1)], {"F": [{"id": "f", "amount": "40.00"}]},
        [{"id": "A", "bids": [{"id": "x", "fixed": True, "items": [{"component": "X/k", "price": "50.00"}]}]}]),
        None),
    # A fixed bid over the reserve price is not eligible: infeasible, however much money there is.
    "fixed-bid-over-the-reserve": (market(
        [{"id": "X", "value": 1, "components": [{"id": "k", "max_unit_price": "10.00"}]}],
        {"F": [{"id": "f", "amount": "100.00"}]},
        [{"id": "A", "bids": [{"id": "x", "fixed": True, "items": [{"component": "X/k", "price": "20.00"}]}]}]),
        None),
}


@pytest.mark.parametrize("name", HAND)
def test_brute_force_on_hand_computed_markets(name):
    doc, expected = HAND[name]
    found = optimum(doc)
    assert (None if found is None else (found.value, found.cost)) == expected, found


@pytest.mark.parametrize("name", HAND)
def test_engine_on_hand_computed_markets(name, backend):
    doc, expected = HAND[name]
    allocation = solve(doc, backend, explain=True)
    valid(doc, allocation)
    if expected is None:
        assert allocation["status"] == "infeasible"
    else:
        assert outcome(allocation) == ("optimal", *expected)


# -- a. every 1.1 market clears to a valid allocation -----------------------------------------------------

@settings(PROPERTY, max_examples=120)
@given(markets_1_1(max_bids=10, whole_values=False), st.sampled_from(["cbc", "highs"]))
def test_every_1_1_market_clears_to_a_valid_allocation(doc, backend):
    valid(doc, solve(doc, backend, explain=True))


# -- b. the backends agree --------------------------------------------------------------------------------

@settings(PROPERTY, max_examples=100)
@given(markets_1_1(max_bids=10, whole_values=False))
def test_cbc_and_highs_agree_on_1_1_markets(doc):
    cbc, highs = solve(doc, "cbc"), solve(doc, "highs")
    assert cbc["status"] == highs["status"]
    assert math.isclose(cbc["value"], highs["value"], rel_tol=1e-9, abs_tol=1e-9)
    assert cbc["cost"] == highs["cost"]


# -- c. tiny 1.1 markets agree with the brute force -------------------------------------------------------

@settings(PROPERTY, max_examples=300)
@given(markets_1_1(max_bids=8, max_challenges=2), st.sampled_from(["cbc", "highs"]))
def test_tiny_1_1_markets_agree_with_brute_force(doc, backend):
    allocation = solve(doc, backend)
    valid(doc, allocation)
    best = optimum(doc)
    if best is None:
        assert allocation["status"] == "infeasible", outcome(allocation)
        return
    # Steer towards markets where rule 8's choices are many (in tiny random markets they seldom decide the
    # optimum; steered, about one in five of these examples has an optimum that min_spend, conditions or
    # challenge shares change).
    target(float(best.lps), label="brute-force LPs")
    assert allocation["status"] == "optimal", (allocation["status"], best)
    assert math.isclose(allocation["value"], best.value, rel_tol=1e-9, abs_tol=1e-9), (outcome(allocation), best)
    assert to_cents(allocation["cost"]) == best.cost, (outcome(allocation), best)


# -- d. a condition never raises the value ----------------------------------------------------------------

def no_better(before: dict[str, Any], after: dict[str, Any]) -> None:
    """`after` cleared a market with fewer allowed outcomes: never better by (value, then least cost)."""
    if before["status"] == "infeasible":
        assert after["status"] == "infeasible"
        return
    if after["status"] == "infeasible":
        return
    assert after["value"] <= before["value"] + 1e-9
    if math.isclose(after["value"], before["value"], rel_tol=1e-9, abs_tol=1e-9):
        assert to_cents(after["cost"]) >= to_cents(before["cost"])


@settings(PROPERTY, max_examples=80)
@given(markets_1_1(max_bids=8), st.data())
def test_adding_a_condition_never_raises_the_value(doc, data):
    """A new condition on another funder, or a higher min on one already named, only takes outcomes away."""
    funders = [f["id"] for f in doc["funders"]]
    if len(funders) < 2:
        return
    more = copy.deepcopy(doc)
    pledge, funder = data.draw(st.sampled_from([(p, f["id"]) for f in more["funders"] for p in f["pledges"]]),
                               label="pledge")
    other = data.draw(st.sampled_from([f for f in funders if f != funder]), label="named funder")
    low = data.draw(st.integers(1, 3000), label="min cents")
    conditions = pledge.setdefault("conditions", [])
    named = [c for c in conditions if c["funder"] == other]
    if named:
        named[0]["min"] = money(to_cents(named[0]["min"]) + low)
    else:
        conditions.append({"funder": other, "min": money(low)})
    no_better(solve(doc), solve(more))


# -- e. fixing a bid ----------------------------------------------------------------------------------------

@settings(PROPERTY, max_examples=80)
@given(markets_1_1(max_bids=8), st.data())
def test_fixing_a_bid(doc, data):
    """Fixing a bid the optimum accepts leaves value and cost as they were; fixing one it rejects only
    takes outcomes away."""
    before = solve(doc)
    free = [b for a in doc["actors"] for b in a["bids"] if not b.get("fixed")]
    if before["status"] != "optimal" or not free:
        return
    bid_id = data.draw(st.sampled_from([b["id"] for b in free]), label="bid fixed")
    more = copy.deepcopy(doc)
    for actor in more["actors"]:
        for bid in actor["bids"]:
            if bid["id"] == bid_id:
                bid["fixed"] = True
    after = solve(more)
    if bid_id in {a["bid"] for a in before["awards"]}:
        assert outcome(after) == outcome(before)
    else:
        no_better(before, after)


# -- f. determinism ---------------------------------------------------------------------------------------

@settings(PROPERTY, max_examples=40)
@given(markets_1_1(max_bids=10), st.sampled_from(["cbc", "highs"]))
def test_the_same_1_1_market_gives_the_same_allocation(doc, backend):
    assert without_solver(solve(doc, backend, explain=True)) == without_solver(solve(copy.deepcopy(doc), backend,
                                                                                      explain=True))


# -- g. version 1 relabelled ------------------------------------------------------------------------------

@settings(PROPERTY, max_examples=60)
@given(markets(max_bids=10, whole_values=False), st.sampled_from(["cbc", "highs"]))
def test_a_version_1_market_relabelled_1_1_clears_the_same(doc, backend):
    relabelled = {**doc, "format": FORMAT}
    assert without_solver(solve(relabelled, backend)) == without_solver(solve(doc, backend))
