"""The analysis commands know version 1.1: what-if adds a condition or fixes a bid, sub-markets of compare
keep min_spend and conditions literally, pledges scale within min_spend, diff says when a clearing is
infeasible, and explain/report carry the pledge notes."""
from __future__ import annotations

import dataclasses

import pytest

from solver.allocation import Unfunded, from_awards
from solver.analysis.common import (AnalysisError, Usage, add_condition, fix_bid, scale_pledges, submarket)
from solver.analysis.diff import describe, diff
from solver.analysis.whatif import Change, apply
from solver.market import (Actor, Bid, BidItem, Challenge, Component, Condition, Funder, Market, Pledge)


def _challenge(cid: str, value: int = 10) -> Challenge:
    return Challenge(cid, (Component(cid, "k"),), value=value)


def _bid(bid_id: str, component: str, cents: int, fixed: bool = False) -> Bid:
    return Bid(bid_id, "X", (BidItem(component, 1, cents),), reliability=1.0, fixed=fixed)


GOV = Pledge("gov", "Gov", 30000)
FDN = Pledge("fdn", "Fdn", 20000, min_spend=5000)
MARKET = Market(challenges=(_challenge("A"), _challenge("B")),
                funders=(Funder("Gov", (GOV,)), Funder("Fdn", (FDN,))),
                actors=(Actor("X", (_bid("a", "A/k", 10000), _bid("b", "B/k", 10000))),), name="analysis-1.1")


# -- what-if changes -------------------------------------------------------------------------------------

def test_add_condition_gives_the_pledge_a_condition_and_leaves_the_rest() -> None:
    changed = apply(MARKET, [Change("add-condition", "fdn:Gov=2000.50")])
    fdn = next(p for p in changed.pledges if p.id == "fdn")
    assert fdn.conditions == (Condition("Gov", 200050),) and fdn.min_spend == 5000
    assert next(p for p in changed.pledges if p.id == "gov") == GOV
    assert changed.uses_1_1 and changed.challenges == MARKET.challenges and changed.actors == MARKET.actors


@pytest.mark.parametrize("text, expected", [
    ("fdn", "expected PLEDGE:FUNDER=MIN"),
    ("fdn:Gov", "expected PLEDGE:FUNDER=MIN"),
    ("nope:Gov=1", "unknown pledge 'nope'"),
    ("fdn:Nobody=1", "unknown funder 'Nobody'"),
    ("fdn:Fdn=1", "a funder may not name itself"),
    ("fdn:Gov=0", "must be more than 0"),
    ("fdn:Gov=1.001", "--add-condition MIN"),
])
def test_add_condition_refuses_what_the_spec_refuses(text: str, expected: str) -> None:
    with pytest.raises(AnalysisError, match=expected):
        add_condition(MARKET, text)


def test_add_condition_refuses_a_second_condition_on_the_same_funder() -> None:
    once = add_condition(MARKET, "fdn:Gov=1")
    with pytest.raises(AnalysisError, match="already has a condition on Gov"):
        add_condition(once, "fdn:Gov=2")


def test_fix_bid_fixes_that_bid_only() -> None:
    changed = apply(MARKET, [Change("fix-bid", "b")])
    assert [(b.id, b.fixed) for b in changed.bids] == [("a", False), ("b", True)]
    with pytest.raises(AnalysisError, match="--fix-bid 'zz': unknown bid"):
        fix_bid(MARKET, "zz")


def test_scaling_keeps_min_spend_at_most_the_amount() -> None:
    half = scale_pledges(MARKET, 0.2)        # fdn: 200.00 -> 40.00, below its min_spend of 50.00
    fdn = next(p for p in half.pledges if p.id == "fdn")
    assert (fdn.amount, fdn.min_spend) == (4000, 4000)
    double = scale_pledges(MARKET, 2)
    assert next(p for p in double.pledges if p.id == "fdn").min_spend == 5000


# -- sub-markets of the baselines ------------------------------------------------------------------------

def test_a_pledge_alone_with_a_condition_on_another_funder_is_left_out() -> None:
    cond = Pledge("cond", "Fdn", 20000, conditions=(Condition("Gov", 100),))
    market = dataclasses.replace(MARKET, funders=(Funder("Gov", (GOV,)), Funder("Fdn", (cond,))))
    assert submarket(market, ["A", "B"], [cond], Usage()).funders == ()
    both = submarket(market, ["A", "B"], market.pledges, Usage())
    assert [p.id for p in both.pledges] == ["gov", "cond"]
    # Once Gov has no money left, the condition on it strands cond too.
    usage = Usage(spent={"gov": 30000})
    assert submarket(market, ["A", "B"], market.pledges, usage).funders == ()


def test_a_min_spend_reached_in_an_earlier_part_binds_no_more() -> None:
    fresh = submarket(MARKET, ["B"], MARKET.pledges, Usage())
    assert next(p for p in fresh.pledges if p.id == "fdn").min_spend == 5000
    after = submarket(MARKET, ["B"], MARKET.pledges, Usage(spent={"fdn": 6000}))
    assert [(p.id, p.amount, p.min_spend) for p in after.pledges] == [("gov", 30000, None), ("fdn", 14000, None)]


# -- diff of an infeasible clearing ----------------------------------------------------------------------

def _doc(market: Market, accepted: list[str], flows: dict[str, list[tuple[str, int]]], status: str):
    built = from_awards(market, [b for b in market.bids if b.id in accepted], flows, status)
    unfunded = tuple(Unfunded(c.id, ("why",)) for c in built.challenges if not c.completed)
    return dataclasses.replace(built, unfunded=unfunded, solver={"backend": "hand", "seconds": 0}).to_document()


def test_diff_says_when_the_clearing_became_infeasible() -> None:
    before = _doc(MARKET, ["a"], {"gov": [("A/k", 10000)]}, "optimal")
    after = _doc(MARKET, [], {}, "infeasible")
    changes = diff(before, after)
    assert changes["status"] == ("optimal", "infeasible") and changes["lost"] == [("A", 10)]
    text = describe(changes, "before", "after")
    assert "status            optimal ->     infeasible  (the fixed bids cannot all be accepted" in text
    assert "status" not in describe(diff(before, before))
