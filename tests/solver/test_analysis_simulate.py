"""`swarm simulate`: seeded Monte-Carlo delivery."""
import json

from solver.analysis.simulate import simulate
from solver.loading import parse_market

from .helpers import SMALL, WATER, run, solve, write


def test_simulation_matches_reliabilities_and_is_seeded(tmp_path):
    market = parse_market(SMALL)
    doc = json.loads(solve(tmp_path, write(tmp_path, SMALL)).read_text())
    first = simulate(market, doc, runs=4000, seed=3).to_document()
    again = simulate(market, doc, runs=4000, seed=3).to_document()
    assert first == again
    (kisumu,) = first["challenges"]
    assert abs(kisumu["p_completed"] - 0.9) < 0.03
    assert kisumu["planned_value"] == 100 and kisumu["p50"] == 100
    assert first["total"]["all_delivered"] == kisumu["p_completed"]
    assert simulate(market, doc, runs=4000, seed=4).to_document() != first


def test_simulate_cli_on_water(tmp_path):
    allocation = solve(tmp_path, WATER)
    result = run("simulate", WATER, allocation, "--runs", "2000", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert "2000 runs, seed 1; planned value 112,000" in result.output
    assert "kitui-boreholes" in result.output and "meets target" in result.output
    as_json = run("simulate", WATER, allocation, "--runs", "2000", "--seed", "1", "--json")
    doc = json.loads(as_json.stdout)
    assert doc["runs"] == 2000 and len(doc["challenges"]) == 7


def test_simulate_bad_input(tmp_path):
    market = write(tmp_path, SMALL)
    allocation = solve(tmp_path, market)
    assert run("simulate", market, allocation, "--runs", "0").exit_code == 2
    result = run("simulate", market, tmp_path / "nope.json")
    assert result.exit_code == 2 and "no such file" in result.output
    result = run("simulate", WATER, allocation)
    assert result.exit_code == 2 and "not a valid allocation of this market" in result.output
