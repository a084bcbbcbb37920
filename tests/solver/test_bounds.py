"""The engine's bounds on input (solver/bounds.py): markets beyond them are refused at loading with the path
and the bound; a market with every number at its bound clears right on both backends."""
from __future__ import annotations

import copy

import pytest

from solver import backends
from solver.clearing import ClearOptions, clear
from solver.loading import MarketError, parse_market
from solver.verify import verify_allocation

# Extreme but valid by the format: CBC completed b (value 1) instead of a (value 10^12), HiGHS a.
EXTREME = {
    "format": "swarm-market/1",
    "challenges": [
        {"id": "a", "value": 1e12, "reliability": 0.5, "components": [
            {"id": "x", "quantity": 999999999}, {"id": "y", "critical": False, "value": 1e12}]},
        {"id": "b", "value": 1, "components": [{"id": "x", "quantity": 3}]}],
    "funders": [
        {"id": "f", "pledges": [{"id": "p", "amount": "10000000000000.00"}]},
        {"id": "g", "pledges": [{"id": "m", "amount": "100.00", "match": 100},
                                {"id": "s", "amount": "1.00", "max_share": 1e-6}]}],
    "actors": [{"id": "z", "capacity": {"load": 1e12, "budget": "10000000000000.00"}, "bids": [
        {"id": "b1", "items": [{"component": "a/x", "price": "9999999999999.99"}], "load": 1e12, "reliability": 0.6},
        {"id": "b2", "items": [{"component": "a/y", "price": "0.01"}], "load": 1},
        {"id": "b3", "items": [{"component": "b/x", "price": "0.02"}], "load": 1}]}],
}


def test_a_market_beyond_the_bounds_is_refused_with_each_path_and_bound():
    with pytest.raises(MarketError) as caught:
        parse_market(EXTREME)
    found = {p.path: p.message for p in caught.value.problems}
    assert found == {
        "challenges[0].value": "1000000000000.0 must be at most 1,000,000,000: the engine's bound for values",
        "challenges[0].components[1].value":
            "1000000000000.0 must be at most 1,000,000,000: the engine's bound for values",
        "funders[0].pledges[0].amount":
            "amount '10000000000000.00' must be at most 99,999,999.99: the engine's bound for money",
        "funders[1].pledges[1].max_share": "1e-06 must be at least 0.001: the engine's bound for max_share",
        "actors[0].capacity.budget":
            "amount '10000000000000.00' must be at most 99,999,999.99: the engine's bound for money",
        "actors[0].capacity.load": "1000000000000.0 must be at most 1,000,000: the engine's bound for loads",
        "actors[0].bids[0].items[0].price":
            "amount '9999999999999.99' must be at most 99,999,999.99: the engine's bound for money",
        "actors[0].bids[0].load": "1000000000000.0 must be at most 1,000,000: the engine's bound for loads",
    }


@pytest.mark.parametrize("path, value, message", [
    (["funders", 1, "pledges", 0, "match"], 1e25, "must be at most 1,000: the engine's bound for matching ratios"),
    (["funders", 1, "pledges", 0, "match"], 1e-9, "must be at least 0.001: the engine's bound for matching ratios"),
    (["challenges", 0, "reliability"], 1e-300, "must be at least 0.001: the engine's bound for probabilities"),
    (["actors", 0, "reliability"], 1e-4, "must be at least 0.001"),
    (["actors", 2, "bids", 1, "reliability"], 1e-4, "must be at least 0.001"),
    (["challenges", 0, "components", 0, "min_reliability"], 1e-4, "must be at least 0.001"),
    (["challenges", 1, "value"], 1e-4, "must be at least 0.001 (or 0)"),
    (["challenges", 1, "value"], 0.0015, "must have at most 3 decimals"),
    (["actors", 2, "bids", 0, "load"], 1e-300, "must be at least 0.001 (or 0)"),
    (["challenges", 0, "components", 0, "max_unit_price"], "100000000.00", "must be at most 99,999,999.99"),
])
def test_each_bound_is_named_at_its_path(path, value, message):
    document = copy.deepcopy(AT_BOUNDS)
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(MarketError) as caught:
        parse_market(document)
    [problem] = caught.value.problems
    assert problem.path == "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path).lstrip(".")
    assert message in problem.message, problem


# Every number at its bound together, largest and smallest beside each other: the best allocation completes
# every challenge and funds every optional component (value 3,000,000,000.002).
AT_BOUNDS = {
    "format": "swarm-market/1",
    "challenges": [
        {"id": "a", "value": 1e9, "reliability": 0.001, "components": [
            {"id": "x", "quantity": 999999999, "max_unit_price": "99999999.99"},
            {"id": "y", "critical": False, "value": 1e9}, {"id": "w", "critical": False, "value": 0.001}]},
        {"id": "b", "value": 0.001, "components": [{"id": "x", "quantity": 3, "min_reliability": 0.001}]},
        {"id": "c", "value": 1e9, "components": [{"id": "x"}]}],
    "funders": [
        {"id": "f", "pledges": [{"id": "p", "amount": "99999999.99"}, {"id": "p2", "amount": "0.03"}]},
        {"id": "g", "pledges": [{"id": "m", "amount": "99999999.99", "match": 1000},
                                {"id": "m2", "amount": "0.01", "match": 0.001},
                                {"id": "s", "amount": "1.00", "max_share": 0.001}]}],
    "actors": [
        {"id": "z", "reliability": 0.001, "capacity": {"load": 1e6, "budget": "99999999.99"}, "bids": [
            {"id": "b1", "items": [{"component": "a/x", "price": "99999999.99"}], "load": 1e6, "reliability": 0.0011}]},
        {"id": "q", "capacity": {"load": 0.001, "budget": "0.01"}, "bids": [
            {"id": "c1", "items": [{"component": "c/x", "price": "0.01"}], "load": 0.001},
            {"id": "c2", "items": [{"component": "c/x", "price": "99999999.99"}], "load": 0.001}]},
        {"id": "r", "reliability": 1, "bids": [
            {"id": "b2", "items": [{"component": "a/y", "price": "0.01"}], "load": 0.001, "reliability": 1},
            {"id": "b2w", "items": [{"component": "a/w", "price": "0.01"}], "load": 0, "reliability": 1},
            {"id": "b3", "items": [{"component": "b/x", "price": "0.02"}], "load": 0.001}]}],
}


@pytest.mark.parametrize("backend", backends.BACKENDS)
def test_a_market_at_the_bounds_clears_right_on_each_backend(backend):
    market = parse_market(AT_BOUNDS)
    allocation = clear(market, ClearOptions(backend=backend, workers=1))
    document = allocation.to_document()
    assert verify_allocation(market, document) == []
    assert document["status"] == "optimal"
    assert document["value"] == pytest.approx(3_000_000_000.002, abs=1e-6)
    assert sorted(award["bid"] for award in document["awards"]) == ["b1", "b2", "b2w", "b3", "c1"]
    assert document["cost"] == "100000000.04"


def test_swarm_validate_refuses_the_extreme_market_and_accepts_the_one_at_the_bounds(tmp_path):
    import json

    from tests.swarm import run
    extreme, at_bounds = tmp_path / "extreme.json", tmp_path / "at-bounds.json"
    extreme.write_text(json.dumps(EXTREME))
    at_bounds.write_text(json.dumps(AT_BOUNDS))
    result = run("validate", extreme)
    assert result.exit_code == 2
    assert ("funders[0].pledges[0].amount: amount '10000000000000.00' must be at most 99,999,999.99: "
            "the engine's bound for money") in result.output
    assert run("validate", at_bounds).exit_code == 0
