"""Properties of the clearing, on markets hypothesis draws (tests/property/strategies.py).

Every generated market clears to an allocation the independent checker accepts;
CBC and HiGHS agree; tiny markets agree with a brute force written from the
spec alone; more money never lowers the value; a losing bid does not matter;
and the same market always gives the same allocation.
"""
from __future__ import annotations

import copy
import itertools
import math
from typing import Any

import highspy
import pulp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver import backends
from solver.clearing import ClearingError, ClearOptions, clear
from solver.loading import parse_market
from solver.market import Bid, Challenge, Component, Market, Pledge
from solver.verify import verify_allocation
from tests.property.strategies import markets, money
from tests.solver.helpers import without_solver

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
RELIABILITY_TOLERANCE = 1e-9


def solve(doc: dict[str, Any], backend: str = "cbc", explain: bool = False) -> tuple[Market, dict[str, Any]]:
    market = parse_market(doc)
    return market, clear(market, ClearOptions(backend=backend, explain=explain)).to_document()


def cents(text: str) -> int:
    whole, fraction = text.split(".")
    return int(whole) * 100 + int(fraction)


# -- a. every market clears to a valid, optimal allocation ------------------------------------

@settings(PROPERTY, max_examples=400)
@given(markets(max_bids=12, whole_values=False))
def test_every_market_clears_to_a_valid_allocation(doc):
    market, allocation = solve(doc, explain=True)
    assert verify_allocation(market, allocation) == []
    assert allocation["status"] == "optimal"


# -- b. the backends agree --------------------------------------------------------------------

@settings(PROPERTY, max_examples=800)
@given(markets(max_bids=12, whole_values=False))
def test_cbc_and_highs_agree(doc):
    market, cbc = solve(doc, "cbc")
    _, highs = solve(doc, "highs")
    assert verify_allocation(market, highs) == []
    assert math.isclose(cbc["value"], highs["value"], rel_tol=1e-9, abs_tol=1e-9)
    assert cbc["cost"] == highs["cost"]


# -- c. tiny markets agree with a brute force -------------------------------------------------

def brute_force(market: Market) -> tuple[float, int]:
    """The optimum (value, cents) by trying every set of bids, straight from the spec's rules.

    Structure first (rules 1-4, 6, 7) for every subset; then, best first by
    (-value, cost), money (rule 5) as a small LP over one continuous flow per
    pledge and admitted component, until one set can be paid for.
    """
    bids = market.bids
    candidates = []
    for size in range(len(bids) + 1):
        for chosen in itertools.combinations(bids, size):
            found = _structure(market, list(chosen))
            if found is not None:
                candidates.append(found)
    candidates.sort(key=lambda c: (-round(c[0], 6), c[1]))     # values in tenths add up with float noise
    payable: dict[tuple[tuple[str, int], ...], bool] = {}
    for value, cost, item_cost in candidates:
        key = tuple(sorted(item_cost.items()))
        if key not in payable:
            payable[key] = _money_feasible(market, item_cost)
        if payable[key]:
            return value, cost
    raise AssertionError("the empty set of bids is always valid and costs nothing")


def _structure(market: Market, chosen: list[Bid]) -> tuple[float, int, dict[str, int]] | None:
    """(value, cost, item cost per component) if `chosen` may be the accepted bids, else None."""
    components = {k.key: k for k in market.components}
    covered: dict[str, int] = {}
    item_cost: dict[str, int] = {}
    for bid in chosen:
        for item in bid.items:
            k = components[item.component]
            if k.max_unit_price is not None and item.price > item.quantity * k.max_unit_price:
                return None
            if k.min_reliability is not None and bid.reliability < k.min_reliability:
                return None
            covered[item.component] = covered.get(item.component, 0) + item.quantity
            item_cost[item.component] = item_cost.get(item.component, 0) + item.price
    funded = {key: covered.get(key, 0) >= k.quantity for key, k in components.items()}
    value: float = 0
    for challenge in market.challenges:
        completed = all(funded[k.key] for k in challenge.components if k.critical)
        for k in challenge.components:
            have = covered.get(k.key, 0)
            if 0 < have < k.quantity or (have and not completed):
                return None
            if funded[k.key] and not all(funded[f"{challenge.id}/{r}"] for r in k.requires):
                return None
        if not completed:
            continue
        value += challenge.value + sum(k.value for k in challenge.components if not k.critical and funded[k.key])
        if challenge.reliability is not None:
            product = 1.0
            for bid in chosen:
                if any(components[item.component].challenge_id == challenge.id for item in bid.items):
                    product *= bid.reliability
            if product < challenge.reliability * (1 - RELIABILITY_TOLERANCE):
                return None
    for actor in market.actors:
        won = [b for b in chosen if b.actor_id == actor.id]
        capacity = actor.capacity
        if capacity is not None and capacity.budget is not None and sum(b.price for b in won) > capacity.budget:
            return None
        if capacity is not None and capacity.load is not None and sum(b.load for b in won) > capacity.load + 1e-9:
            return None
        groups = [b.exclusive_group for b in won if b.exclusive_group is not None]
        if len(groups) != len(set(groups)):
            return None
    return value, sum(b.price for b in chosen), {k: c for k, c in item_cost.items() if c}


def _admits(pledge: Pledge, challenge: Challenge, component: Component) -> bool:
    """Rule 5's scope: no scope admits all; else any listed challenge, component or challenge tag."""
    scope = pledge.scope
    return scope is None or (challenge.id in scope.challenges or component.key in scope.components
                             or bool(set(scope.tags) & set(challenge.tags)))


def _money_feasible(market: Market, item_cost: dict[str, int]) -> bool:
    """Whether pledges can pay exactly `item_cost` (cents per component) under rule 5, pledge by pledge."""
    if not item_cost:
        return True
    challenges = {c.id: c for c in market.challenges}
    components = {k.key: k for k in market.components}
    prob = pulp.LpProblem("pay", pulp.LpMinimize)
    flow: dict[tuple[str, str], pulp.LpVariable] = {}
    for n, pledge in enumerate(market.pledges):
        for m, (key, cost) in enumerate(sorted(item_cost.items())):
            k = components[key]
            if _admits(pledge, challenges[k.challenge_id], k):
                upper = cost if pledge.max_share is None else pledge.max_share * cost
                flow[pledge.id, key] = prob.add_variable(f"f_{n}_{m}", lowBound=0, upBound=upper)
    for m, (key, cost) in enumerate(sorted(item_cost.items())):
        paying = [var for (_, k), var in flow.items() if k == key]
        if not paying:
            return False
        prob += pulp.lpSum(paying) == cost, f"paid_{m}"
    for n, pledge in enumerate(market.pledges):
        mine = [var for (p, _), var in flow.items() if p == pledge.id]
        if mine:
            prob += pulp.lpSum(mine) <= pledge.amount, f"amount_{n}"
    by_pledge = {p.id: p for p in market.pledges}
    for i, challenge in enumerate(market.challenges):
        into = [(by_pledge[p], var) for (p, key), var in flow.items() if components[key].challenge_id == challenge.id]
        base = [var for p, var in into if p.match is None]
        for n, pledge in enumerate(market.pledges):
            own = [var for p, var in into if p is pledge]
            if pledge.match is not None and own:
                prob += pulp.lpSum(own) <= pledge.match * pulp.lpSum(base), f"match_{n}_{i}"
    prob += pulp.lpSum([])
    prob.solve(pulp.HiGHS(msg=False, threads=backends.highs_threads()))  # the engine's: one scheduler per thread
    status = pulp.LpStatus[prob.status]
    assert status in ("Optimal", "Infeasible"), status
    return status == "Optimal"


@settings(PROPERTY, max_examples=600)
@given(markets(max_bids=9))
def test_tiny_markets_agree_with_brute_force(doc):
    market, allocation = solve(doc)
    value, cost = brute_force(market)
    assert math.isclose(allocation["value"], value, rel_tol=1e-9, abs_tol=1e-9), (allocation["value"], value)
    assert cents(allocation["cost"]) == cost, (allocation["cost"], money(cost))


# -- d. more money never lowers the value -----------------------------------------------------

@settings(PROPERTY, max_examples=300)
@given(markets(max_bids=10), st.data())
def test_more_money_never_lowers_the_value(doc, data):
    """Add an unscoped pledge, or raise one pledge's amount: the value cannot fall."""
    more = copy.deepcopy(doc)
    pledges = [p for f in more["funders"] for p in f["pledges"]]
    extra = data.draw(st.integers(1, 10000), label="extra cents")
    if pledges and data.draw(st.booleans(), label="raise a pledge"):
        pledge = data.draw(st.sampled_from(pledges), label="pledge raised")
        pledge["amount"] = money(cents(pledge["amount"]) + extra)
    else:
        more["funders"].append({"id": "F-extra", "pledges": [{"id": "p-extra", "amount": money(extra)}]})
    _, before = solve(doc)
    _, after = solve(more)
    assert after["value"] >= before["value"] - 1e-9


# -- e. a losing bid does not matter ----------------------------------------------------------

@settings(PROPERTY, max_examples=300)
@given(markets(max_bids=10), st.data())
def test_removing_a_losing_bid_changes_nothing(doc, data):
    _, allocation = solve(doc)
    won = {a["bid"] for a in allocation["awards"]}
    losing = [(i, j) for i, actor in enumerate(doc["actors"]) for j, bid in enumerate(actor["bids"])
              if bid["id"] not in won]
    if not losing:
        return
    i, j = data.draw(st.sampled_from(losing), label="losing bid")
    fewer = copy.deepcopy(doc)
    del fewer["actors"][i]["bids"][j]
    _, after = solve(fewer)
    assert math.isclose(after["value"], allocation["value"], rel_tol=1e-9, abs_tol=1e-9)
    assert after["cost"] == allocation["cost"]


# -- f. determinism ---------------------------------------------------------------------------

@settings(PROPERTY, max_examples=200)
@given(markets(max_bids=12), st.sampled_from(["cbc", "highs"]))
def test_the_same_market_gives_the_same_allocation(doc, backend):
    _, first = solve(doc, backend)
    _, second = solve(copy.deepcopy(doc), backend)
    assert without_solver(first) == without_solver(second)


# -- regressions found by the properties above ------------------------------------------------

def test_cbc_warm_start_survives_pays_reported_as_tiny_negatives():
    """CBC reported a pay of -3e-14 after phase 1; PuLP refused it as a phase-2 start value."""
    doc = {
        "format": "swarm-market/1",
        "challenges": [{"id": "C0", "value": 1, "components": [{"id": "k0"}, {"id": "k1"}, {"id": "k2"}]}],
        "funders": [
            {"id": "F0", "pledges": [{"id": "p0", "amount": "1.00"}, {"id": "p1", "amount": "1.00", "match": 1}]},
            {"id": "F1", "pledges": [{"id": "p2", "amount": "1.00", "max_share": 0.5}]}],
        "actors": [{"id": "A0", "bids": [{"id": "b0", "items": [
            {"component": "C0/k0", "price": "0.00"}, {"component": "C0/k1", "price": "1.00"},
            {"component": "C0/k2", "price": "1.00"}]}]}],
    }
    for backend in ("cbc", "highs"):
        market, allocation = solve(doc, backend)
        assert verify_allocation(market, allocation) == []
        assert (allocation["status"], allocation["value"], allocation["cost"]) == ("optimal", 1, "2.00"), \
            allocation["solver"]


@pytest.mark.parametrize("doc, cost", [
    ({"format": "swarm-market/1",
      "challenges": [{"id": "C1", "value": 1, "components": [{"id": "k0", "quantity": 2}]}],
      "funders": [{"id": "F0", "pledges": [{"id": "p0", "amount": "1.00"}]}],
      "actors": [{"id": "A0", "bids": [
          {"id": "b3", "items": [{"component": "C1/k0", "price": "2.00"}], "exclusive_group": "g1"},
          {"id": "b4", "items": [{"component": "C1/k0", "price": "0.01"}]},
          {"id": "b5", "items": [{"component": "C1/k0", "price": "0.02"}]},
          {"id": "b6", "items": [{"component": "C1/k0", "quantity": 1, "price": "0.00"}],
           "exclusive_group": "g1"}]}]},
     "0.01"),
    ({"format": "swarm-market/1",
      "challenges": [{"id": "C1", "value": 1, "components": [{"id": "k0"}]},
                     {"id": "C2", "value": 1, "components": [{"id": "k0", "quantity": 2}]}],
      "funders": [{"id": "F0", "pledges": [{"id": "p0", "amount": "4.00"}]}],
      "actors": [{"id": "A0", "bids": [
          {"id": "b0", "items": [{"component": "C2/k0", "quantity": 1, "price": "0.00"}]},
          {"id": "b2", "items": [{"component": "C2/k0", "price": "1.00"}]},
          {"id": "b3", "items": [{"component": "C1/k0", "price": "1.00"}]},
          {"id": "b4", "items": [{"component": "C2/k0", "price": "2.00"}]}]}]},
     "2.00"),
], ids=["exclusive-group", "two-challenges"])
def test_the_cheapest_set_of_the_best_value_wins(doc, cost, backend):
    """CBC 2.10's preprocessing fixed and strengthened rows wrongly on these models and called a
    costlier set optimal (0.02: b5 + b6; 3.00: b0 + b3 + b4); the engine now solves without it."""
    market, allocation = solve(doc, backend)
    assert brute_force(market) == (allocation["value"], cents(cost))
    assert (allocation["status"], allocation["cost"]) == ("optimal", cost)


_TINY = {"format": "swarm-market/1",
         "challenges": [{"id": "C", "value": 1, "components": [{"id": "k"}]}],
         "funders": [{"id": "F", "pledges": [{"id": "p", "amount": "1.00"}]}],
         "actors": [{"id": "A", "bids": [{"id": "b", "items": [{"component": "C/k", "price": "1.00"}]}]}]}


def test_highs_refusing_to_run_is_an_error_not_an_empty_allocation():
    """HiGHS will not run with the engine's thread count once other code on this thread started its
    scheduler with another; PuLP reports that like a limit hit before any solution, and the engine
    answered "feasible", nothing funded."""
    market = parse_market(_TINY)
    highspy.Highs.resetGlobalScheduler(True)
    try:
        other = pulp.LpProblem("other", pulp.LpMinimize)
        x = other.add_variable("x", lowBound=0, upBound=1)
        other += x >= 0.5, "c"
        other += x
        other.solve(pulp.HiGHS(msg=False, threads=backends.highs_threads() + 1))
        with pytest.raises(ClearingError, match="HiGHS did not run"):
            clear(market, ClearOptions(backend="highs", explain=False))
    finally:
        highspy.Highs.resetGlobalScheduler(True)
    assert clear(market, ClearOptions(backend="highs", explain=False)).value == 1


def test_cbc_explains_a_challenge_no_pledge_can_afford():
    """Asked whether C can be completed alone, CBC without preprocessing crashed writing the answer
    of that infeasible model; the engine asks again with preprocessing, which says infeasible."""
    doc = {
        "format": "swarm-market/1",
        "challenges": [{"id": "C", "value": 1, "components": [{"id": "k1", "quantity": 2}, {"id": "k2"}]}],
        "funders": [{"id": "F", "pledges": [{"id": "p", "amount": "18.00"}]}],
        "actors": [{"id": "A", "bids": [
            {"id": "b0", "items": [{"component": "C/k1", "price": "0.00"}, {"component": "C/k2", "price": "21.00"}]},
            {"id": "b1", "items": [{"component": "C/k1", "quantity": 1, "price": "0.00"},
                                   {"component": "C/k2", "price": "0.00"}]}]}],
    }
    for backend in ("cbc", "highs"):
        market, allocation = solve(doc, backend, explain=True)
        assert verify_allocation(market, allocation) == []
        assert (allocation["status"], allocation["value"]) == ("optimal", 0)
        (unfunded,) = allocation["unfunded"]
        assert "21.00" in " ".join(unfunded["reasons"]), unfunded


def test_rounding_keeps_every_max_share():
    """CBC's flows (6 digits: 39.999996, 24.999998, ...) scaled to the 1.00 cost put p1 a hair over its
    0.25 cap; the fallback rounding program, which ignored share caps, then gave p1 0.26."""
    doc = {
        "format": "swarm-market/1",
        "challenges": [{"id": "C0", "value": 10.1, "components": [{"id": "k0"}, {"id": "k1"}, {"id": "k2"}]}],
        "funders": [
            {"id": "F0", "pledges": [{"id": "p0", "amount": "1.00", "scope": {"challenges": ["C0"]}, "match": 1},
                                     {"id": "p1", "amount": "1.00", "max_share": 0.25}]},
            {"id": "F1", "pledges": [{"id": "p2", "amount": "1.00", "scope": {"challenges": ["C0"]}, "match": 0.5}]},
            {"id": "F2", "pledges": [{"id": "p4", "amount": "1.00", "max_share": 0.5}]}],
        "actors": [{"id": "A0", "bids": [
            {"id": "b0", "items": [{"component": "C0/k0", "price": "0.00"}]},
            {"id": "b1", "items": [{"component": "C0/k1", "price": "0.00"}]},
            {"id": "b2", "items": [{"component": "C0/k2", "price": "1.00"}]}]}],
    }
    for backend in ("cbc", "highs"):
        market, allocation = solve(doc, backend)
        assert verify_allocation(market, allocation) == []
        assert (allocation["value"], allocation["cost"]) == (10.1, "1.00")
        assert all(cents(f["amount"]) <= 25 for f in allocation["flows"] if f["pledge"] == "p1")
