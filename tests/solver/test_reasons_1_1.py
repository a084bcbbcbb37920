"""Reasons and pledge notes for version 1.1: what a funder's limits did, each reason known to sealing with a
public rewrite that names no pledge, funder or figure, and an infeasible clearing's reasons kept."""
from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from market.sealing import ANALYST, SEALED, Viewer, reason_for
from solver.allocation import Unfunded, from_awards
from solver.clearing import ClearOptions, clear
from solver.eligibility import presolve
from solver.loading import parse_market
from solver.market import (Actor, Bid, BidItem, Challenge, Component, Condition, Funder, Market, Pledge)
from solver.pledge_notes import pledge_notes
from solver.pools import make_pools
from solver.reasons import INFEASIBLE, _Lift, explain_unfunded, plain_reasons
from solver.verify import verify_allocation


def _challenge(cid: str, value: int = 10) -> Challenge:
    return Challenge(cid, (Component(cid, "k"),), value=value)


def _bid(bid_id: str, component: str, cents: int, fixed: bool = False) -> Bid:
    return Bid(bid_id, "X", (BidItem(component, 1, cents),), reliability=1.0, fixed=fixed)


GOV = Pledge("gov", "Gov", 30000)
COND = Pledge("pfdn", "Fdn", 20000, min_spend=5000, max_challenge_share=0.6, conditions=(Condition("Gov", 4000),))
MARKET = Market(challenges=(_challenge("A"), _challenge("B")),
                funders=(Funder("Gov", (GOV,)), Funder("Fdn", (COND,))),
                actors=(Actor("X", (_bid("a", "A/k", 10000), _bid("b", "B/k", 10000))),), name="notes")


def _allocation(market: Market, accepted: list[str], flows: dict[str, list[tuple[str, int]]], status: str = "optimal"):
    return from_awards(market, [b for b in market.bids if b.id in accepted], flows, status)


def _doc(market: Market, accepted: list[str], flows: dict[str, list[tuple[str, int]]], status: str = "optimal"):
    return _allocation(market, accepted, flows, status).to_document()


# -- pledge notes --------------------------------------------------------------------------------------

def test_a_pledge_that_paid_nothing_says_which_limit_kept_it_out() -> None:
    done = _allocation(MARKET, ["a"], {"gov": [("A/k", 10000)]})
    # Gov pays 100.00 into A: pfdn's condition (40.00 from Gov) is met in A, which Gov paid alone.
    (note,) = pledge_notes(MARKET, done.to_document())
    assert note.conditions[0].met_in == ("A",)
    assert note.notes == ("pledge pfdn paid nothing: its conditions were met only in A, which other money paid for",
                          "pledge pfdn paid nothing: its min_spend of 50.00 was not reached (it pays nothing or at "
                          "least that much in total)")
    nothing = _allocation(MARKET, [], {})
    (note,) = pledge_notes(MARKET, nothing.to_document())
    assert note.conditions[0].met_in == ()
    assert note.notes == ("pledge pfdn paid nothing: its condition on funder Gov (at least 40.00 into the same "
                          "challenge) was not met in any challenge it could fund",)


def test_conditions_met_only_apart_say_so() -> None:
    two = dataclasses.replace(COND, min_spend=None, conditions=(Condition("Gov", 4000), Condition("Nar", 100)))
    market = dataclasses.replace(MARKET, funders=(Funder("Gov", (GOV,)), Funder("Fdn", (two,)),
                                                  Funder("Nar", (Pledge("nar", "Nar", 10000),))))
    apart = _doc(market, ["a", "b"], {"gov": [("A/k", 10000)], "nar": [("B/k", 10000)]})
    assert pledge_notes(market, apart)[0].notes == (
        "pledge pfdn paid nothing: its conditions on funders Gov, Nar were never all met in one challenge it could "
        "fund",)


def test_a_viewer_who_may_not_see_the_named_funders_flows_learns_nothing_of_them() -> None:
    done = _doc(MARKET, ["a"], {"gov": [("A/k", 10000)]})
    (note,) = pledge_notes(MARKET, done, sees=lambda pledge: pledge == "pfdn")
    assert note.conditions[0].met_in == ()
    assert "A" not in " ".join(note.notes)
    (note,) = pledge_notes(MARKET, done, sees=lambda pledge: pledge in ("pfdn", "gov"))
    assert note.conditions[0].met_in == ("A",)


def test_a_pledge_that_paid_says_its_condition_held_its_min_spend_was_reached_and_where_its_cap_bound() -> None:
    paid = _allocation(MARKET, ["a", "b"], {"gov": [("A/k", 4000), ("B/k", 7000)], "pfdn": [("A/k", 6000),
                                                                                             ("B/k", 3000)]})
    (note,) = pledge_notes(MARKET, paid.to_document())
    assert note.spent == 9000 and note.conditions[0].paid_into == ("A", "B")
    assert note.notes == (
        "pledge pfdn: its condition on funder Gov (at least 40.00) was met in every challenge it paid into: A, B",
        "pledge pfdn: its min_spend of 50.00 was reached (it paid 90.00)",
        "pledge pfdn: its max_challenge_share of 0.6 capped what it paid into A")


def test_no_notes_for_a_version_1_market_or_an_infeasible_clearing() -> None:
    plain = dataclasses.replace(MARKET, funders=(Funder("Gov", (GOV,)),))
    assert pledge_notes(plain, _doc(plain, ["a"], {"gov": [("A/k", 10000)]})) == ()
    assert pledge_notes(MARKET, _doc(MARKET, [], {}, status="infeasible")) == ()


# -- an infeasible clearing keeps its reasons --------------------------------------------------------------

FIXED = dataclasses.replace(MARKET, actors=(Actor("X", (_bid("a", "A/k", 10000, fixed=True),
                                                        _bid("b", "B/k", 10000))),))


def test_the_reasons_keep_an_infeasible_clearings_own_and_fill_the_rest() -> None:
    pools = make_pools(FIXED)
    pre = presolve(FIXED, pools)
    built = _allocation(FIXED, [], {}, status="infeasible")
    given = dataclasses.replace(built, unfunded=(Unfunded("A", ("fixed bid a cannot be paid",)),))
    for reasons in (plain_reasons(FIXED, pre, given),
                    explain_unfunded(FIXED, pools, pre, given, "cbc")):
        assert reasons == (Unfunded("A", ("fixed bid a cannot be paid",)), Unfunded("B", (INFEASIBLE,)))


# -- sealing -------------------------------------------------------------------------------------------

COND_REASON = _Lift(COND, "condition", COND.conditions[0]).reason()
NEW_REASONS = [
    COND_REASON,
    _Lift(COND, "min_spend").reason(),
    _Lift(COND, "max_challenge_share").reason(),
    "funders' conditions: the money that may pay for it cannot cover its cheapest cost of 123.45 within the "
    "min_spend, max_challenge_share and conditions of pledges pfdn, other together",
]


def test_the_reasons_read_as_the_brief_says() -> None:
    assert COND_REASON == ("condition: pledge pfdn could pay for it only if funder Gov pays at least 40.00 into it, "
                           "and Gov does not")
    assert NEW_REASONS[1] == ("min_spend: pledge pfdn could pay for it, but it pays nothing or at least 50.00 in "
                              "total, more than it can put into this challenge")
    assert NEW_REASONS[2] == ("max_challenge_share: pledge pfdn may pay at most 0.6 of its cost, and the other money "
                              "that may pay for it cannot pay the rest")


@pytest.mark.parametrize("reason", NEW_REASONS)
def test_each_new_reason_is_known_to_sealing_and_public_without_names_or_figures(reason: str) -> None:
    stranger = Viewer(bids=frozenset({"a"}), pledges=frozenset({"gov"}))
    public = reason_for(reason, stranger)
    assert public != SEALED and public != reason
    for secret in ("pfdn", "Gov", "40.00", "50.00", "0.6", "123.45"):
        assert secret not in public, (secret, public)
    assert reason_for(reason, ANALYST) == reason


@pytest.mark.parametrize("reason", NEW_REASONS[:3])
def test_a_reason_naming_a_pledge_is_said_in_full_to_whom_sees_the_pledge(reason: str) -> None:
    assert reason_for(reason, Viewer(pledges=frozenset({"pfdn"}))) == reason
    assert reason_for(reason, Viewer(listed=frozenset({"pfdn"}))) == reason
    assert reason_for(reason, Viewer(pledges=frozenset({"gov"}))) != reason


def test_the_combined_reason_is_the_analysts_alone_in_full() -> None:
    # It carries the cheapest cost, a figure read from losing bids.
    assert reason_for(NEW_REASONS[3], Viewer(pledges=frozenset({"pfdn"}))) != NEW_REASONS[3]


def test_the_infeasible_reason_is_public_as_it_is() -> None:
    assert reason_for(INFEASIBLE, Viewer()) == INFEASIBLE


# The reasons of an infeasible clearing, in the templates solver/infeasible.py states (f11-model): each
# known to sealing, and said to others without bid ids, prices, reliabilities or actors.
INFEASIBLE_REASONS = [
    'fixed bid "bx9" is not eligible: its item on "A/k" is priced 123.45 for 2, above the reserve of 50.00 a unit',
    'fixed bid "bx9" is not eligible: its reliability 0.612 is below the 0.8 that "A/k" requires',
    'fixed bid "bx9" cannot be paid: no pledge\'s scope admits "A/k"',
    'fixed bid "bx9" is on "A", which cannot be completed: A/k: bid bx9 prices it at 123.45',
    'fixed bids "bx9" and "by7" are in the same exclusive group "g" of actor "acme"',
    'fixed bids "bx9", "by7" of actor "acme" cost 123.45 together, above its budget of 100.00',
    'fixed bid "bx9" of actor "acme" have a load of 3 together, above its load of 2',
    'fixed bids "bx9", "by7" on "A" have a reliability of 0.612 together, below its target of 0.8',
    'fixed bids "bx9", "by7" cannot be paid: the pledges that may pay for "A" hold 100.00 against the 123.45 the '
    'fixed bids on it cost',
    'fixed bid "bx9" cannot be paid: the pledges that may pay for them hold 100.00 against the 123.45 they cost',
    'fixed bid "bx9" cannot be accepted: no allocation with it keeps the money pledged and its limits (rules 5 and 8)',
    'the fixed bids "bx9", "by7" together break the reliability targets (rule 6)',
    'the fixed bids "bx9", "by7" cannot all be accepted together',
    'not cleared: the fixed bids "bx9", "by7" cannot all be accepted (see the reasons on "A")',
]


@pytest.mark.parametrize("reason", INFEASIBLE_REASONS)
def test_each_infeasible_reason_is_known_to_sealing_and_public_without_bids(reason: str) -> None:
    public = reason_for(reason, Viewer(bids=frozenset({"other"})))
    assert public != SEALED and public != reason
    for secret in ("bx9", "by7", "acme", "123.45", "0.612", "100.00"):
        assert secret not in public, (secret, public)


def test_an_infeasible_reason_naming_one_bid_is_said_in_full_to_its_actor_only() -> None:
    one = INFEASIBLE_REASONS[10]
    assert reason_for(one, Viewer(bids=frozenset({"bx9"}))) == one
    two = INFEASIBLE_REASONS[11]
    assert reason_for(two, Viewer(bids=frozenset({"bx9"}))) != two


def test_an_unknown_broken_rule_stays_sealed() -> None:
    """<what> is one of fixed phrases: anything else may carry a figure, so it is not shown."""
    odd = 'fixed bid "bx9" cannot be accepted: no allocation with it keeps bid by7 at 123.45'
    assert reason_for(odd, Viewer()) == SEALED


# -- on real clearings, both backends ------------------------------------------------------------
# Reasons for version 1.1 from real clearings, on both backends: each market is built so that exactly one
# limit of one pledge keeps a challenge from being paid, and the reason names it; the pledge notes say the
# same from the funder's side; an infeasible clearing's reasons are the clearing's own.


def _market(pledges: list[dict[str, Any]], challenges: list[tuple[str, str]], **bids: Any) -> dict[str, Any]:
    """1.1 market: each challenge (id, price) of value 10 with one bid "b-<id>" of that price; pledges as
    (funder, pledge) pairs in `pledges` (each a dict with "funder")."""
    funders: dict[str, list[dict[str, Any]]] = {}
    for p in pledges:
        funders.setdefault(p.pop("funder"), []).append(p)
    return {
        "format": "swarm-market/1.1", "name": "reasons-1.1",
        "challenges": [{"id": cid, "value": 10, "components": [{"id": "k"}]} for cid, _ in challenges],
        "funders": [{"id": fid, "pledges": ps} for fid, ps in funders.items()],
        "actors": [{"id": "X", "bids": [{"id": f"b-{cid}", "items": [{"component": f"{cid}/k", "price": price}],
                                         **bids.get(cid, {})} for cid, price in challenges]}],
    }


def _clear(doc: dict[str, Any], backend: str) -> tuple[Any, dict[str, Any]]:
    market = parse_market(doc)
    allocation = clear(market, ClearOptions(backend=backend))
    out = allocation.to_document()
    assert verify_allocation(market, out) == []
    return market, out


def _reasons(doc: dict[str, Any], cid: str) -> list[str]:
    return next(u["reasons"] for u in doc["unfunded"] if u["challenge"] == cid)


def test_a_condition_the_named_funder_cannot_meet(backend: str) -> None:
    # pf may pay only for A, all of it (100.00), but only if Gov pays 40.00 into it; Gov may pay only for B,
    # whose bid is more than Gov has, so Gov pays nothing anywhere.
    market, doc = _clear(_market([
        {"funder": "Fdn", "id": "pf", "amount": "100", "scope": {"challenges": ["A"]},
         "conditions": [{"funder": "Gov", "min": "40"}]},
        {"funder": "Gov", "id": "gov", "amount": "50", "scope": {"challenges": ["B"]}}],
        [("A", "100"), ("B", "80")]), backend)
    assert doc["status"] == "optimal" and doc["value"] == 0
    assert _reasons(doc, "A") == ["condition: pledge pf could pay for it only if funder Gov pays at least 40.00 "
                                  "into it, and Gov does not"]
    (note,) = pledge_notes(market, doc)
    assert note.notes == ("pledge pf paid nothing: its condition on funder Gov (at least 40.00 into the same "
                          "challenge) was not met in any challenge it could fund",)


def test_a_min_spend_the_challenge_cannot_take(backend: str) -> None:
    market, doc = _clear(_market([{"funder": "Fdn", "id": "pm", "amount": "100", "min_spend": "50"}],
                                 [("A", "30")]), backend)
    assert _reasons(doc, "A") == ["min_spend: pledge pm could pay for it, but it pays nothing or at least 50.00 in "
                                  "total, more than it can put into this challenge"]
    (note,) = pledge_notes(market, doc)
    assert note.notes == ("pledge pm paid nothing: its min_spend of 50.00 was not reached (it pays nothing or at "
                          "least that much in total)",)


def test_a_min_spend_reached_over_two_challenges_blocks_nothing(backend: str) -> None:
    market, doc = _clear(_market([{"funder": "Fdn", "id": "pm", "amount": "100", "min_spend": "50"}],
                                 [("A", "30"), ("B", "30")]), backend)
    assert doc["value"] == 20 and doc["unfunded"] == []
    (note,) = pledge_notes(market, doc)
    assert note.notes == ("pledge pm: its min_spend of 50.00 was reached (it paid 60.00)",)


def test_a_max_challenge_share_that_leaves_it_short(backend: str) -> None:
    _, doc = _clear(_market([{"funder": "Fdn", "id": "ps", "amount": "100", "max_challenge_share": 0.75},
                             {"funder": "Other", "id": "po", "amount": "10"}], [("A", "100")]), backend)
    assert _reasons(doc, "A") == ["max_challenge_share: pledge ps may pay at most 0.75 of its cost, and the other "
                                  "money that may pay for it cannot pay the rest"]


def test_two_conditions_that_block_only_together(backend: str) -> None:
    # Lifting either condition leaves 60.00 against a cost of 100.00; lifting both pays it.
    _, doc = _clear(_market([
        {"funder": "F1", "id": "p1", "amount": "60", "scope": {"challenges": ["A"]},
         "conditions": [{"funder": "Gov", "min": "1"}]},
        {"funder": "F2", "id": "p2", "amount": "60", "scope": {"challenges": ["A"]},
         "conditions": [{"funder": "Gov", "min": "1"}]},
        {"funder": "Gov", "id": "gov", "amount": "5", "scope": {"challenges": ["B"]}}],
        [("A", "100"), ("B", "80")]), backend)
    assert _reasons(doc, "A") == ["funders' conditions: the money that may pay for it cannot cover its cheapest cost "
                                  "of 100.00 within the min_spend, max_challenge_share and conditions of pledges "
                                  "p1, p2 together"]


def test_a_limit_that_does_not_block_is_not_named(backend: str) -> None:
    # Not enough money in scope at all: lifting the share cap would not pay for it either.
    _, doc = _clear(_market([{"funder": "Fdn", "id": "ps", "amount": "50", "max_challenge_share": 0.75}],
                            [("A", "100")]), backend)
    assert _reasons(doc, "A")[0].startswith("not enough money in scope: it costs at least 100.00")


def test_an_infeasible_clearing_keeps_its_own_reasons(backend: str) -> None:
    market, doc = _clear(_market([{"funder": "Gov", "id": "gov", "amount": "50"}], [("A", "100"), ("B", "10")],
                                 A={"fixed": True}), backend)
    assert doc["status"] == "infeasible" and doc["awards"] == [] and doc["flows"] == []
    assert [u["challenge"] for u in doc["unfunded"]] == ["A", "B"]
    assert all(u["reasons"] and "fixed" in u["reasons"][0] for u in doc["unfunded"]), doc["unfunded"]
    assert pledge_notes(market, doc) == ()


INFEASIBLE_MARKETS = {
    "money": ({"funder": "Gov", "id": "gov", "amount": "50"}, {"A": {"fixed": True}}, {}),
    "reserve": ({"funder": "Gov", "id": "gov", "amount": "500"}, {"A": {"fixed": True}}, {"max_unit_price": "10"}),
    "floor": ({"funder": "Gov", "id": "gov", "amount": "500"}, {"A": {"fixed": True, "reliability": 0.5}},
              {"min_reliability": 0.9}),
    "group": ({"funder": "Gov", "id": "gov", "amount": "500"},
              {"A": {"fixed": True, "exclusive_group": "g"}, "B": {"fixed": True, "exclusive_group": "g"}}, {}),
}


@pytest.mark.parametrize("kind", INFEASIBLE_MARKETS)
def test_the_reasons_of_real_infeasible_clearings_are_known_to_sealing(kind: str, backend: str) -> None:
    pledge, bids, component = INFEASIBLE_MARKETS[kind]
    doc = _market([dict(pledge)], [("A", "100"), ("B", "10")], **bids)
    doc["challenges"][0]["components"][0].update(component)
    _, out = _clear(doc, backend)
    assert out["status"] == "infeasible"
    reasons = [r for u in out["unfunded"] for r in u["reasons"]]
    for reason in reasons:
        public = reason_for(reason, Viewer())
        assert public != SEALED, reason
        assert "b-A" not in public and "b-B" not in public, (reason, public)


def test_a_condition_whose_funder_spent_its_money_elsewhere(backend: str) -> None:
    # Gov's 100.00 pays B (value 50), which only Gov may pay for; A (value 10) would need 40.00 of it
    # beside pf's 60.00. Alone A could be paid; with what the clearing left, only pf's condition stops it.
    market = _market([
        {"funder": "Fdn", "id": "pf", "amount": "100", "scope": {"challenges": ["A"]},
         "conditions": [{"funder": "Gov", "min": "40"}]},
        {"funder": "Gov", "id": "gov", "amount": "100"}],
        [("A", "100"), ("B", "100")])
    market["challenges"][1]["value"] = 50
    _, doc = _clear(market, backend)
    assert [c["id"] for c in doc["challenges"] if c["completed"]] == ["B"]
    assert _reasons(doc, "A") == ["condition: pledge pf could pay for it only if funder Gov pays at least 40.00 "
                                  "into it, and Gov does not"]


def test_a_min_spend_already_reached_is_not_blamed(backend: str) -> None:
    # pm pays A and B (60.00, over its min_spend of 50.00); C (50.00) is short of the 40.00 left: money, not
    # min_spend, is what stops it.
    doc = _market([{"funder": "Fdn", "id": "pm", "amount": "100", "min_spend": "50"}],
                  [("A", "30"), ("B", "30"), ("C", "50")])
    doc["challenges"][2]["value"] = 5
    _, out = _clear(doc, backend)
    assert [c["id"] for c in out["challenges"] if c["completed"]] == ["A", "B"]
    assert _reasons(out, "C")[0].startswith("outcompeted for money: it would cost at least 50.00")
