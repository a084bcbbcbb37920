"""The analysis commands know version 1.1: what-if adds a condition or fixes a bid, sub-markets of compare
keep min_spend and conditions literally, pledges scale within min_spend, diff says when a clearing is
infeasible, and explain/report carry the pledge notes."""
from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from solver.allocation import Unfunded, from_awards
from solver.analysis.compare import compare
from solver.analysis.common import (AnalysisError, Usage, add_condition, fix_bid, scale_pledges, submarket)
from solver.analysis.diff import describe, diff
from solver.analysis.explain import explain
from solver.analysis.report import render
from solver.analysis.sweep import Scenario, run_scenario
from solver.analysis.whatif import Change, apply, whatif
from solver.clearing import ClearOptions, clear
from solver.loading import parse_market
from solver.market import (Actor, Bid, BidItem, Challenge, Component, Condition, Funder, Market, Pledge)
from solver.verify import verify_allocation


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


# -- on real clearings, both backends ------------------------------------------------------------
# The analysis commands on real 1.1 clearings, on both backends: what-if adds a condition or fixes a bid,
# compare's funders alone honour their own conditions, explain and the report carry the pledge notes.

# Two challenges. Gov (120.00) pays anywhere; Fdn's pf (100.00) pays only where Gov pays at least 40.00.
# Pooled: A (value 30, 100.00) by Gov 40.00 + pf 60.00, and B (value 20, 80.00) by Gov 80.00.
DOC: dict[str, Any] = {
    "format": "swarm-market/1.1", "name": "analysis-1.1",
    "challenges": [{"id": "A", "value": 30, "components": [{"id": "k"}]},
                   {"id": "B", "value": 20, "components": [{"id": "k"}]}],
    "funders": [{"id": "Gov", "pledges": [{"id": "gov", "amount": "120"}]},
                {"id": "Fdn", "pledges": [{"id": "pf", "amount": "100",
                                           "conditions": [{"funder": "Gov", "min": "40"}]}]}],
    "actors": [{"id": "X", "bids": [{"id": "a", "items": [{"component": "A/k", "price": "100"}]},
                                    {"id": "b", "items": [{"component": "B/k", "price": "80"}]},
                                    {"id": "b2", "items": [{"component": "B/k", "price": "90"}]},
                                    {"id": "b3", "items": [{"component": "B/k", "price": "500"}]}]}],
}
SOLVED = parse_market(DOC)


def test_the_pooled_clearing_meets_the_condition(backend: str) -> None:
    allocation = clear(SOLVED, ClearOptions(backend=backend))
    assert allocation.value == 50
    paid = {(f.pledge, f.component): f.amount for f in allocation.flows}
    assert paid[("pf", "A/k")] >= 1 and paid.get(("gov", "A/k"), 0) >= 4000


def test_whatif_a_condition_on_a_condition_loses_value(backend: str) -> None:
    # Gov now pays only where Fdn pays 100.00, and pf only where Gov pays 40.00: A (100.00) cannot take both;
    # B can, only by accepting both its bids (170.00: value comes before cost), so A is lost.
    before, after, changes = whatif(SOLVED, [Change("add-condition", "gov:Fdn=100")], backend)
    assert before.value == 50 and after.value == 20 and after.cost == 17000
    changed = parse_market({**DOC, "funders": [{"id": "Gov", "pledges": [
        {"id": "gov", "amount": "120", "conditions": [{"funder": "Fdn", "min": "100"}]}]}, DOC["funders"][1]]})
    assert verify_allocation(changed, after.to_document()) == []
    assert changes["lost"]


def test_whatif_fixing_a_bid_the_optimum_accepts_changes_nothing(backend: str) -> None:
    before, after, changes = whatif(SOLVED, [Change("fix-bid", "a")], backend)
    assert (after.value, after.cost) == (before.value, before.cost) and after.status == "optimal"


def test_whatif_fixing_a_bid_that_cannot_be_paid_makes_it_infeasible(backend: str) -> None:
    # b3 costs 500.00, more than all the money pledged.
    before, after, changes = whatif(SOLVED, [Change("fix-bid", "b3")], backend)
    assert after.status == "infeasible" and changes["status"] == ("optimal", "infeasible")


def test_compare_funders_alone_honour_their_own_conditions(backend: str) -> None:
    outcomes = compare(SOLVED, backend)
    alone = outcomes["alone"].allocation
    assert all(f.pledge != "pf" for f in alone.flows)          # pf's condition names Gov: alone, it pays nothing
    for outcome in outcomes.values():
        assert verify_allocation(SOLVED, outcome.allocation.to_document()) == []
    assert outcomes["pooled"].allocation.value == 50


def test_compare_of_an_infeasible_market_gives_infeasible_baselines(backend: str) -> None:
    fixed = parse_market({**DOC, "actors": [{"id": "X", "bids": [
        {"id": "a", "items": [{"component": "A/k", "price": "300"}], "fixed": True}]}]})
    for outcome in compare(fixed, backend).values():
        assert outcome.allocation.status == "infeasible"
        assert verify_allocation(fixed, outcome.allocation.to_document()) == []


def test_compare_pays_the_fixed_bids_first(backend: str) -> None:
    fixed = parse_market({**DOC, "actors": [{"id": "X", "bids": [
        {"id": "a", "items": [{"component": "A/k", "price": "100"}]},
        {"id": "b", "items": [{"component": "B/k", "price": "80"}]},
        {"id": "b2", "items": [{"component": "B/k", "price": "90"}], "fixed": True}]}]})
    for outcome in compare(fixed, backend).values():
        assert "b2" in {a.bid for a in outcome.allocation.awards}
        assert verify_allocation(fixed, outcome.allocation.to_document()) == []


def test_explain_and_the_report_carry_the_pledge_notes(backend: str) -> None:
    result = explain(SOLVED, None, backend, 0.5)
    doc = result.to_document()
    assert [p["pledge"] for p in doc["pledges"]] == ["pf"]
    assert doc["pledges"][0]["conditions"][0]["met_in"] == ["A", "B"]
    assert doc["pledges"][0]["notes"][0].startswith("pledge pf: its condition on funder Gov (at least 40.00) was met")
    html = render(SOLVED, clear(SOLVED, ClearOptions(backend=backend)).to_document())
    assert 'id="pledge-notes"' in html and "pledge pf: its condition on funder Gov" in html


def test_a_version_1_explanation_has_no_pledges_key(backend: str) -> None:
    plain = parse_market({**DOC, "format": "swarm-market/1", "funders": [DOC["funders"][0]]})
    assert "pledges" not in explain(plain, None, backend, 0.5).to_document()


def test_a_sweep_scaling_pledges_below_a_min_spend_clears(backend: str) -> None:
    doc = {**DOC, "funders": [DOC["funders"][0], {"id": "Fdn", "pledges": [
        {"id": "pf", "amount": "100", "min_spend": "90"}]}]}
    row = run_scenario(parse_market(doc), Scenario("scale-pledges", "0.5", 0.5), backend)
    assert row["status"] == "optimal"
