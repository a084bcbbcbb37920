"""Public benchmarks with known optima (../shared/benchmarks/orlib): the quick ones.

All 49 run in bench/orlib.py; these few keep the engine honest in every test run.
"""
import json

import pytest

from solver.clearing import ClearOptions, clear
from solver.loading import load_market
from solver.verify import verify_allocation

QUICK = ["scp41", "scp45", "scp410", "a05100", "c05100"]


@pytest.mark.parametrize("name", QUICK)
def test_reaches_the_published_optimum(orlib, name, backend):
    entry = json.loads((orlib / "optima.json").read_text())[name]
    market = load_market(orlib / entry["market"])
    allocation = clear(market, ClearOptions(backend=backend, explain=False))
    doc = allocation.to_document()
    assert (doc["status"], doc["value"], doc["cost"]) == (
        entry["expected"]["status"], entry["expected"]["value"], entry["expected"]["cost"])
    assert verify_allocation(market, doc) == []
    (pledge,) = doc["pledges"]
    assert pledge["spent"] == doc["cost"]
    assert float(pledge["returned"]) == pytest.approx(float(pledge["amount"]) - entry["optimal_cost"])


def test_a_time_limit_returns_a_valid_feasible_allocation(orlib):
    """d05100 takes HiGHS about 99 s to prove; a 1 s limit must still give a valid cover."""
    entry = json.loads((orlib / "optima.json").read_text())["d05100"]
    market = load_market(orlib / entry["market"])
    doc = clear(market, ClearOptions(backend="highs", time_limit=1.0, explain=False)).to_document()
    assert doc["status"] == "feasible"
    assert verify_allocation(market, doc) == []
    assert doc["value"] == 1 and float(doc["cost"]) >= entry["optimal_cost"]
