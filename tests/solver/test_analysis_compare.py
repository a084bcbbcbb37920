"""`swarm compare`: pooled optimum vs greedy pooled vs funders alone; every baseline allocation verifies."""
import json

import pytest

from solver.analysis.compare import alone, compare, greedy
from solver.loading import load_market, parse_market
from solver.verify import verify_allocation

from .helpers import DIDACTIC, POOLING, SMALL, WATER, run, write


@pytest.mark.parametrize("path", DIDACTIC, ids=lambda p: p.stem)
def test_baselines_on_didactic_fixtures_verify_and_never_beat_the_optimum(path):
    market = load_market(path)
    outcomes = compare(market)
    best = outcomes["pooled"].allocation.value
    for name, outcome in outcomes.items():
        assert verify_allocation(market, outcome.allocation.to_document()) == [], name
        assert outcome.allocation.value <= best
        m = outcome.metrics()
        assert m["spent"] + m["idle"] == m["pledged"]


def test_funders_alone_cannot_pool_scoped_pledges():
    market = parse_market(POOLING)
    assert compare(market)["pooled"].allocation.value == 10
    solo = alone(market)
    assert solo.value == 0 and solo.spent == 0
    assert solo.unfunded[0].reasons[0].startswith("funders alone")
    assert greedy(market).value == 10


def test_greedy_takes_value_per_cost_order_and_respects_money():
    market = parse_market(SMALL)
    allocation = greedy(market)
    assert [c.id for c in allocation.completed] == ["kisumu"]     # 100/120 beats 50/80; then 30 left
    assert allocation.solver["order"] == ["kisumu", "gulu"]
    assert verify_allocation(market, allocation.to_document()) == []


def test_compare_on_water_json_and_out_dir(tmp_path):
    out = tmp_path / "three"
    result = run("compare", WATER, "--json", "--out-dir", out)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"pooled", "greedy", "alone"}
    for name in doc:
        assert {"value", "completed", "spent", "idle", "mean_reliability"} <= set(doc[name])
    assert doc["pooled"]["value"] >= doc["greedy"]["value"] >= doc["alone"]["value"]
    assert doc["pooled"]["value"] > doc["alone"]["value"]
    for name in doc:
        verified = run("verify", WATER, out / f"{name}.allocation.json")
        assert verified.exit_code == 0, verified.output


def test_compare_prints_the_table(tmp_path):
    result = run("compare", write(tmp_path, POOLING))
    assert result.exit_code == 0, result.output
    assert "pooled optimum" in result.output and "funders alone" in result.output
    assert "money left idle" in result.output and "mean achieved reliability" in result.output
    assert "pooling delivers 10 more value than funders acting alone" in result.output


def test_compare_bad_file_exits_2(tmp_path):
    result = run("compare", tmp_path / "missing.json")
    assert result.exit_code == 2 and "no such file" in result.output


def test_greedy_spends_narrowly_scoped_money_first():
    doc = {
        "format": "swarm-market/1", "name": "narrow",
        "challenges": [{"id": "a", "value": 20, "components": [{"id": "k"}]},
                       {"id": "b", "value": 10, "components": [{"id": "k"}]}],
        "funders": [{"id": "broad", "pledges": [{"id": "broad", "amount": "100.00"}]},
                    {"id": "narrow", "pledges": [{"id": "narrow", "amount": "100.00", "scope": {"challenges": ["a"]}}]}],
        "actors": [{"id": "x", "bids": [{"id": "ba", "items": [{"component": "a/k", "price": "100.00"}]},
                                        {"id": "bb", "items": [{"component": "b/k", "price": "100.00"}]}]}],
    }
    market = parse_market(doc)
    allocation = greedy(market)
    assert [c.id for c in allocation.completed] == ["a", "b"]
    assert {(f.pledge, f.component) for f in allocation.flows} == {("narrow", "a/k"), ("broad", "b/k")}
