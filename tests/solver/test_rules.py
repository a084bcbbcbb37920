"""One test per rule of the spec ("What a clearing must satisfy"), each on a market small enough to
clear by hand; the expected allocation is worked out in the test's docstring. Every test runs on both
backends and every allocation must also pass the independent checker.
"""
import pytest

from solver.clearing import ClearOptions, clear
from solver.loading import parse_market
from solver.verify import verify_allocation
from tests.solver.helpers import actor, bid, completed, flows, market, spent


def cleared(doc, backend):
    parsed = parse_market(doc)
    allocation = clear(parsed, ClearOptions(backend=backend)).to_document()
    assert verify_allocation(parsed, allocation) == []
    assert allocation["status"] == "optimal"
    return allocation


def awarded(allocation):
    return sorted(a["bid"] for a in allocation["awards"])


# -- rule 1: a bid is accepted whole or not at all; pay as bid -------------------------------------------


def test_rule1_a_bundle_is_accepted_whole_or_not_at_all(backend):
    """X's bundle prices A/k1 at 50 (cheaper than Y's 60) but also covers B/k1, so taking it means
    completing B too: 50 + 50 + 10 = 110 > 100 pledged. It cannot be taken in part, so Y wins A/k1:
    awards y1, y2; value 10, cost 70.00; returned 30.00."""
    doc = market(
        [{"id": "A", "value": 10, "components": [{"id": "k1"}, {"id": "k2"}]},
         {"id": "B", "value": 1, "components": [{"id": "k1"}]}],
        [{"id": "p", "amount": "100.00"}],
        [actor("X", bid("bx", ("A/k1", "50.00"), ("B/k1", "50.00"))),
         actor("Y", bid("y1", ("A/k1", "60.00")), bid("y2", ("A/k2", "10.00")))])
    got = cleared(doc, backend)
    assert awarded(got) == ["y1", "y2"]
    assert (got["value"], got["cost"], completed(got)) == (10, "70.00", ["A"])
    assert got["pledges"][0]["returned"] == "30.00"


def test_rule1_an_accepted_bundle_is_paid_the_sum_of_its_items(backend):
    """With 110 pledged the bundle fits: bx + y2 = 110 for value 11 beats y1 + y2 (value 10).
    bx's award carries its two items and is paid their sum, 100.00."""
    doc = market(
        [{"id": "A", "value": 10, "components": [{"id": "k1"}, {"id": "k2"}]},
         {"id": "B", "value": 1, "components": [{"id": "k1"}]}],
        [{"id": "p", "amount": "110.00"}],
        [actor("X", bid("bx", ("A/k1", "50.00"), ("B/k1", "50.00"))),
         actor("Y", bid("y1", ("A/k1", "60.00")), bid("y2", ("A/k2", "10.00")))])
    got = cleared(doc, backend)
    assert awarded(got) == ["bx", "y2"]
    (bx,) = [a for a in got["awards"] if a["bid"] == "bx"]
    assert bx["price"] == "100.00" and [i["price"] for i in bx["items"]] == ["50.00", "50.00"]
    assert (got["value"], got["cost"]) == (11, "110.00")


# -- rule 2: coverage ----------------------------------------------------------------------------------------


def test_rule2_quantities_cover_the_need_at_least_cost(backend):
    """3 wells needed. a1 (2 for 20), a2 (2 for 18), a3 (1 for 15): the covers are a1+a2 = 38,
    a1+a3 = 35, a2+a3 = 33, all three 53. Cheapest: a2 + a3 = 33.00, quantity 3."""
    doc = market(
        [{"id": "W", "value": 5, "components": [{"id": "wells", "quantity": 3}]}],
        [{"id": "p", "amount": "100.00"}],
        [actor("A", bid("a1", ("W/wells", "20.00", 2)), bid("a2", ("W/wells", "18.00", 2)),
               bid("a3", ("W/wells", "15.00", 1)))])
    got = cleared(doc, backend)
    assert awarded(got) == ["a2", "a3"]
    assert got["challenges"][0]["components"] == [{"id": "wells", "funded": True, "quantity": 3, "cost": "33.00"}]


def test_rule2_a_component_that_cannot_be_fully_covered_gets_no_bid(backend):
    """The non-critical 'extra' needs 2 units and only 1 is offered: its cheap bid is not accepted,
    because an unfunded component is covered by no accepted bid. W completes on its own: value 5."""
    doc = market(
        [{"id": "W", "value": 5, "components": [
            {"id": "wells"}, {"id": "extra", "critical": False, "value": 3, "quantity": 2}]}],
        [{"id": "p", "amount": "100.00"}],
        [actor("A", bid("a1", ("W/wells", "20.00")), bid("a2", ("W/extra", "1.00", 1)))])
    got = cleared(doc, backend)
    assert awarded(got) == ["a1"]
    assert got["challenges"][0]["components"][1] == {"id": "extra", "funded": False, "quantity": 0, "cost": "0.00"}
    assert got["value"] == 5


# -- rule 3: completion; no money to a challenge that is not finished ----------------------------------------


def test_rule3_no_money_flows_to_a_challenge_that_is_not_completed(backend):
    """A (value 100) costs 40 + 80 = 120 > 100 pledged, so it is not done, and its affordable k1 bid is
    not taken either. B (value 1, 30) is done: awards b only, spent 30.00, returned 70.00; A is unfunded."""
    doc = market(
        [{"id": "A", "value": 100, "components": [{"id": "k1"}, {"id": "k2"}]},
         {"id": "B", "value": 1, "components": [{"id": "k1"}]}],
        [{"id": "p", "amount": "100.00"}],
        [actor("X", bid("a1", ("A/k1", "40.00")), bid("a2", ("A/k2", "80.00")), bid("b", ("B/k1", "30.00")))])
    got = cleared(doc, backend)
    assert awarded(got) == ["b"]
    assert set(flows(got)) == {("p", "B/k1")}
    assert (got["pledges"][0]["spent"], got["pledges"][0]["returned"]) == ("30.00", "70.00")
    assert [u["challenge"] for u in got["unfunded"]] == ["A"]
    assert "not enough money in scope" in got["unfunded"][0]["reasons"][0]


def test_rule3_a_challenge_is_completed_by_its_critical_components_alone(backend):
    """The non-critical 'paint' is too dear (60 for value 1 with 50 left), yet A is completed: value 10."""
    doc = market(
        [{"id": "A", "value": 10, "components": [{"id": "k1"}, {"id": "paint", "critical": False, "value": 1}]}],
        [{"id": "p", "amount": "100.00"}],
        [actor("X", bid("x1", ("A/k1", "50.00")), bid("x2", ("A/paint", "60.00")))])
    got = cleared(doc, backend)
    assert awarded(got) == ["x1"] and completed(got) == ["A"] and got["value"] == 10


# -- rule 4: requires, min_reliability, max_unit_price --------------------------------------------------------


def test_rule4_requires_funds_a_prerequisite_first(backend):
    """'upgrade' (value 5, bid 4) requires 'extra' (value 0, bid 3): with 100 pledged both are taken,
    value 15 for 17.00. With 15 pledged 10 + 3 + 4 = 17 does not fit: only the base, value 10."""
    challenges = [{"id": "C", "value": 10, "components": [
        {"id": "base"}, {"id": "extra", "critical": False},
        {"id": "upgrade", "critical": False, "value": 5, "requires": ["extra"]}]}]
    actors = [actor("X", bid("b", ("C/base", "10.00")), bid("e", ("C/extra", "3.00")), bid("u", ("C/upgrade", "4.00")))]
    rich = cleared(market(challenges, [{"id": "p", "amount": "100.00"}], actors), backend)
    assert awarded(rich) == ["b", "e", "u"] and (rich["value"], rich["cost"]) == (15, "17.00")
    poor = cleared(market(challenges, [{"id": "p", "amount": "15.00"}], actors), backend)
    assert awarded(poor) == ["b"] and (poor["value"], poor["cost"]) == (10, "10.00")


def test_rule4_a_reserve_price_rules_out_the_whole_bundle(backend):
    """x1 bundles 2 pipes at 20.01 (reserve 10.00 a unit: 20.00 for 2) with a pump at 1.00: 21.01 in all,
    cheaper than y1 + y2 = 25.00, but the pipes break the reserve, so the whole bundle is out."""
    doc = market(
        [{"id": "A", "value": 10, "components": [{"id": "pipes", "quantity": 2, "max_unit_price": "10.00"},
                                                 {"id": "pump"}]}],
        [{"id": "p", "amount": "100.00"}],
        [actor("X", bid("x1", ("A/pipes", "20.01"), ("A/pump", "1.00"))),
         actor("Y", bid("y1", ("A/pipes", "20.00")), bid("y2", ("A/pump", "5.00")))])
    got = cleared(doc, backend)
    assert awarded(got) == ["y1", "y2"] and got["cost"] == "25.00"


def test_rule4_a_reserve_that_rules_out_every_bid_is_the_reason(backend):
    doc = market(
        [{"id": "A", "value": 10, "components": [{"id": "pipes", "quantity": 2, "max_unit_price": "10.00"}]}],
        [{"id": "p", "amount": "100.00"}],
        [actor("X", bid("x1", ("A/pipes", "20.01")))])
    got = cleared(doc, backend)
    assert awarded(got) == []
    reasons = got["unfunded"][0]["reasons"]
    assert reasons[0] == "critical component A/pipes: no eligible bid"
    assert "above the reserve of 10.00 a unit" in reasons[1]


def test_rule4_min_reliability_rules_out_the_whole_bundle(backend):
    """x1 (reliability 0.85) bundles both components for 12; the pump needs 0.9, so x1 is out and the
    dearer y1 + y2 (reliability 0.95) win for 30.00."""
    doc = market(
        [{"id": "A", "value": 10, "components": [{"id": "well"}, {"id": "pump", "min_reliability": 0.9}]}],
        [{"id": "p", "amount": "100.00"}],
        [actor("X", bid("x1", ("A/well", "10.00"), ("A/pump", "2.00")), reliability=0.85),
         actor("Y", bid("y1", ("A/well", "20.00")), bid("y2", ("A/pump", "10.00")), reliability=0.95)])
    got = cleared(doc, backend)
    assert awarded(got) == ["y1", "y2"] and got["cost"] == "30.00"


# -- rule 5: money -------------------------------------------------------------------------------------------


def test_rule5_scopes_decide_which_pledge_pays_what(backend):
    """pA may pay only challenge A, pB only what is tagged 'region:b', pK only component C/k1 (and C has
    no other money). A costs 60, B 50, C 30: each is paid by the only pledge that admits it."""
    doc = market(
        [{"id": "A", "value": 1, "components": [{"id": "k1"}]},
         {"id": "B", "value": 1, "tags": ["region:b"], "components": [{"id": "k1"}]},
         {"id": "C", "value": 1, "components": [{"id": "k1"}]}],
        [{"id": "pA", "amount": "60.00", "scope": {"challenges": ["A"]}},
         {"id": "pB", "amount": "80.00", "scope": {"tags": ["region:b"]}},
         {"id": "pK", "amount": "35.00", "scope": {"components": ["C/k1"]}}],
        [actor("X", bid("a", ("A/k1", "60.00")), bid("b", ("B/k1", "50.00")), bid("c", ("C/k1", "30.00")))])
    got = cleared(doc, backend)
    assert flows(got) == {("pA", "A/k1"): "60.00", ("pB", "B/k1"): "50.00", ("pK", "C/k1"): "30.00"}
    assert [(p["id"], p["spent"], p["returned"]) for p in got["pledges"]] == [
        ("pA", "60.00", "0.00"), ("pB", "50.00", "30.00"), ("pK", "30.00", "5.00")]


def test_rule5_no_pledge_pays_more_than_its_amount(backend):
    """A costs 60; the only pledge in scope has 59.99: A cannot be done."""
    doc = market(
        [{"id": "A", "value": 1, "components": [{"id": "k1"}]}],
        [{"id": "pA", "amount": "59.99", "scope": {"challenges": ["A"]}}],
        [actor("X", bid("a", ("A/k1", "60.00")))])
    got = cleared(doc, backend)
    assert awarded(got) == []
    assert "shortfall 0.01" in got["unfunded"][0]["reasons"][0]


def test_rule5_max_share_forces_co_funding(backend):
    """The component costs 100; p1 pays at most half. With 30 from p2 only 80 can be raised: not done.
    With 50 from p2: p1 50, p2 50."""
    challenges = [{"id": "A", "value": 1, "components": [{"id": "k1"}]}]
    actors = [actor("X", bid("a", ("A/k1", "100.00")))]
    short = cleared(market(challenges, [{"id": "p1", "amount": "200.00", "max_share": 0.5},
                                        {"id": "p2", "amount": "30.00"}], actors), backend)
    assert awarded(short) == []
    assert "max_share and match" in short["unfunded"][0]["reasons"][0]
    enough = cleared(market(challenges, [{"id": "p1", "amount": "200.00", "max_share": 0.5},
                                         {"id": "p2", "amount": "50.00"}], actors), backend)
    assert flows(enough) == {("p1", "A/k1"): "50.00", ("p2", "A/k1"): "50.00"}


def test_rule5_a_matching_pledge_pays_at_most_its_ratio_of_other_money(backend):
    """m matches 1:1 inside each challenge. With 40 from d, m adds at most 40: 80 < 100, not done.
    With 50 from d: d 50 + m 50 = 100."""
    challenges = [{"id": "A", "value": 1, "components": [{"id": "k1"}]}]
    actors = [actor("X", bid("a", ("A/k1", "100.00")))]
    short = cleared(market(challenges, [{"id": "m", "amount": "100.00", "match": 1},
                                        {"id": "d", "amount": "40.00"}], actors), backend)
    assert awarded(short) == []
    enough = cleared(market(challenges, [{"id": "m", "amount": "100.00", "match": 1},
                                         {"id": "d", "amount": "50.00"}], actors), backend)
    assert flows(enough) == {("m", "A/k1"): "50.00", ("d", "A/k1"): "50.00"}


def test_rule5_matching_counts_money_per_challenge_not_per_component(backend):
    """m (ratio 2) may pay only k2, d only k1; within the challenge m pays at most 2 x what d pays.
    k1 costs 30 and k2 60: d 30 into k1 lets m pay all 60 of k2."""
    doc = market(
        [{"id": "A", "value": 1, "components": [{"id": "k1"}, {"id": "k2"}]}],
        [{"id": "m", "amount": "100.00", "match": 2, "scope": {"components": ["A/k2"]}},
         {"id": "d", "amount": "100.00", "scope": {"components": ["A/k1"]}}],
        [actor("X", bid("b1", ("A/k1", "30.00")), bid("b2", ("A/k2", "60.00")))])
    got = cleared(doc, backend)
    assert flows(got) == {("m", "A/k2"): "60.00", ("d", "A/k1"): "30.00"}


def test_rule5_pooled_pledges_split_in_proportion_in_whole_cents(backend):
    """Three unscoped pledges of 10.00 pool into one; a cost of 0.10 splits 4/3/3 cents (largest
    remainder, ties to the earlier pledge), and the model has one pool, not three."""
    doc = market(
        [{"id": "A", "value": 1, "components": [{"id": "k1"}]}],
        [{"id": f"p{n}", "amount": "10.00"} for n in range(3)],
        [actor("X", bid("a", ("A/k1", "0.10")))])
    got = cleared(doc, backend)
    assert spent(got) == {"p0": "0.04", "p1": "0.03", "p2": "0.03"}
    assert got["solver"]["size"]["pools"] == 1


def test_rule5_pooling_keeps_the_model_size_independent_of_the_number_of_pledges(backend):
    challenges = [{"id": "A", "value": 1, "components": [{"id": "k1"}, {"id": "k2"}]}]
    actors = [actor("X", bid("a", ("A/k1", "5.00")), bid("b", ("A/k2", "7.00")))]
    one = cleared(market(challenges, [{"id": "p0", "amount": "500.00"}], actors), backend)
    many = cleared(market(challenges, [{"id": f"p{n}", "amount": f"{n + 1}.00"} for n in range(50)], actors), backend)
    assert many["solver"]["size"]["variables"] == one["solver"]["size"]["variables"]
    assert sum(float(p["spent"]) for p in many["pledges"]) == pytest.approx(12.0)


# -- rule 6: reliability targets ------------------------------------------------------------------------------


def test_rule6_a_reliability_target_prefers_the_surer_dearer_actor(backend):
    """Target 0.9: the cheap bid (0.8, 10.00) misses it, the sure one (0.95, 30.00) meets it."""
    doc = market(
        [{"id": "A", "value": 1, "reliability": 0.9, "components": [{"id": "k1"}]}],
        [{"id": "p", "amount": "100.00"}],
        [actor("C", bid("cheap", ("A/k1", "10.00")), reliability=0.8),
         actor("S", bid("sure", ("A/k1", "30.00")), reliability=0.95)])
    got = cleared(doc, backend)
    assert awarded(got) == ["sure"] and got["challenges"][0]["reliability"] == pytest.approx(0.95)


def test_rule6_the_target_is_on_the_product_of_every_bid_touching_the_challenge(backend):
    """Target 0.9 over two components: 0.95 x 0.95 = 0.9025 passes, 0.95 x 0.9 = 0.855 does not, so
    k2 goes to the dearer 0.95 bid (5 + 8 = 13.00, not 5 + 2)."""
    doc = market(
        [{"id": "A", "value": 1, "reliability": 0.9, "components": [{"id": "k1"}, {"id": "k2"}]}],
        [{"id": "p", "amount": "100.00"}],
        [actor("X", bid("x1", ("A/k1", "5.00")), bid("x2", ("A/k2", "8.00")), reliability=0.95),
         actor("Y", bid("y2", ("A/k2", "2.00")), reliability=0.9)])
    got = cleared(doc, backend)
    assert awarded(got) == ["x1", "x2"] and got["cost"] == "13.00"


def test_rule6_a_target_met_exactly_is_met(backend):
    """0.9 x 0.9 is 0.81 in decimals but not quite in binary floats; the target 0.81 still holds."""
    doc = market(
        [{"id": "A", "value": 1, "reliability": 0.81, "components": [{"id": "k1"}, {"id": "k2"}]}],
        [{"id": "p", "amount": "100.00"}],
        [actor("X", bid("x1", ("A/k1", "5.00")), bid("x2", ("A/k2", "5.00")), reliability=0.9)])
    got = cleared(doc, backend)
    assert awarded(got) == ["x1", "x2"]


def test_rule6_an_unreachable_target_is_the_reason(backend):
    doc = market(
        [{"id": "A", "value": 1, "reliability": 0.99, "components": [{"id": "k1"}]}],
        [{"id": "p", "amount": "100.00"}],
        [actor("X", bid("x1", ("A/k1", "5.00")), reliability=0.9)])
    got = cleared(doc, backend)
    assert awarded(got) == []
    assert got["unfunded"][0]["reasons"] == [
        "reliability target 0.99 out of reach with the eligible bids; the surest eligible bids reach 0.9000"]


# -- rule 7: actor capacity -----------------------------------------------------------------------------------


CAPACITY_CHALLENGES = [{"id": "A", "value": 10, "components": [{"id": "k1"}]},
                       {"id": "B", "value": 10, "components": [{"id": "k1"}]}]


@pytest.mark.parametrize("limit", [
    {"capacity": {"budget": "100.00"}},
    {"capacity": {"load": 1.5}},
    {},                                              # exclusive group, below
], ids=["budget", "load", "exclusive"])
def test_rule7_actor_capacity_sends_the_second_job_elsewhere(backend, limit):
    """X bids 60 on each of A and B but can take only one (budget 100, load 1.5 with loads of 1, or one
    bid of an exclusive group); Y does B for 70. Both are done: x1 + y = 130.00, not 120.00."""
    group = {} if limit else {"exclusive_group": "crew"}
    doc = market(
        CAPACITY_CHALLENGES, [{"id": "p", "amount": "1000.00"}],
        [actor("X", bid("x1", ("A/k1", "60.00"), load=1, **group), bid("x2", ("B/k1", "60.00"), load=1, **group),
               **limit),
         actor("Y", bid("y", ("B/k1", "70.00")))])
    got = cleared(doc, backend)
    assert awarded(got) == ["x1", "y"] and (got["value"], got["cost"]) == (20, "130.00")


# -- the objective ----------------------------------------------------------------------------------------------


def test_objective_most_value_first_even_when_dearer(backend):
    """95 pledged: A (value 10, 90.00) or B (value 9, 10.00), not both: A wins."""
    doc = market(
        [{"id": "A", "value": 10, "components": [{"id": "k1"}]}, {"id": "B", "value": 9, "components": [{"id": "k1"}]}],
        [{"id": "p", "amount": "95.00"}],
        [actor("X", bid("a", ("A/k1", "90.00")), bid("b", ("B/k1", "10.00")))])
    got = cleared(doc, backend)
    assert completed(got) == ["A"] and got["cost"] == "90.00"
    assert got["unfunded"][0]["reasons"][0].startswith("outcompeted")


def test_objective_least_cost_among_equal_value(backend):
    """Either A or B gives value 10; B is cheaper, so B."""
    doc = market(
        [{"id": "A", "value": 10, "components": [{"id": "k1"}]}, {"id": "B", "value": 10, "components": [{"id": "k1"}]}],
        [{"id": "p", "amount": "95.00"}],
        [actor("X", bid("a", ("A/k1", "90.00")), bid("b", ("B/k1", "80.00")))])
    got = cleared(doc, backend)
    assert completed(got) == ["B"] and got["cost"] == "80.00"


def test_objective_fractional_values(backend):
    """Values need not be whole: 2.5 + 0.25 beats 2.7."""
    doc = market(
        [{"id": "A", "value": 2.5, "components": [{"id": "k1"}]}, {"id": "B", "value": 0.25, "components": [{"id": "k1"}]},
         {"id": "C", "value": 2.7, "components": [{"id": "k1"}]}],
        [{"id": "p", "amount": "20.00"}],
        [actor("X", bid("a", ("A/k1", "10.00")), bid("b", ("B/k1", "10.00")), bid("c", ("C/k1", "11.00")))])
    got = cleared(doc, backend)
    assert completed(got) == ["A", "B"] and got["value"] == pytest.approx(2.75)


def test_rule7_a_challenge_beyond_one_actors_capacity_names_that_actor(backend):
    """Only X bids, and its two bids need load 2 of its 1.5: the reason names X and its limit."""
    doc = market(
        [{"id": "A", "value": 10, "components": [{"id": "k1"}, {"id": "k2"}]}],
        [{"id": "p", "amount": "1000.00"}],
        [actor("X", bid("x1", ("A/k1", "60.00"), load=1), bid("x2", ("A/k2", "60.00"), load=1),
               capacity={"load": 1.5})])
    got = cleared(doc, backend)
    assert got["unfunded"][0]["reasons"] == [
        "actor capacity: the bids it needs cannot be accepted together within the limits of X (load 1.5)"]


def test_outcompeted_names_the_rivals_that_took_the_money_most_first(backend):
    """60 pledged; A (value 10, 60) beats B (value 5, 30) and C (value 4, 30) together (9); C's reason
    names A, which took all 60."""
    doc = market(
        [{"id": "A", "value": 10, "components": [{"id": "k1"}]}, {"id": "B", "value": 5, "components": [{"id": "k1"}]},
         {"id": "C", "value": 4, "components": [{"id": "k1"}]}],
        [{"id": "p", "amount": "60.00"}],
        [actor("X", bid("a", ("A/k1", "60.00")), bid("b", ("B/k1", "30.00")), bid("c", ("C/k1", "30.00")))])
    got = cleared(doc, backend)
    assert completed(got) == ["A"]
    reasons = {u["challenge"]: u["reasons"] for u in got["unfunded"]}
    assert reasons["C"] == [
        "outcompeted for money: it would cost at least 30.00 (value 4), but the money that may pay for it is spent "
        "on completed challenges that together deliver more value: A (value 10, took 60.00); the 0.00 of it left "
        "unspent cannot pay for it within the pledges' amounts and limits"]
