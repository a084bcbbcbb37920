"""Dominance (solver/dominance.py) under version 1.1: each limit that can make a dominated bid necessary
keeps it, and a fixed bid is never removed. Each market is one where the version-1 removal loses the
optimum (checked end to end in test_clearing_1_1_aux.py)."""
from __future__ import annotations

from solver.dominance import dominated_bids
from solver.eligibility import presolve
from solver.pools import make_pools
from tests.solver.helpers import actor, bid, market
from tests.solver.helpers_1_1 import upgraded

ONE = [{"id": "W", "value": 10, "components": [{"id": "k"}]}]
TWO = [{"id": "W", "value": 10, "components": [{"id": "k"}, {"id": "m"}]}]


def dominated(m):
    """What dominance.py removes of the bids presolve leaves live (whether presolve asks it or not)."""
    pools = make_pools(m)
    pre = presolve(m, pools, remove_dominated=False)
    return set(dominated_bids(m, pools, pre.live_bids, pre.admits))


def test_version_1_removes_the_dearer_bid():
    doc = market(ONE, [{"id": "p", "amount": "100"}], [actor("A", bid("cheap", ("W/k", "50")),
                                                             bid("dear", ("W/k", "100")))])
    assert dominated(upgraded(doc)) == {"dear"}


def test_min_spend_keeps_the_dearer_bid():
    """p pays nothing or at least 100: only the dear bid (100) lets it pay for W at all."""
    doc = market(ONE, [{"id": "p", "amount": "100"}], [actor("A", bid("cheap", ("W/k", "50")),
                                                             bid("dear", ("W/k", "100")))])
    assert dominated(upgraded(doc, {"p": {"min_spend": 10000}})) == set()


def test_a_condition_keeps_the_dearer_bid():
    """q pays W/m only if F0 pays at least 100 into W, and F0's pledge can pay W/k only: at 10 on W/k,
    F0 pays 10, q cannot pay, and W is not done."""
    doc = market(TWO, [{"id": "f", "amount": "100", "scope": {"components": ["W/k"]}},
                       {"id": "q", "amount": "1000", "scope": {"components": ["W/m"]}}],
                 [actor("A", bid("cheap", ("W/k", "10")), bid("dear", ("W/k", "100"))),
                  actor("B", bid("m", ("W/m", "500")))])
    assert dominated(upgraded(doc)) == {"dear"}
    assert dominated(upgraded(doc, {"q": {"conditions": [("F0", 10000)]}})) == set()


def test_a_challenge_share_keeps_the_dearer_bid():
    """s pays at most half of W's cost and is the only money for W/m (100): W's cost must reach 200."""
    doc = market(TWO, [{"id": "s", "amount": "1000", "scope": {"challenges": ["W"]}},
                       {"id": "r", "amount": "1000", "scope": {"components": ["W/k"]}}],
                 [actor("A", bid("cheap", ("W/k", "0")), bid("dear", ("W/k", "100"))),
                  actor("B", bid("m", ("W/m", "100")))])
    assert dominated(upgraded(doc)) == {"dear"}
    assert dominated(upgraded(doc, {"s": {"max_challenge_share": 0.5}})) == set()


def test_limits_elsewhere_leave_dominance_alone():
    """A 1.1 pledge that cannot pay W changes nothing about W's bids."""
    doc = market(ONE + [{"id": "V", "value": 1, "components": [{"id": "k"}]}],
                 [{"id": "p", "amount": "100", "scope": {"challenges": ["W"]}},
                  {"id": "v", "amount": "100", "scope": {"challenges": ["V"]}}],
                 [actor("A", bid("cheap", ("W/k", "50")), bid("dear", ("W/k", "100")), bid("vk", ("V/k", "5")))])
    assert dominated(upgraded(doc, {"v": {"min_spend": 500, "conditions": [("F0", 100)]}})) == {"dear"}


def test_a_fixed_bid_is_never_removed():
    doc = market(ONE, [{"id": "p", "amount": "100"}], [actor("A", bid("cheap", ("W/k", "50"))),
                                                       actor("B", bid("same", ("W/k", "50"))),
                                                       actor("C", bid("dear", ("W/k", "100")))])
    assert dominated(upgraded(doc)) == {"same", "dear"}
    assert dominated(upgraded(doc, fixed=("dear",))) == {"same"}
    assert dominated(upgraded(doc, fixed=("same",))) == {"dear"}


def test_min_spend_keeps_even_an_identical_bid():
    """p pays nothing or all its 100: two identical bids of 50, both accepted, are the only way to pay it."""
    doc = market(ONE, [{"id": "p", "amount": "100"}], [actor("A", bid("x", ("W/k", "50"))),
                                                       actor("B", bid("y", ("W/k", "50")))])
    assert dominated(upgraded(doc)) == {"y"}
    assert dominated(upgraded(doc, {"p": {"min_spend": 10000}})) == set()
