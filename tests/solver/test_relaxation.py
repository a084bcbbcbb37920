"""The LP relaxation's allocation (solver/relaxation.py) and the bound and gap the clearing reports."""
import pulp
import pytest

from solver import solving
from solver.clearing import ClearOptions, clear
from solver.generate import generate
from solver.loading import parse_market
from solver.relaxation import relax_and_fix
from solver.verify import verify_allocation
from tests.solver.helpers import model_of


@pytest.fixture(scope="module")
def market():
    return parse_market(generate(30, 90, 45, seed=11))


def test_relaxation_gives_a_bound_and_an_allocation_the_model_accepts(market, backend):
    model = model_of(market)
    model.prob.sense = pulp.LpMaximize
    model.prob.setObjective(model.value)
    bounds = {var.name: (var.lowBound, var.upBound) for var in model.prob.variables()}
    result = relax_and_fix(model, backend, time_limit=60)
    assert result.found and result.bound is not None
    found = pulp.value(model.value)
    assert 0 < found <= result.bound + 1e-6
    # Every row holds at the allocation left in the variables (up to the solver's relative tolerance:
    # money rows hold millions of cents), and every bound was restored.
    assert all(row.valid(1e-7 * max(1.0, sum(abs(c * (v.varValue or 0)) for v, c in row.items())))
               for row in model.prob.constraints())
    assert all(abs(var.varValue - round(var.varValue)) < 1e-6 for var in model.accept.values())
    assert {var.name: (var.lowBound, var.upBound) for var in model.prob.variables()} == bounds
    optimum = clear(market, ClearOptions(backend=backend, explain=False))
    assert found <= optimum.value <= result.bound + 1e-6


def test_a_time_limited_big_model_starts_from_the_relaxation(market, monkeypatch):
    monkeypatch.setattr(solving, "RELAX_FIRST_BINARIES", 1)
    allocation = clear(market, ClearOptions(backend="highs", time_limit=60, explain=False))
    phases = [p["phase"] for p in allocation.solver["phases"]]
    assert phases[:3] == ["greedy", "relaxation", "value"]
    relaxation = allocation.solver["phases"][1]
    assert relaxation["outcome"] == "feasible" and relaxation["value"] <= allocation.value <= relaxation["bound"]
    assert verify_allocation(market, allocation.to_document()) == []
    assert allocation.solver["bound"] >= allocation.value and allocation.solver["gap"] >= 0


def test_without_a_time_limit_the_search_alone_proves_the_optimum(market):
    allocation = clear(market, ClearOptions(backend="highs", explain=False))
    assert "relaxation" not in [p["phase"] for p in allocation.solver["phases"]]
    assert allocation.status == "optimal"
    assert allocation.solver["gap"] == 0 and allocation.solver["bound"] == allocation.value
