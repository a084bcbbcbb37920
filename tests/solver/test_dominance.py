"""Dominated-bid removal (solver/dominance.py): each condition on a hand-made market, each case that must
not count as dominance, and a property: the optimum (value, then cost) is the same with and without it.
"""
from __future__ import annotations

import copy
import functools
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import solver.clearing
from solver.clearing import ClearOptions, clear
from solver.eligibility import presolve
from solver.loading import parse_market
from solver.pools import make_pools
from solver.verify import verify_allocation
from tests.property.strategies import PROBABILITIES, markets, money
from tests.solver.helpers import actor, bid, market

WELL = [{"id": "W", "value": 10, "components": [{"id": "k"}, {"id": "t", "quantity": 2}]}]
MONEY = [{"id": "p", "amount": "1000"}]


def dominated(doc):
    doc = copy.deepcopy(doc)
    doc["actors"].append(actor("T", bid("t", ("W/t", "1"))))     # W/t coverable: W stays possible
    parsed = parse_market(doc)
    pre = presolve(parsed, make_pools(parsed))
    live = {b.id for b in pre.live_bids}
    assert not live & set(pre.dominated)
    return pre.dominated


def test_same_actor_cheaper_and_surer_dominates():
    doc = market(WELL, MONEY, [actor("A", bid("b1", ("W/k", "10"), ("W/t", "5")),
                                    bid("b2", ("W/k", "9"), ("W/t", "5"), reliability=0.99),
                                    reliability=0.9, capacity={"budget": "30"})])
    out = dominated(doc)
    assert list(out) == ["b1"]
    assert "bid b2 offers the same items" in out["b1"]


def test_identical_bids_keep_the_first_in_market_order():
    doc = market(WELL, MONEY, [actor("A", bid("b1", ("W/k", "10"))), actor("B", bid("b2", ("W/k", "10")))])
    out = dominated(doc)
    assert list(out) == ["b2"] and "bid b1 offers the same items with identical terms" in out["b2"]


def test_free_actor_dominates_another_actors_grouped_bid():
    doc = market(WELL, MONEY, [actor("A", bid("b1", ("W/k", "10"), exclusive_group="g"), capacity={"load": 1}),
                               actor("B", bid("b2", ("W/k", "10")))])
    assert list(dominated(doc)) == ["b1"]


def test_another_actor_with_capacity_does_not_dominate():
    for capacity in ({"budget": "100"}, {"load": 3}):
        doc = market(WELL, MONEY, [actor("A", bid("b1", ("W/k", "10"))),
                                   actor("B", bid("b2", ("W/k", "5")), capacity=capacity)])
        assert dominated(doc) == {}


def test_a_grouped_bid_dominates_only_inside_its_own_group():
    grouped = market(WELL, MONEY, [actor("A", bid("b1", ("W/k", "10")), bid("b2", ("W/k", "5"), exclusive_group="g"))])
    assert dominated(grouped) == {}
    same = market(WELL, MONEY, [actor("A", bid("b1", ("W/k", "10"), exclusive_group="g"),
                                      bid("b2", ("W/k", "5"), exclusive_group="g"))])
    assert list(dominated(same)) == ["b1"]
    # b2 in no group may stand in for b1 of a group
    loose = market(WELL, MONEY, [actor("A", bid("b1", ("W/k", "10"), exclusive_group="g"), bid("b2", ("W/k", "5")))])
    assert list(dominated(loose)) == ["b1"]


def test_a_different_quantity_is_not_the_same_items():
    doc = market(WELL, MONEY, [actor("A", bid("b1", ("W/t", "10", 2)), bid("b2", ("W/t", "5", 1)))])
    assert dominated(doc) == {}


def test_cheaper_in_total_but_dearer_on_one_item_does_not_dominate():
    doc = market(WELL, MONEY, [actor("A", bid("b1", ("W/k", "10"), ("W/t", "10")),
                                    bid("b2", ("W/k", "11"), ("W/t", "1")))])
    assert dominated(doc) == {}


def test_lower_reliability_or_more_load_does_not_dominate():
    doc = market(WELL, MONEY, [actor("A", bid("b1", ("W/k", "10"), reliability=0.95),
                                    bid("b2", ("W/k", "5"), reliability=0.9))])
    assert dominated(doc) == {}
    doc = market(WELL, MONEY, [actor("A", bid("b1", ("W/k", "10"), load=1), bid("b2", ("W/k", "5"), load=2))])
    assert dominated(doc) == {}


def test_partial_quantities_keep_as_many_bids_as_a_cover_needs():
    """W/t needs 2 units: bids of 1 unit are needed in pairs, so only a third, dearer one goes."""
    k = actor("K", bid("k", ("W/k", "1")))
    two = market(WELL, MONEY, [actor("A", bid("b1", ("W/t", "5", 1)), bid("b2", ("W/t", "5", 1))), k])
    assert dominated(two) == {}
    three = market(WELL, MONEY, [actor("A", bid("b1", ("W/t", "6", 1)), bid("b2", ("W/t", "5", 1)),
                                      bid("b3", ("W/t", "5", 1))), k])
    out = dominated(three)
    assert list(out) == ["b1"] and "bids b2, b3 each offer" in out["b1"]


def test_no_dominance_where_matching_money_may_flow():
    """A dearer or a redundant bid can unlock matched money elsewhere in its challenge."""
    challenges = [{"id": "W", "value": 10, "components": [{"id": "k"}, {"id": "t"}]}]
    pledges = [{"id": "n", "amount": "10", "scope": {"components": ["W/k"]}},
               {"id": "m", "amount": "10", "match": 1, "scope": {"components": ["W/t"]}}]
    doc = market(challenges, pledges, [actor("A", bid("b1", ("W/k", "10")), bid("b2", ("W/k", "5")),
                                             bid("c", ("W/t", "10")))])
    assert dominated(doc) == {}
    allocation = clear(parse_market(doc), ClearOptions(explain=False)).to_document()
    assert allocation["value"] == 10 and sorted(a["bid"] for a in allocation["awards"]) == ["b1", "c"]


def test_unfunded_reasons_and_clearing_ignore_dominated_bids():
    doc = market(WELL, [{"id": "p", "amount": "4"}],
                 [actor("A", bid("b1", ("W/k", "10"), ("W/t", "1")), bid("b2", ("W/k", "5"), ("W/t", "1")))])
    parsed = parse_market(doc)
    allocation = clear(parsed).to_document()
    assert verify_allocation(parsed, allocation) == []
    assert allocation["value"] == 0
    [unfunded] = allocation["unfunded"]
    assert "not enough money in scope: it costs at least 6.00" in unfunded["reasons"][0]


# -- the optimum does not change ---------------------------------------------------------------

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=120)


@st.composite
def markets_with_rivals(draw):
    """Markets where some bids get look-alikes: same items, prices, reliability, load, actor or group
    nudged either way, so that dominance (and near misses) occur often."""
    doc = draw(markets(max_bids=6))
    bids = [(a, b) for a in doc["actors"] for b in a["bids"]]
    n = 0
    for _owner, original in draw(st.lists(st.sampled_from(bids), max_size=4)) if bids else []:
        rival = copy.deepcopy(original)
        rival["id"] = f"r{n}"
        n += 1
        for item in rival["items"]:
            whole, fraction = item["price"].split(".")
            item["price"] = money(max(int(whole) * 100 + int(fraction) + draw(st.sampled_from((0, 0, -100, 100))), 0))
        if draw(st.booleans()):
            rival["reliability"] = draw(st.sampled_from(PROBABILITIES))
        if draw(st.integers(0, 3)) == 0:
            rival["load"] = draw(st.sampled_from((0, 1, 2)))
        if draw(st.integers(0, 3)) == 0:
            rival.pop("exclusive_group", None)
        home = draw(st.sampled_from(doc["actors"] + [None]))
        if home is None:
            home = {"id": f"R{n}", "bids": []}
            if draw(st.booleans()):
                home["capacity"] = {"budget": money(draw(st.integers(0, 8000)))}
            doc["actors"].append(home)
        home["bids"].append(rival)
    return doc


@PROPERTY
@given(markets_with_rivals())
def test_the_optimum_is_the_same_without_dominance(doc):
    parsed = parse_market(doc)
    with_ = clear(parsed, ClearOptions(explain=False)).to_document()
    original = solver.clearing.presolve
    solver.clearing.presolve = functools.partial(original, remove_dominated=False)
    try:
        without = clear(parsed, ClearOptions(explain=False)).to_document()
    finally:
        solver.clearing.presolve = original
    assert verify_allocation(parsed, with_) == []
    assert math.isclose(with_["value"], without["value"], rel_tol=1e-9, abs_tol=1e-9)
    assert with_["cost"] == without["cost"]


def test_a_dominated_bid_is_told_which_awarded_bid_was_as_good():
    from market.explain import bid_outcome
    from market.sealing import ANALYST
    doc = market([{"id": "W", "value": 10, "components": [{"id": "k"}]}], MONEY,
                 [actor("A", bid("b1", ("W/k", "10"))), actor("B", bid("b2", ("W/k", "10")), reliability=0.9),
                  actor("C", bid("b3", ("W/k", "12")))])
    parsed = parse_market(doc)
    pre = presolve(parsed, make_pools(parsed))
    assert set(pre.dominated) == {"b2", "b3"}
    allocation = clear(parsed).to_document()
    assert [a["bid"] for a in allocation["awards"]] == ["b1"]
    for loser in ("b2", "b3"):
        lost = bid_outcome(doc, allocation, loser, ANALYST)
        assert not lost.won
        assert any('the awarded bid "b1" offers the same items, no dearer on any of them' in r for r in lost.reasons)
