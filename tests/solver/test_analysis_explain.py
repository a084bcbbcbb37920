"""`swarm explain`: least extra money, who paid, reliability slack, marginal value of money."""
import json

from solver.analysis.explain import explain, least_extra
from solver.loading import parse_market

from .helpers import SMALL, WATER, run, solve, write


def test_least_extra_money_keeps_the_value_delivered():
    market = parse_market(SMALL)
    cents, pays_for, value = least_extra(market, "gulu", 100)
    assert cents == 5000                   # 120 + 80 needed, 150 pledged
    assert sum(c for _, c in pays_for) == 5000
    assert value == 150


def test_explanation_of_a_small_market():
    result = explain(parse_market(SMALL), step=0.5)
    (gulu,) = result.extras
    assert gulu.challenge == "gulu" and gulu.cents == 5000 and gulu.confirmed
    assert "outcompeted" in gulu.reason
    (kisumu,) = result.completed
    assert kisumu.paid_by == [("p", "f", 12000)]
    assert abs(kisumu.slack - 0.1) < 1e-9
    (pool,) = result.marginals
    assert pool.step == 7500 and pool.value_gain == 50        # +75 pays gulu too
    assert "re-solve" in result.method and "LP relaxation (approximation)" in result.method
    assert pool.lp_dual is not None and pool.lp_dual > 0


def test_unreachable_target_is_not_fixable_by_money():
    doc = json.loads(json.dumps(SMALL))
    doc["challenges"][1]["reliability"] = 0.9
    result = explain(parse_market(doc), step=0.5)
    (gulu,) = result.extras
    assert gulu.cents is None and "reliability target" in gulu.reason


def test_explain_cli_with_an_allocation(tmp_path):
    market = write(tmp_path, SMALL)
    allocation = solve(tmp_path, market)
    result = run("explain", market, allocation)
    assert result.exit_code == 0, result.output
    assert "least extra money: 50.00 USD; confirmed" in result.output
    assert "kisumu (value 100, cost 120.00): paid by p 120.00" in result.output
    assert "target 0.8, slack +0.100" in result.output
    assert "re-solve" in result.output


def test_explain_water_json():
    result = run("explain", WATER, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    extras = {e["challenge"]: e for e in doc["not_completed"]}
    assert extras["turkana-solar"]["least_extra"] is not None and extras["turkana-solar"]["confirmed"]
    assert extras["machinga-schools"]["least_extra"] is None
    assert doc["marginal_value_of_money"]["method"].startswith("re-solve")
    assert all("lp_relaxation_dual_per_unit" in p for p in doc["marginal_value_of_money"]["pools"])


def test_explain_rejects_an_allocation_of_another_market(tmp_path):
    market = write(tmp_path, SMALL)
    other = json.loads(json.dumps(SMALL))
    other["challenges"][0]["value"] = 7          # the allocation then claims value 7 for kisumu, not 100
    other["challenges"][1]["value"] = 0
    allocation = solve(tmp_path, write(tmp_path, other, "other.json"))
    result = run("explain", market, allocation)
    assert result.exit_code == 2 and "not a valid allocation of this market" in result.output
    assert "Traceback" not in result.output
