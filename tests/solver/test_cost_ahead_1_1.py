"""The early cost phase (solver/cost_ahead.py) and the bounded child (solver/bounded.py) on version-1.1
markets: phase 2 started beside phase 1 gives the same allocation, byte for byte, as phase 2 after it
(its starts carry the 1.1 binaries, engaged and uses); and a child clearing an infeasible market answers
with the allocation that says so."""
import json

import pytest

from solver import backends, bounded, cost_ahead
from solver import generate as generator
from solver.clearing import ClearOptions, clear
from solver.loading import parse_market
from solver.verify import verify_allocation
from tests.solver.helpers import actor, bid, without_solver

pytestmark = pytest.mark.skipif(not backends.available("highs"), reason="highspy is not installed")


@pytest.mark.skipif(backends.highs_threads() < 2, reason="starts early only with two cores for HiGHS")
def test_early_cost_phase_gives_the_same_allocation_on_a_1_1_market(monkeypatch):
    market = parse_market(generator.generate(40, 120, 60, seed=5, version="1.1"))
    assert market.uses_1_1 and any(p.conditions for p in market.pledges)
    monkeypatch.setattr(cost_ahead, "START_GAP", 1.0)
    early = clear(market, ClearOptions(backend="highs", decompose=False, explain=False))
    late = clear(market, ClearOptions(backend="highs", decompose=False, explain=False, cost_early=False))
    assert any(p.get("started_early") for p in early.solver["phases"])
    assert early.status == late.status == "optimal"
    assert without_solver(early.to_document()) == without_solver(late.to_document())
    assert verify_allocation(market, early.to_document()) == []


def test_a_bounded_child_answers_an_infeasible_market():
    """The fixed bid costs 90 and the only pledge holds 10."""
    doc = {"format": "swarm-market/1.1", "name": "infeasible",
           "challenges": [{"id": "W", "value": 1, "components": [{"id": "k"}]}],
           "funders": [{"id": "F", "pledges": [{"id": "p", "amount": "10"}]}],
           "actors": [actor("A", bid("w", ("W/k", "90"), fixed=True))]}
    allocation = bounded.clear_in_child(json.dumps(doc).encode(), 20, True, 60, start_method="fork")
    assert allocation["status"] == "infeasible" and allocation["awards"] == [] and allocation["flows"] == []
    assert allocation["unfunded"][0]["challenge"] == "W"
