"""The analysis commands know version 1.1: what-if adds a condition or fixes a bid, sub-markets of compare
keep min_spend and conditions literally, pledges scale within min_spend, diff says when a clearing is
infeasible, and explain/report carry the pledge notes."""
from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from solver.allocation import Unfunded, from_awards
from solver.analysis.compare import compare
from solver.analysis.common import (AnalysisError, Usage, add_condition, fix_bid, scale_pledges, submarket)
from solver.analysis.diff import describe, diff
from solver.analysis.explain import explain, least_extra
from solver.analysis.report import render
from solver.analysis.sweep import Scenario, run_scenario
from solver.analysis.whatif import Change, apply, whatif
from solver.clearing import ClearOptions, clear
from solver.loading import load_market, parse_market
from solver.market import (Actor, Bid, BidItem, Challenge, Component, Condition, Funder, Market, Pledge)
from solver.verify import verify_allocation
from tests.paths import FIXTURES
from tests.solver.helpers import SMALL, run, write


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


# -- the commands ----------------------------------------------------------------------------------------

def test_swarm_whatif_add_condition_and_fix_bid(tmp_path: Any) -> None:
    market = write(tmp_path, DOC)
    result = run("whatif", market, "--add-condition", "gov:Fdn=100")
    assert result.exit_code == 0, result.output
    assert "what if --add-condition gov:Fdn=100" in result.output
    assert "challenges lost (before not after): A (value 30)" in result.output
    result = run("whatif", market, "--fix-bid", "b3")
    assert result.exit_code == 0, result.output
    assert "status            optimal ->     infeasible" in result.output
    assert 'why A is lost: not cleared: the fixed bids "b3" cannot all be accepted' in result.output
    for args, message in ((["--add-condition", "gov:Gov=1"], "may not name itself"),
                          (["--fix-bid", "nope"], "--fix-bid 'nope': unknown bid")):
        result = run("whatif", market, *args)
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_swarm_explain_prints_the_pledge_notes(tmp_path: Any) -> None:
    result = run("explain", write(tmp_path, DOC), "--step", "0.5")
    assert result.exit_code == 0, result.output
    assert "Pledges with conditions" in result.output
    assert "- pf (Fdn, spent " in result.output and "its condition on funder Gov (at least 40.00) was met" in result.output


def test_swarm_verify_accepts_an_infeasible_allocation(tmp_path: Any) -> None:
    fixed = {**DOC, "actors": [{"id": "X", "bids": [
        {"id": "a", "items": [{"component": "A/k", "price": "300"}], "fixed": True}]}]}
    allocation = clear(parse_market(fixed), ClearOptions(backend="cbc"))
    assert allocation.status == "infeasible"
    path = tmp_path / "alloc.json"
    path.write_text(allocation.to_json())
    result = run("verify", write(tmp_path, fixed), path)
    assert result.exit_code == 0, result.output
    assert "valid. Recomputed from awards and flows: 0 of 2 challenges completed" in result.output
    doc = allocation.to_document()
    doc["status"] = "optimal"
    path.write_text(json.dumps(doc))
    result = run("verify", write(tmp_path, fixed), path)
    assert result.exit_code == 1 and "bid a (actor X): fixed but not accepted" in result.output


def test_least_extra_money_is_found_on_both_backends(backend: str) -> None:
    """The extra pledge used to be 10^15 cents: the model's money unit became 10^11 cents and HiGHS read
    every price as 0, so its least extra money was 0.00. Also on an infeasible market (fixed bid too dear)."""
    assert least_extra(parse_market(SMALL), "gulu", 100, backend)[:2] == (5000, [("kisumu/wells", 5000)])
    fixed = parse_market({**DOC, "actors": [{"id": "X", "bids": [
        {"id": "a", "items": [{"component": "A/k", "price": "300"}], "fixed": True}]}]})
    assert least_extra(fixed, "A", 0, backend)[0] == 8000         # 300.00 against Gov's 120.00 + pf's 100.00


def test_compare_on_the_didactic_conditions_fixture(backend: str) -> None:
    """The contracted Turkana boreholes are paid first, narrowest money first (the ministry's, then the
    bank's), on every backend alike; that leaves the ministry nothing for Kisumu, where the foundation's
    condition needs it: the baselines complete Turkana only."""
    market = load_market(str(FIXTURES / "didactic-conditions.json"))
    outcomes = compare(market, backend)
    assert {name: o.allocation.value for name, o in outcomes.items()} == {"pooled": 3500, "greedy": 1500,
                                                                          "alone": 1500}
    for outcome in outcomes.values():
        assert verify_allocation(market, outcome.allocation.to_document()) == []
    greedy_flows = [(f.pledge, f.component, f.amount) for f in outcomes["greedy"].allocation.flows]
    assert greedy_flows == [("ministry-budget", "turkana-water/boreholes", 2400000),
                            ("bank-grant", "turkana-water/boreholes", 400000)]
