"""The checker knows version 1.1: rule 8 (min_spend, conditions, max_challenge_share), narrower scopes,
rule 9 (fixed bids) and the status infeasible. Allocations are made by hand from accepted bids and flows,
so each test breaks exactly the rule it names (or none)."""
from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from solver.allocation import Unfunded, from_awards
from solver.market import (Actor, Bid, BidItem, Challenge, Component, Condition, Funder, Market, Pledge,
                           Scope)
from solver.verify import verify_allocation


def _challenge(cid: str, value: int, tags: tuple[str, ...] = ()) -> Challenge:
    return Challenge(cid, (Component(cid, "k"),), value=value, tags=tags)


def _bid(bid_id: str, component: str, cents: int, fixed: bool = False) -> Bid:
    return Bid(bid_id, "X", (BidItem(component, 1, cents),), reliability=1.0, fixed=fixed)


# Two challenges of 100.00 each (A tagged kenya+sanitation, B kenya+water+conflict).
#   Gov pays up to 300.00 anywhere; Fdn's "cond" pays only if Gov pays at least 40.00 into the same
#   challenge, at most 60% of a challenge's cost, and nothing or at least 50.00 in total;
#   "narrow" pays only for kenya AND sanitation and never in a conflict zone.
GOV = Pledge("gov", "Gov", 30000)
COND = Pledge("cond", "Fdn", 20000, min_spend=5000, max_challenge_share=0.6,
              conditions=(Condition("Gov", 4000),))
NARROW = Pledge("narrow", "Nar", 10000, scope=Scope(all_tags=("region:kenya", "sector:sanitation"),
                                                  exclude_tags=("conflict",)))
MARKET = Market(
    challenges=(_challenge("A", 10, ("region:kenya", "sector:sanitation")),
                _challenge("B", 10, ("region:kenya", "sector:water", "conflict"))),
    funders=(Funder("Gov", (GOV,)), Funder("Fdn", (COND,)), Funder("Nar", (NARROW,))),
    actors=(Actor("X", (_bid("a", "A/k", 10000), _bid("b", "B/k", 10000))),),
    name="verify-1.1")


def doc_of(market: Market, accepted: list[str], flows: dict[str, list[tuple[str, int]]],
           status: str = "optimal") -> dict[str, Any]:
    bids = [b for b in market.bids if b.id in accepted]
    built = from_awards(market, bids, flows, status)
    unfunded = tuple(Unfunded(c.id, ("hand-made",)) for c in built.challenges if not c.completed)
    return dataclasses.replace(built, unfunded=unfunded, solver={"backend": "hand", "seconds": 0}).to_document()


def test_a_valid_allocation_using_every_rule_passes() -> None:
    # A: gov 40.00 + cond 60.00 (exactly 60%, exactly Gov's 40.00); B: gov alone.
    doc = doc_of(MARKET, ["a", "b"], {"gov": [("A/k", 4000), ("B/k", 10000)], "cond": [("A/k", 6000)]})
    assert verify_allocation(MARKET, doc) == []


def test_the_narrow_scope_may_pay_where_every_tag_is_and_no_excluded_one() -> None:
    doc = doc_of(MARKET, ["a"], {"narrow": [("A/k", 10000)]})
    assert verify_allocation(MARKET, doc) == []


def test_a_flow_outside_all_tags_or_into_an_excluded_tag_is_caught() -> None:
    doc = doc_of(MARKET, ["b"], {"narrow": [("B/k", 10000)]})
    assert any("pledge narrow's scope does not admit B/k" in p for p in verify_allocation(MARKET, doc))
    # Without the exclusion B still lacks sector:sanitation, so all_tags alone keeps it out.
    only_all = dataclasses.replace(NARROW, scope=Scope(all_tags=("region:kenya", "sector:sanitation")))
    market = dataclasses.replace(MARKET, funders=(Funder("Gov", (GOV,)), Funder("Fdn", (COND,)),
                                                  Funder("Nar", (only_all,))))
    assert any("scope does not admit B/k" in p for p in verify_allocation(market, doc))
    # Only the exclusion: every component but B's (it carries "conflict").
    only_ex = dataclasses.replace(NARROW, scope=Scope(exclude_tags=("conflict",)))
    market = dataclasses.replace(MARKET, funders=(Funder("Gov", (GOV,)), Funder("Fdn", (COND,)),
                                                  Funder("Nar", (only_ex,))))
    assert any("scope does not admit B/k" in p for p in verify_allocation(market, doc))
    assert verify_allocation(market, doc_of(market, ["a"], {"narrow": [("A/k", 10000)]})) == []


def test_tags_widen_then_all_tags_narrow() -> None:
    # tags: kenya admits A and B; all_tags sanitation narrows to A.
    both = dataclasses.replace(NARROW, scope=Scope(tags=("region:kenya",), all_tags=("sector:sanitation",)))
    market = dataclasses.replace(MARKET, funders=(Funder("Gov", (GOV,)), Funder("Fdn", (COND,)),
                                                  Funder("Nar", (both,))))
    assert verify_allocation(market, doc_of(market, ["a"], {"narrow": [("A/k", 10000)]})) == []
    assert any("scope does not admit B/k" in p
               for p in verify_allocation(market, doc_of(market, ["b"], {"narrow": [("B/k", 10000)]})))


def test_min_spend_is_exact_on_the_cent() -> None:
    # cond pays 49.99 in total against a min_spend of 50.00.
    doc = doc_of(MARKET, ["a"], {"gov": [("A/k", 5001)], "cond": [("A/k", 4999)]})
    problems = verify_allocation(MARKET, doc)
    assert any("pledge cond: pays 49.99 in total, less than its min_spend 50.00" in p for p in problems), problems
    doc = doc_of(MARKET, ["a"], {"gov": [("A/k", 5000)], "cond": [("A/k", 5000)]})
    assert verify_allocation(MARKET, doc) == []


def test_min_spend_counts_the_pledge_total_over_challenges() -> None:
    # 30.00 into A and 30.00 into B: each below 50.00, together above it.
    doc = doc_of(MARKET, ["a", "b"], {"gov": [("A/k", 7000), ("B/k", 7000)], "cond": [("A/k", 3000), ("B/k", 3000)]})
    assert verify_allocation(MARKET, doc) == []


def test_a_condition_not_met_is_caught_and_exact_on_the_cent() -> None:
    doc = doc_of(MARKET, ["a"], {"gov": [("A/k", 3999)], "narrow": [("A/k", 1)], "cond": [("A/k", 6000)]})
    problems = verify_allocation(MARKET, doc)
    assert any("pledge cond: pays 60.00 into challenge A, but its condition on funder Gov is not met: Gov's "
               "pledges pay 39.99 into it, less than the 40.00 required" in p for p in problems), problems


def test_a_condition_is_per_challenge() -> None:
    # Gov pays 100.00 into B, nothing into A: cond's money in A is not covered by Gov's money elsewhere.
    doc = doc_of(MARKET, ["a", "b"], {"gov": [("B/k", 10000)], "narrow": [("A/k", 4000)],
                                      "cond": [("A/k", 6000)]})
    problems = verify_allocation(MARKET, doc)
    assert any("challenge A, but its condition on funder Gov" in p for p in problems), problems
    assert not any("challenge B" in p for p in problems), problems


def test_a_condition_counts_all_the_named_funders_pledges() -> None:
    gov2 = Pledge("gov2", "Gov", 2000)
    market = dataclasses.replace(MARKET, funders=(Funder("Gov", (GOV, gov2)), Funder("Fdn", (COND,)),
                                                  Funder("Nar", (NARROW,))))
    doc = doc_of(market, ["a"], {"gov": [("A/k", 2000)], "gov2": [("A/k", 2000)], "cond": [("A/k", 6000)]})
    assert verify_allocation(market, doc) == []


def test_max_challenge_share_allows_under_a_cent_a_flow() -> None:
    # 60% of 100.00 is 60.00: 60.01 with one flow breaks it, 60.00 does not.
    over = doc_of(MARKET, ["a"], {"gov": [("A/k", 3999)], "cond": [("A/k", 6001)]})
    problems = verify_allocation(MARKET, over)
    assert any("pledge cond: pays 60.01 into challenge A, over its max_challenge_share 0.6 of the challenge's "
               "cost 100.00" in p for p in problems), problems


def test_max_challenge_share_tolerance_grows_with_the_flows_into_the_challenge() -> None:
    two = Challenge("T", (Component("T", "k1"), Component("T", "k2")), value=5)
    capped = Pledge("capped", "F", 10000, max_challenge_share=1 / 3)
    market = Market(challenges=(two,), funders=(Funder("F", (capped,)), Funder("G", (Pledge("g", "G", 10000),))),
                    actors=(Actor("X", (Bid("t", "X", (BidItem("T/k1", 1, 50), BidItem("T/k2", 1, 50)), 1.0),)),),
                    name="two-flows")
    # 1/3 of 1.00 is 0.333..: 0.34 in two flows is over by 0.0067 < 2 cents; 0.35 is over by 1.67 cents.
    fine = doc_of(market, ["t"], {"capped": [("T/k1", 17), ("T/k2", 17)], "g": [("T/k1", 33), ("T/k2", 33)]})
    assert verify_allocation(market, fine) == []
    fine2 = doc_of(market, ["t"], {"capped": [("T/k1", 18), ("T/k2", 17)], "g": [("T/k1", 32), ("T/k2", 33)]})
    assert verify_allocation(market, fine2) == []
    over = doc_of(market, ["t"], {"capped": [("T/k1", 18), ("T/k2", 18)], "g": [("T/k1", 32), ("T/k2", 32)]})
    assert any("over its max_challenge_share" in p for p in verify_allocation(market, over))


FIXED = dataclasses.replace(MARKET, actors=(Actor("X", (_bid("a", "A/k", 10000), _bid("b", "B/k", 10000, fixed=True))),))


def test_a_fixed_bid_not_accepted_is_caught() -> None:
    doc = doc_of(FIXED, ["a"], {"gov": [("A/k", 10000)]})
    problems = verify_allocation(FIXED, doc)
    assert any("bid b (actor X): fixed but not accepted" in p for p in problems), problems
    doc = doc_of(FIXED, ["b"], {"gov": [("B/k", 10000)]})
    assert verify_allocation(FIXED, doc) == []


def _infeasible(market: Market) -> dict[str, Any]:
    doc = doc_of(market, [], {}, status="infeasible")
    for row in doc["unfunded"]:
        row["reasons"] = ["the fixed bids cannot all be accepted: ..."]
    return doc


def test_a_valid_infeasible_allocation_passes() -> None:
    doc = _infeasible(FIXED)
    assert doc["awards"] == [] and doc["flows"] == [] and len(doc["unfunded"]) == 2
    assert verify_allocation(FIXED, doc) == []


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["awards"].append({"bid": "b", "actor": "X", "price": "100.00",
                                   "items": [{"component": "B/k", "quantity": 1, "price": "100.00"}]}),
     "status infeasible must have no awards"),
    (lambda d: d["flows"].append({"pledge": "gov", "funder": "Gov", "component": "A/k", "amount": "1.00"}),
     "status infeasible must have no flows"),
    (lambda d: d["pledges"][0].update(spent="1.00", returned="299.00"), "pledges: gov says"),
    (lambda d: d["unfunded"].pop(), "exactly one entry for each challenge not completed"),
    (lambda d: d["unfunded"][0].update(reasons=[]), "needs at least one reason"),
])
def test_a_broken_infeasible_allocation_is_caught(change: Any, expected: str) -> None:
    doc = _infeasible(FIXED)
    change(doc)
    problems = verify_allocation(FIXED, doc)
    assert any(expected in p for p in problems), problems


def test_infeasible_without_a_fixed_bid_is_caught() -> None:
    problems = verify_allocation(MARKET, _infeasible(MARKET))
    assert any("infeasible, but the market has no fixed bid" in p for p in problems), problems


def test_a_version_1_market_meets_no_1_1_check_and_the_status_list_names_infeasible() -> None:
    plain = Market(challenges=(_challenge("A", 1),), funders=(Funder("G", (Pledge("g", "G", 100),)),),
                   actors=(Actor("X", (_bid("a", "A/k", 100),)),))
    doc = doc_of(plain, ["a"], {"g": [("A/k", 100)]})
    assert verify_allocation(plain, doc) == []
    doc["status"] = "great"
    assert verify_allocation(plain, doc) == ["status: 'great' is not optimal, feasible, infeasible or error"]
