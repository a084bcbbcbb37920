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


STANDBY = {
    "format": "swarm-market/1", "name": "standby",
    "challenges": [{"id": "w", "value": 100, "components": [{"id": "drill"}]}],
    "funders": [{"id": "f", "pledges": [{"id": "p", "amount": "200"}]}],
    "actors": [
        {"id": "flaky", "reliability": 0.5, "bids": [{"id": "a", "items": [{"component": "w/drill", "price": "90"}]}]},
        # Cheaper and sure, but its budget kept it out of the clearing; a repair (no capacities) can call it in.
        {"id": "steady", "capacity": {"budget": "50"},
         "bids": [{"id": "b", "items": [{"component": "w/drill", "price": "80"}]}]},
    ],
}


def test_repair_calls_in_a_losing_bid_when_the_winner_fails(tmp_path):
    from solver.analysis.repair import Repairer, repair_document
    market = parse_market(STANDBY)
    doc = json.loads(solve(tmp_path, write(tmp_path, STANDBY)).read_text())
    assert [a["bid"] for a in doc["awards"]] == ["a"]
    repair = repair_document(market, doc, {"w"}, {"a"})
    assert repair["format"] == "swarm-market/1.1" and repair["funders"][0]["pledges"][0]["amount"] == "90.00"
    assert [b["id"] for a in repair["actors"] for b in a["bids"]] == ["b"] and "capacity" not in str(repair)
    assert Repairer(market, doc).repair(frozenset({"w"}), frozenset({"a"})).called == ("b",)
    halved = repair_document(market, doc, {"w"}, {"a"}, standby_percent=50)
    assert [i["price"] for a in halved["actors"] for b in a["bids"] for i in b["items"]] == ["40.00"]
    without = simulate(market, doc, runs=2000, seed=5).to_document()
    with_repair = simulate(market, doc, runs=2000, seed=5, repair=True).to_document()
    assert abs(without["challenges"][0]["p_completed"] - 0.5) < 0.05
    assert with_repair["challenges"][0]["p_completed"] == 1.0
    # Failures drawn from a track record instead of the declared reliability.
    sure = simulate(market, doc, runs=500, seed=5, reliabilities={"flaky": 1.0}).to_document()
    assert sure["challenges"][0]["p_completed"] == 1.0


def test_simulate_cli_repair_and_reliabilities(tmp_path):
    market = write(tmp_path, STANDBY)
    allocation = solve(tmp_path, market)
    result = run("simulate", market, allocation, "--runs", "500", "--repair")
    assert result.exit_code == 0, result.output
    assert "with standby bids" in result.output and "(100.0% of planned); without:" in result.output
    odds = tmp_path / "odds.json"
    odds.write_text(json.dumps({"flaky": 0.25}))
    shown = json.loads(run("simulate", market, allocation, "--runs", "2000", "--json", "--reliabilities",
                           str(odds)).stdout)
    assert abs(shown["challenges"][0]["p_completed"] - 0.25) < 0.05
    odds.write_text(json.dumps({"nobody": 0.5}))
    bad = run("simulate", market, allocation, "--reliabilities", str(odds))
    assert bad.exit_code == 2 and "no actor 'nobody'" in bad.output
    odds.write_text(json.dumps({"flaky": 1.5}))
    assert "(0, 1]" in run("simulate", market, allocation, "--reliabilities", str(odds)).output
