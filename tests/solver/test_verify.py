"""The independent checker catches every kind of broken allocation."""
import copy

import pytest

from solver.clearing import clear
from solver.loading import parse_market
from solver.verify import recompute, verify_allocation

MARKET = parse_market({
    "format": "swarm-market/1", "name": "verify-me",
    "challenges": [
        {"id": "A", "value": 100, "reliability": 0.8, "tags": ["t1"], "components": [
            {"id": "k1", "quantity": 2}, {"id": "k2"},
            {"id": "opt", "critical": False, "value": 10, "requires": ["k2"]}]},
        {"id": "B", "value": 60, "components": [{"id": "k1", "max_unit_price": "50"}]},
        {"id": "C", "value": 5, "components": [{"id": "k1"}]}],
    "funders": [
        {"id": "F1", "pledges": [{"id": "p1", "amount": "100.00"}, {"id": "p2", "amount": "50.00"}]},
        {"id": "F2", "pledges": [{"id": "p3", "amount": "80", "max_share": 0.5, "scope": {"tags": ["t1"]}}]},
        {"id": "F3", "pledges": [{"id": "m1", "amount": "40", "match": 1, "scope": {"challenges": ["B"]}}]}],
    "actors": [
        {"id": "X", "reliability": 0.95, "capacity": {"budget": "200", "load": 2}, "bids": [
            {"id": "x1", "items": [{"component": "A/k1", "price": "60"}, {"component": "A/k2", "price": "30.01"}], "load": 1},
            {"id": "x2", "items": [{"component": "B/k1", "price": "45"}], "exclusive_group": "g", "load": 1},
            {"id": "x3", "items": [{"component": "A/opt", "price": "10"}], "exclusive_group": "g"}]},
        {"id": "Y", "reliability": 0.7, "bids": [
            {"id": "y1", "items": [{"component": "A/k1", "quantity": 1, "price": "20"}]},
            {"id": "y3", "items": [{"component": "A/k2", "price": "5"}]},
            {"id": "y4", "items": [{"component": "B/k1", "price": "70"}]},
            {"id": "y5", "items": [{"component": "C/k1", "price": "500"}]}]}],
})


@pytest.fixture(scope="module")
def good():
    return clear(MARKET).to_document()


def test_the_engines_allocation_is_valid(good):
    assert verify_allocation(MARKET, good) == []
    totals = recompute(MARKET, good)
    assert totals == {"completed": 2, "value": 160, "cost": 13501, "spent": 13501, "returned": 27000 - 13501}


def tamper(doc, change):
    doc = copy.deepcopy(doc)
    change(doc)
    return doc


def flow(doc, pledge, component):
    return next(f for f in doc["flows"] if f["pledge"] == pledge and f["component"] == component)


def add_award(doc, bid_id):
    bid = next(b for b in MARKET.bids if b.id == bid_id)
    doc["awards"].append({"bid": bid.id, "actor": bid.actor_id, "price": f"{bid.price / 100:.2f}",
                          "items": [{"component": i.component, "quantity": i.quantity, "price": f"{i.price / 100:.2f}"}
                                    for i in bid.items]})


CASES = {
    "unknown bid": (lambda d: d["awards"].append({"bid": "zz"}), "unknown bid"),
    "wrong award price": (lambda d: d["awards"][0].update(price="1.00"), "pay as bid"),
    "partial bundle": (lambda d: d["awards"][0]["items"].pop(), "accepted whole"),
    "wrong actor": (lambda d: d["awards"][0].update(actor="Y"), "belongs to actor X"),
    "award twice": (lambda d: d["awards"].append(copy.deepcopy(d["awards"][0])), "awarded twice"),
    "partly covered": (lambda d: (d["awards"].pop(0), add_award(d, "y1")), "cover 1 of 2"),
    "flow missing": (lambda d: d["flows"].pop(0), "flows total"),
    "flow too big": (lambda d: flow(d, "p1", "A/k1").update(amount="100.00"), "flows total"),
    "flow out of scope": (lambda d: d["flows"].append({"pledge": "m1", "funder": "F3", "component": "A/k1", "amount": "1.00"}),
                          "scope does not admit"),
    "negative flow": (lambda d: flow(d, "p1", "A/k1").update(amount="-1.00"), "negative amount"),
    "float flow": (lambda d: flow(d, "p1", "A/k1").update(amount=40.0), "decimal string"),
    "wrong funder": (lambda d: flow(d, "p1", "A/k1").update(funder="F2"), "belongs to funder F1"),
    "summary value": (lambda d: d.update(value=999), "value: 999"),
    "summary cost": (lambda d: d.update(cost="1.00"), "cost: '1.00'"),
    "challenge completed flag": (lambda d: d["challenges"][0].update(completed=False), "completed is False"),
    "challenge reliability": (lambda d: d["challenges"][0].update(reliability=0.5), "reliability 0.5"),
    "component row": (lambda d: d["challenges"][0]["components"][0].update(quantity=7), "component k1 says"),
    "pledge spent": (lambda d: d["pledges"][0].update(spent="0.00"), "pledges: p1 says"),
    "challenges order": (lambda d: d["challenges"].reverse(), "in market order"),
    "unfunded missing": (lambda d: d["unfunded"].clear(), "exactly one entry"),
    "unfunded for completed": (lambda d: d["unfunded"].append({"challenge": "A", "reasons": ["x"]}), "completed or unknown"),
    "unfunded without reason": (lambda d: d["unfunded"][0].update(reasons=[]), "at least one reason"),
    "format": (lambda d: d.update(format="nope"), "format"),
    "status": (lambda d: d.update(status="great"), "status"),
}


@pytest.mark.parametrize("name", CASES)
def test_tampering_is_caught(good, name):
    change, expected = CASES[name]
    problems = verify_allocation(MARKET, tamper(good, change))
    assert any(expected in p for p in problems), problems


def _swap_to_capped(doc):
    """Move all of A/k1's money to the max_share pledge p3."""
    doc["flows"] = [f for f in doc["flows"] if f["component"] != "A/k1"]
    doc["flows"].append({"pledge": "p3", "funder": "F2", "component": "A/k1", "amount": "60.00"})


def test_max_share_is_checked(good):
    problems = verify_allocation(MARKET, tamper(good, _swap_to_capped))
    assert any("over its max_share 0.5" in p for p in problems), problems


def test_max_share_allows_less_than_a_cent_of_rounding(good):
    def half(d):
        d["flows"] = [f for f in d["flows"] if f["component"] != "A/k2"]
        d["flows"] += [{"pledge": "p3", "funder": "F2", "component": "A/k2", "amount": "15.01"},
                       {"pledge": "p1", "funder": "F1", "component": "A/k2", "amount": "15.00"}]
        d["flows"].sort(key=lambda f: f["pledge"])
    doc = tamper(good, half)
    for row in doc["pledges"]:
        spent = sum(int(f["amount"].replace(".", "")) for f in doc["flows"] if f["pledge"] == row["id"])
        amount = int(row["amount"].replace(".", ""))
        row["spent"], row["returned"] = f"{spent / 100:.2f}", f"{(amount - spent) / 100:.2f}"
    assert verify_allocation(MARKET, doc) == []      # 15.01 is within a cent of 0.5 x 30.01


def test_match_is_checked(good):
    def matched_only(d):
        d["flows"] = [f for f in d["flows"] if f["component"] != "B/k1"]
        d["flows"] += [{"pledge": "m1", "funder": "F3", "component": "B/k1", "amount": "40.00"},
                       {"pledge": "p1", "funder": "F1", "component": "B/k1", "amount": "5.00"}]
    problems = verify_allocation(MARKET, tamper(good, matched_only))
    assert any("over 1 x the 5.00 that non-matching pledges pay" in p for p in problems), problems


def test_capacity_exclusive_and_reliability_are_checked(good):
    def everything(d):
        add_award(d, "x3")   # same exclusive group as x2, and over X's load
        d["flows"].append({"pledge": "p1", "funder": "F1", "component": "A/opt", "amount": "10.00"})
    problems = verify_allocation(MARKET, tamper(good, everything))
    assert any("share exclusive group 'g'" in p for p in problems), problems

    def unreliable(d):
        add_award(d, "y1")
        d["flows"].append({"pledge": "p2", "funder": "F1", "component": "A/k1", "amount": "20.00"})
    problems = verify_allocation(MARKET, tamper(good, unreliable))
    assert any("reliability 0.665000 is below its target 0.8" in p for p in problems), problems


def test_budget_and_load_are_checked():
    market = parse_market({"format": "swarm-market/1", "challenges": [
        {"id": "A", "value": 1, "components": [{"id": "k"}]}], "funders": [
        {"id": "F", "pledges": [{"id": "p", "amount": "100"}]}], "actors": [
        {"id": "X", "capacity": {"budget": "5", "load": 0.5}, "bids": [
            {"id": "x", "load": 1, "items": [{"component": "A/k", "price": "10"}]}]}]})
    doc = clear(market).to_document()
    assert doc["awards"] == []
    add = {"bid": "x", "actor": "X", "price": "10.00", "items": [{"component": "A/k", "quantity": 1, "price": "10.00"}]}
    doc["awards"].append(add)
    doc["flows"].append({"pledge": "p", "funder": "F", "component": "A/k", "amount": "10.00"})
    problems = verify_allocation(market, doc)
    assert any("over its budget 5.00" in p for p in problems)
    assert any("accepted load 1 is over its capacity 0.5" in p for p in problems)


def test_pledge_over_its_amount_is_caught():
    market = parse_market({"format": "swarm-market/1", "challenges": [
        {"id": "A", "value": 1, "components": [{"id": "k"}]}], "funders": [
        {"id": "F", "pledges": [{"id": "p", "amount": "5"}, {"id": "q", "amount": "5"}]}], "actors": [
        {"id": "X", "bids": [{"id": "x", "items": [{"component": "A/k", "price": "10"}]}]}]})
    doc = clear(market).to_document()
    assert doc["value"] == 1
    doc["flows"] = [{"pledge": "p", "funder": "F", "component": "A/k", "amount": "10.00"}]
    assert any("more than its amount 5.00" in p for p in verify_allocation(market, doc))


def test_garbage_is_reported_not_raised():
    assert verify_allocation(MARKET, []) == ["the allocation is not a JSON object"]
    assert verify_allocation(MARKET, {"format": "swarm-allocation/1", "status": "optimal", "awards": 3})
