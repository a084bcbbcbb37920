"""One test per rule of version 1.1 of the spec (rule 8: min_spend, max_challenge_share, conditions and the
narrower scopes; rule 9: fixed bids and the status infeasible), each on a market small enough to clear by
hand; the expected allocation is worked out in the test's docstring. Every test runs on both backends and
every allocation must also pass the independent checker.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from solver.clearing import ClearOptions, clear
from solver.eligibility import presolve
from solver.flows import round_pool_flows, rule8_problems
from solver.model import ClearingModel
from solver.pools import make_pools
from solver.loading import parse_market
from solver.verify import verify_allocation
from tests.solver.helpers import actor, bid, completed, flows, spent, write
from tests.swarm import run


def market(challenges: list[dict[str, Any]], funders: list[dict[str, Any]], actors: list[dict[str, Any]]
           ) -> dict[str, Any]:
    return {"format": "swarm-market/1.1", "name": "rules 1.1", "challenges": challenges, "funders": funders,
            "actors": actors}


def funder(fid: str, *pledges: dict[str, Any]) -> dict[str, Any]:
    return {"id": fid, "pledges": list(pledges)}


def challenge(cid: str, value: int = 10, components: tuple[str, ...] = ("k",), **extra: Any) -> dict[str, Any]:
    return {"id": cid, "value": value, "components": [{"id": k} for k in components], **extra}


def cleared(doc: dict[str, Any], backend: str, status: str = "optimal") -> dict[str, Any]:
    parsed = parse_market(doc)
    allocation = clear(parsed, ClearOptions(backend=backend)).to_document()
    assert verify_allocation(parsed, allocation) == []
    assert allocation["status"] == status
    return allocation


def awarded(allocation: dict[str, Any]) -> list[str]:
    return sorted(a["bid"] for a in allocation["awards"])


# -- rule 8: conditions -------------------------------------------------------------------------------------


def test_rule8_a_condition_blocks_the_cheapest_cover(backend):
    """A costs 50, B 75; p (60) pays only where G pays at least 20, and G's q (20) may pay only B. Without
    the condition p alone would pay A, the cheaper cover of the value 5 either gives. With it, p cannot
    pay A, so B: q pays 20.00, p 55.00; A unfunded. Value 5, cost 75.00; p returns 5.00."""
    doc = market(
        [challenge("A", 5), challenge("B", 5)],
        [funder("F", {"id": "p", "amount": "60.00", "conditions": [{"funder": "G", "min": "20.00"}]}),
         funder("G", {"id": "q", "amount": "20.00", "scope": {"challenges": ["B"]}})],
        [actor("X", bid("a", ("A/k", "50.00")), bid("b", ("B/k", "75.00")))])
    got = cleared(doc, backend)
    assert awarded(got) == ["b"] and completed(got) == ["B"]
    assert (got["value"], got["cost"]) == (5, "75.00")
    assert flows(got) == {("p", "B/k"): "55.00", ("q", "B/k"): "20.00"}
    assert [u["challenge"] for u in got["unfunded"]] == ["A"]


@pytest.mark.parametrize("c_scope, done", [(["W"], ["W"]), (["V"], ["V"])])
def test_rule8_a_condition_chain(backend, c_scope, done):
    """W (value 10) costs 100.00 and needs all three pledges: a 50 (only if B pays 20 there), b 40 (only if C
    pays 10 there), c 10. With c able to pay W, all pay in full: W done. With c scoped to V alone (value 1,
    costs 10.00), C pays nothing into W, so b may not pay W, so a may not either: only V is done, by c."""
    doc = market(
        [challenge("W", 10), challenge("V", 1)],
        [funder("A", {"id": "a", "amount": "50.00", "scope": {"challenges": ["W"]},
                      "conditions": [{"funder": "B", "min": "20.00"}]}),
         funder("B", {"id": "b", "amount": "40.00", "scope": {"challenges": ["W"]},
                      "conditions": [{"funder": "C", "min": "10.00"}]}),
         funder("C", {"id": "c", "amount": "10.00", "scope": {"challenges": c_scope}})],
        [actor("X", bid("w", ("W/k", "100.00")), bid("v", ("V/k", "10.00")))])
    got = cleared(doc, backend)
    assert completed(got) == done
    if done == ["W"]:
        assert flows(got) == {("a", "W/k"): "50.00", ("b", "W/k"): "40.00", ("c", "W/k"): "10.00"}
        assert (got["value"], got["cost"]) == (10, "100.00")
    else:
        assert flows(got) == {("c", "V/k"): "10.00"}
        assert spent(got) == {"a": "0.00", "b": "0.00", "c": "10.00"}
        assert (got["value"], got["cost"]) == (1, "10.00")


# -- rule 8: min_spend --------------------------------------------------------------------------------------


def test_rule8_min_spend_makes_a_pledge_sit_out(backend):
    """W costs 30.00; p (100, min_spend 50) would pay at most 30 there, below its minimum, so it pays nothing
    and q (40) pays it all: flows q 30.00; p returns 100.00."""
    doc = market(
        [challenge("W")],
        [funder("F", {"id": "p", "amount": "100.00", "min_spend": "50.00"}),
         funder("G", {"id": "q", "amount": "40.00"})],
        [actor("X", bid("w", ("W/k", "30.00")))])
    got = cleared(doc, backend)
    assert flows(got) == {("q", "W/k"): "30.00"}
    assert spent(got) == {"p": "0.00", "q": "30.00"}


def test_rule8_min_spend_reached_over_two_challenges(backend):
    """W (value 10) costs 30.00 and V (value 5) 25.00; p (100, min_spend 55) may pay both, q (20) only W.
    q alone cannot pay W, so any value needs p, and p pays 55.00 or nothing: it pays both challenges in
    full and q nothing. Value 15, cost 55.00."""
    doc = market(
        [challenge("W", 10), challenge("V", 5)],
        [funder("F", {"id": "p", "amount": "100.00", "min_spend": "55.00"}),
         funder("G", {"id": "q", "amount": "20.00", "scope": {"challenges": ["W"]}})],
        [actor("X", bid("w", ("W/k", "30.00")), bid("v", ("V/k", "25.00")))])
    got = cleared(doc, backend)
    assert completed(got) == ["W", "V"] and (got["value"], got["cost"]) == (15, "55.00")
    assert flows(got) == {("p", "W/k"): "30.00", ("p", "V/k"): "25.00"}


# -- rule 8: max_challenge_share ----------------------------------------------------------------------------


@pytest.mark.parametrize("q_amount, done", [("25.00", True), ("20.00", False)])
def test_rule8_max_challenge_share_forces_co_funding(backend, q_amount, done):
    """W costs 100.00; p (200) pays at most 75% of any challenge, so q must pay the other 25.00: with q at
    25.00 W is done (p 75.00, q 25.00), with q at 20.00 it is not (75 + 20 < 100) and nothing is paid."""
    doc = market(
        [challenge("W")],
        [funder("F", {"id": "p", "amount": "200.00", "max_challenge_share": 0.75}),
         funder("G", {"id": "q", "amount": q_amount})],
        [actor("X", bid("w", ("W/k", "100.00")))])
    got = cleared(doc, backend)
    if done:
        assert flows(got) == {("p", "W/k"): "75.00", ("q", "W/k"): "25.00"}
    else:
        assert completed(got) == [] and flows(got) == {}


def test_rule8_max_challenge_share_counts_only_the_items_on_the_challenge(backend):
    """A bundle prices A/k at 60.00 and B/k at 40.00. p (share 0.5) may pay half of each challenge's cost:
    30.00 of A, 20.00 of B, whatever the bundle costs in all; q (50) pays the rest."""
    doc = market(
        [challenge("A", 5), challenge("B", 5)],
        [funder("F", {"id": "p", "amount": "100.00", "max_challenge_share": 0.5}),
         funder("G", {"id": "q", "amount": "50.00"})],
        [actor("X", bid("ab", ("A/k", "60.00"), ("B/k", "40.00")))])
    got = cleared(doc, backend)
    assert flows(got) == {("p", "A/k"): "30.00", ("p", "B/k"): "20.00", ("q", "A/k"): "30.00",
                          ("q", "B/k"): "20.00"}


# -- rule 8: narrower scopes ---------------------------------------------------------------------------------


def test_rule8_all_tags_funds_sanitation_in_kenya_only(backend):
    """The issue's foundation: all_tags region:kenya and sector:sanitation pays Kenyan sanitation (30.00)
    and neither Kenyan water (40.00) nor Ugandan sanitation (20.00), though it could afford all three."""
    kenya, uganda = "region:kenya", "region:uganda"
    doc = market(
        [challenge("KW", tags=[kenya, "sector:water"]), challenge("KS", tags=[kenya, "sector:sanitation"]),
         challenge("US", tags=[uganda, "sector:sanitation"])],
        [funder("F", {"id": "p", "amount": "200.00",
                      "scope": {"all_tags": [kenya, "sector:sanitation"]}})],
        [actor("X", bid("kw", ("KW/k", "40.00")), bid("ks", ("KS/k", "30.00")), bid("us", ("US/k", "20.00")))])
    got = cleared(doc, backend)
    assert completed(got) == ["KS"] and flows(got) == {("p", "KS/k"): "30.00"}
    assert [u["challenge"] for u in got["unfunded"]] == ["KW", "US"]


def test_rule8_exclude_tags_keeps_money_out_of_conflict_zones(backend):
    """Sanitation anywhere but in a conflict zone: S1 (30.00) is paid, S2 (20.00, tagged conflict) is not."""
    doc = market(
        [challenge("S1", tags=["sector:sanitation"]), challenge("S2", tags=["sector:sanitation", "conflict"])],
        [funder("F", {"id": "p", "amount": "200.00",
                      "scope": {"tags": ["sector:sanitation"], "exclude_tags": ["conflict"]}})],
        [actor("X", bid("s1", ("S1/k", "30.00")), bid("s2", ("S2/k", "20.00")))])
    got = cleared(doc, backend)
    assert completed(got) == ["S1"] and flows(got) == {("p", "S1/k"): "30.00"}


# -- rule 9: fixed bids ----------------------------------------------------------------------------------------


def test_rule9_fixed_bids_are_accepted_and_change_the_outcome(backend):
    """W/k: x1 50.00 is cheapest, but x2 (80.00) is fixed, and so is v1 (30.00) on V (value 0). Both are
    accepted, x1 is not needed: awards v1, x2; value 10, cost 110.00; p (120) returns 10.00."""
    doc = market(
        [challenge("W", 10), challenge("V", 0)],
        [funder("F", {"id": "p", "amount": "120.00"})],
        [actor("X", bid("x1", ("W/k", "50.00")), bid("x2", ("W/k", "80.00"), fixed=True)),
         actor("Y", bid("v1", ("V/k", "30.00"), fixed=True))])
    got = cleared(doc, backend)
    assert awarded(got) == ["v1", "x2"]
    assert (got["value"], got["cost"], completed(got)) == (10, "110.00", ["W", "V"])
    assert spent(got) == {"p": "110.00"}


def test_rule9_a_fixed_bid_the_optimum_takes_changes_nothing(backend):
    """Fixing the bid the optimum accepts anyway (x1) gives the same allocation as without it."""
    def doc(fixed: bool) -> dict[str, Any]:
        return market([challenge("W")], [funder("F", {"id": "p", "amount": "100.00"})],
                      [actor("X", bid("x1", ("W/k", "50.00"), fixed=fixed), bid("x2", ("W/k", "80.00")))])
    free, fixed = cleared(doc(False), backend), cleared(doc(True), backend)
    assert (awarded(free), free["cost"], free["flows"]) == (awarded(fixed), fixed["cost"], fixed["flows"])


def infeasible(doc: dict[str, Any], backend: str) -> dict[str, Any]:
    got = cleared(doc, backend, status="infeasible")
    assert got["awards"] == [] and got["flows"] == [] and got["value"] == 0
    assert all(p["spent"] == "0.00" for p in got["pledges"])
    assert [u["challenge"] for u in got["unfunded"]] == [c["id"] for c in doc["challenges"]]
    return got


def reasons(got: dict[str, Any]) -> dict[str, list[str]]:
    return {u["challenge"]: u["reasons"] for u in got["unfunded"]}


def test_rule9_a_fixed_bid_above_the_reserve_is_infeasible(backend):
    doc = market(
        [{"id": "W", "value": 10, "components": [{"id": "pump", "max_unit_price": "800.00"}]}, challenge("V")],
        [funder("F", {"id": "p", "amount": "2000.00"})],
        [actor("X", bid("B7", ("W/pump", "900.00"), fixed=True), bid("v", ("V/k", "10.00")))])
    got = infeasible(doc, backend)
    assert reasons(got) == {
        "W": ['fixed bid "B7" is not eligible: its item on "W/pump" is priced 900.00 for 1, above the reserve of '
              '800.00 a unit'],
        "V": ['not cleared: the fixed bids "B7" cannot all be accepted (see the reasons on "W")']}


def test_rule9_fixed_bids_the_pledges_cannot_pay_are_infeasible(backend):
    """The fixed x2 (80.00) and v1 (30.00) cost 110.00 and p holds 100.00: per challenge each fits, so only
    the whole market's money shows it."""
    doc = market(
        [challenge("W", 10), challenge("V", 0)],
        [funder("F", {"id": "p", "amount": "100.00"})],
        [actor("X", bid("x1", ("W/k", "50.00")), bid("x2", ("W/k", "80.00"), fixed=True)),
         actor("Y", bid("v1", ("V/k", "30.00"), fixed=True))])
    got = infeasible(doc, backend)
    text = ('fixed bids "x2", "v1" cannot be paid: the pledges that may pay for them hold 100.00 against the '
            '110.00 they cost')
    assert reasons(got) == {"W": [text], "V": [text]}


def test_rule9_a_fixed_bid_a_scoped_pledge_cannot_reach_is_infeasible(backend):
    """Only q (3,000.00) may pay for c1, and the fixed B7 there costs 4,200.00."""
    doc = market(
        [challenge("c1"), challenge("c2")],
        [funder("F", {"id": "p", "amount": "9000.00", "scope": {"challenges": ["c2"]}}),
         funder("G", {"id": "q", "amount": "3000.00", "scope": {"challenges": ["c1"]}})],
        [actor("X", bid("B7", ("c1/k", "4200.00"), fixed=True), bid("c", ("c2/k", "10.00")))])
    got = infeasible(doc, backend)
    assert reasons(got)["c1"] == ['fixed bid "B7" cannot be paid: the pledges that may pay for "c1" hold 3,000.00 '
                                  'against the 4,200.00 the fixed bids on it cost']


def test_rule9_two_fixed_bids_in_one_exclusive_group_are_infeasible(backend):
    doc = market(
        [challenge("A"), challenge("B")],
        [funder("F", {"id": "p", "amount": "100.00"})],
        [actor("a", bid("B1", ("A/k", "10.00"), fixed=True, exclusive_group="g"),
               bid("B2", ("B/k", "10.00"), fixed=True, exclusive_group="g"))])
    got = infeasible(doc, backend)
    text = 'fixed bids "B1" and "B2" are in the same exclusive group "g" of actor "a"'
    assert reasons(got) == {"A": [text], "B": [text]}


def test_rule9_a_fixed_bid_whose_challenge_the_money_cannot_complete_is_infeasible(backend):
    """The fixed f (40.00) fits p's 100.00 on its own, but W also needs its component m, whose only bid costs
    70.00: completing W costs 110.00. Only a model shows it: the reason names the money."""
    doc = market(
        [challenge("W", 10, ("k", "m")), challenge("V")],
        [funder("F", {"id": "p", "amount": "100.00"})],
        [actor("X", bid("f", ("W/k", "40.00"), fixed=True), bid("m", ("W/m", "70.00")), bid("v", ("V/k", "5.00")))])
    got = infeasible(doc, backend)
    assert reasons(got) == {
        "W": ['fixed bid "f" cannot be accepted: no allocation with it keeps the money pledged and its limits '
              '(rules 5 and 8)'],
        "V": ['not cleared: the fixed bids "f" cannot all be accepted (see the reasons on "W")']}


def test_rule9_fixed_bids_each_possible_alone_but_not_together(backend):
    """W and V each need k (fixed bids fw, fv at 30.00) and m (40.00): 70.00 each, 140.00 both, and p holds
    120.00. The fixed bids' own 60.00 fit, and each challenge alone fits: only all of them together show it."""
    doc = market(
        [challenge("W", 1, ("k", "m")), challenge("V", 1, ("k", "m")), challenge("U")],
        [funder("F", {"id": "p", "amount": "120.00"})],
        [actor("X", bid("fw", ("W/k", "30.00"), fixed=True), bid("mw", ("W/m", "40.00"))),
         actor("Y", bid("fv", ("V/k", "30.00"), fixed=True), bid("mv", ("V/m", "40.00")), bid("u", ("U/k", "1.00")))])
    got = infeasible(doc, backend)
    text = 'the fixed bids "fw", "fv" together break the money pledged and its limits (rules 5 and 8)'
    assert reasons(got) == {"W": [text], "V": [text],
                            "U": ['not cleared: the fixed bids "fw", "fv" cannot all be accepted (see the reasons '
                                  'on "W")']}


def test_rule9_a_fixed_bid_and_a_condition(backend):
    """The fixed f (50.00) on W can only be paid by p, whose condition needs G to pay 30.00 into W, and G's
    q may pay only V: infeasible, and the reason names the money (rule 8's condition is part of it)."""
    doc = market(
        [challenge("W"), challenge("V")],
        [funder("F", {"id": "p", "amount": "100.00", "scope": {"challenges": ["W"]},
                      "conditions": [{"funder": "G", "min": "30.00"}]}),
         funder("G", {"id": "q", "amount": "100.00", "scope": {"challenges": ["V"]}})],
        [actor("X", bid("f", ("W/k", "50.00"), fixed=True), bid("v", ("V/k", "5.00")))])
    got = infeasible(doc, backend)
    assert "money pledged" in reasons(got)["W"][0]


# -- rounding keeps rule 8 on whole cents ---------------------------------------------------------------------


def test_rounding_keeps_min_spend_and_conditions_exact_on_thirds(backend):
    """W's three components cost 33.33 each (99.99). g (G, 33.34) and r (66.65, only if G pays 33.34 into W,
    min_spend 66.65) must both pay in full: each pays a third of itself into each component, 11.1133... and
    22.2166..., which do not round alone; the totals stay exact: g 33.34, r 66.65."""
    doc = market(
        [challenge("W", 10, ("k1", "k2", "k3"))],
        [funder("G", {"id": "g", "amount": "33.34"}),
         funder("R", {"id": "r", "amount": "66.65", "min_spend": "66.65",
                      "conditions": [{"funder": "G", "min": "33.34"}]})],
        [actor("X", bid("x", ("W/k1", "33.33"), ("W/k2", "33.33"), ("W/k3", "33.33")))])
    got = cleared(doc, backend)
    assert spent(got) == {"g": "33.34", "r": "66.65"}
    by_component: dict[str, int] = {}
    for (_, key), amount in flows(got).items():
        by_component[key] = by_component.get(key, 0) + int(amount.replace(".", ""))
    assert by_component == {"W/k1": 3333, "W/k2": 3333, "W/k3": 3333}


def test_rounding_keeps_thirds_of_a_challenge_within_a_cent(backend):
    """Three pledges may each pay a third of W (100.00): 33.333... each, so one pays a cent more, 33.34,
    which the spec allows (less than a cent over per flow)."""
    third = 1 / 3
    doc = market(
        [challenge("W")],
        [funder(f, {"id": f.lower(), "amount": "100.00", "max_challenge_share": third}) for f in ("A", "B", "C")],
        [actor("X", bid("w", ("W/k", "100.00")))])
    got = cleared(doc, backend)
    amounts = sorted(flows(got).values())
    assert amounts == ["33.33", "33.33", "33.34"]


# -- the command line --------------------------------------------------------------------------------------------


def test_swarm_solve_exits_3_for_an_infeasible_market_and_writes_the_allocation(tmp_path):
    doc = market(
        [challenge("A"), challenge("B")],
        [funder("F", {"id": "p", "amount": "100.00"})],
        [actor("a", bid("B1", ("A/k", "10.00"), fixed=True, exclusive_group="g"),
               bid("B2", ("B/k", "10.00"), fixed=True, exclusive_group="g"))])
    path = write(tmp_path, doc)
    out = tmp_path / "alloc.json"
    result = run("solve", path, "-o", out)
    assert result.exit_code == 3, result.output
    assert json.loads(out.read_text())["status"] == "infeasible"
    assert 'fixed bids "B1" and "B2" are in the same exclusive group "g" of actor "a"' in result.output
    doc["actors"][0]["bids"][1]["exclusive_group"] = "h"
    assert run("solve", write(tmp_path, doc), "-o", out).exit_code == 0


# -- the rounding and the model's gates, directly ------------------------------------------------------------


def _three_pledge_market() -> Any:
    """W with k1, k2, k3; g (funder G, 66.67), q (funder Q, 100.00), r (66.67 only if G pays 66.67 into W)."""
    return parse_market(market(
        [challenge("W", 10, ("k1", "k2", "k3"))],
        [funder("G", {"id": "g", "amount": "66.67"}), funder("Q", {"id": "q", "amount": "100.00"}),
         funder("R", {"id": "r", "amount": "66.67", "conditions": [{"funder": "G", "min": "66.67"}]})],
        []))


def test_rounding_keeps_a_condition_that_cent_by_cent_rounding_breaks():
    """g's continuous 3333.5 + 3333.5 on k1 and k2 ties with q's half cents; rounding each component alone may
    give both spare cents to q and leave G at 66.66, below r's condition. The rounding keeps G at 66.67."""
    m = _three_pledge_market()
    pools = make_pools(m)
    index = {pool.pledges[0].id: pool.index for pool in pools}
    g, q, r = index["g"], index["q"], index["r"]
    costs = {"W/k1": 3334, "W/k2": 3334, "W/k3": 100}
    real = {(g, "W/k1"): 3333.5, (q, "W/k1"): 0.5, (g, "W/k2"): 3333.5, (q, "W/k2"): 0.5, (r, "W/k3"): 100.0}
    admits = {key: (g, q, r) for key in costs}
    flows_ = round_pool_flows(pools, costs, real, admits, {key: "W" for key in costs})
    assert flows_[g, "W/k1"] + flows_[g, "W/k2"] == 6667
    assert flows_[r, "W/k3"] == 100 and (r, "W/k1") not in flows_
    assert rule8_problems(pools, costs, flows_, {key: "W" for key in costs}) == []


def test_a_pay_left_beside_a_closed_gate_is_no_flow():
    """A solver may leave r's pay at 1e-7 with its gate in W (G pays 10.00 there) at 0: component_pays reads
    it as nothing."""
    doc = market([challenge("W")], [funder("G", {"id": "g", "amount": "100.00"}),
                                    funder("R", {"id": "r", "amount": "100.00",
                                                 "conditions": [{"funder": "G", "min": "10.00"}]})],
                 [actor("X", bid("w", ("W/k", "50.00")))])
    m = parse_market(doc)
    pools = make_pools(m)
    model = ClearingModel(m, pools, presolve(m, pools))
    (r, cid), gates = next(iter(model.uses.items()))
    values = {gates[0].name: 0.0, model.accept["w"].name: 1.0}
    for (p, _), var in model.pay.items():
        values[var.name] = 1e-7 if p == r else 5000 / model.money_unit
    pays = model.component_pays(model.bids, lambda var: values.get(var.name, 0.0))
    assert all(p != r for p, _ in pays) and sum(pays.values()) == 5000
