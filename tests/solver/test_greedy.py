"""The greedy first allocation (solver/greedy.py): the model accepts it exactly, it is a real cover
paid in whole cents, and a clearing stopped by a time limit keeps at least its value.
"""
from __future__ import annotations

import math

import pulp
from hypothesis import HealthCheck, given, settings

from solver import backends
from solver.clearing import ClearOptions, clear
from solver.greedy import greedy_start
from solver.loading import load_market
from solver.model import Restrictions
from solver.outcome import Outcome
from solver.solution import value_of, warm_start
from solver.verify import verify_allocation
from tests.property.strategies import markets
from tests.solver.helpers import actor, bid, market, model_of

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_accepted(model, solution):
    """Every row of the model holds at the greedy allocation (set as the variables' values)."""
    for (p, key), cents in solution.pays.items():     # money per (pool, component), whole cents
        assert p in model.presolve.admits[key] and cents >= 0 and float(cents).is_integer(), (p, key, cents)
    warm_start(model, solution)                     # sets every variable's value from the solution
    broken = [row.name for row in model.prob.constraints() if not row.valid(eps=1e-6)]
    assert broken == [], broken
    for key in model.components:                     # money adds up exactly, in cents
        cost = sum(price for b, _, price in model.items_on[key] if b in solution.accepted)
        paid = sum(c for (p, k), c in solution.pays.items() if k == key)
        assert paid == cost, key
    assert math.isclose(pulp.value(model.value) or 0, value_of(model, solution), abs_tol=1e-9)


def assert_solver_accepts(model, solution, backend):
    """Fix the binaries to the greedy allocation: the solver finds the model feasible."""
    warm_start(model, solution)
    for n, var in enumerate([*model.accept.values(), *model.done.values(), *model.funded.values()]):
        model.prob += var == round(var.varValue), f"fix_{n}"
    model.prob.setObjective(model.value)
    model.prob.sense = pulp.LpMaximize
    report = backends.solve(model.prob, backend)
    assert report.outcome == "optimal", report


def test_a_small_market_greedily():
    """Two challenges, one pledge enough for one: the better value per cost goes first."""
    challenges = [{"id": "A", "value": 10, "components": [{"id": "k"}]},
                  {"id": "B", "value": 30, "components": [{"id": "k"}, {"id": "x", "critical": False, "value": 5}]}]
    doc = market(challenges, [{"id": "p", "amount": "25"}],
                 [actor("X", bid("a1", ("A/k", "20")), bid("b1", ("B/k", "20")), bid("b2", ("B/k", "15")),
                        bid("bx", ("B/x", "5")))])
    model = model_of(doc)
    solution = greedy_start(model)
    assert sorted(b.id for b in solution.accepted) == ["b2", "bx"]
    assert_accepted(model, solution)
    assert value_of(model, solution) == 35


def test_greedy_meets_reliability_capacity_groups_and_requires():
    challenges = [{"id": "A", "value": 10, "reliability": 0.8,
                   "components": [{"id": "k"}, {"id": "m", "critical": False, "value": 3, "requires": ["r"]},
                                  {"id": "r", "critical": False}]},
                  {"id": "B", "value": 10, "components": [{"id": "k"}]}]
    doc = market(challenges, [{"id": "p", "amount": "100"}],
                 [actor("X", bid("cheap", ("A/k", "1"), reliability=0.5), bid("sure", ("A/k", "9")),
                        bid("m", ("A/m", "1")), bid("r", ("A/r", "1")), bid("bk", ("B/k", "1"), exclusive_group="g"),
                        bid("bk2", ("B/k", "2"), exclusive_group="g"),
                        capacity={"budget": "12"})])
    model = model_of(doc)
    solution = greedy_start(model)
    ids = sorted(b.id for b in solution.accepted)
    assert "cheap" not in ids and "sure" in ids
    assert ("m" in ids) <= ("r" in ids)
    assert sum(1 for i in ids if i.startswith("bk")) <= 1
    assert_accepted(model, solution)


def test_greedy_pays_within_share_caps_and_matching():
    challenges = [{"id": "A", "value": 10, "components": [{"id": "k"}, {"id": "t"}]}]
    pledges = [{"id": "cap", "amount": "100", "max_share": 0.5},
               {"id": "narrow", "amount": "40", "scope": {"challenges": ["A"]}},
               {"id": "match", "amount": "30", "match": 1}]
    doc = market(challenges, pledges, [actor("X", bid("k", ("A/k", "60.01")), bid("t", ("A/t", "20")))])
    model = model_of(doc)
    solution = greedy_start(model)
    assert len(solution.accepted) == 2
    assert_accepted(model, solution)


def test_greedy_respects_restrictions():
    doc = market([{"id": "A", "value": 10, "components": [{"id": "k"}]},
                  {"id": "B", "value": 10, "components": [{"id": "k"}]}],
                 [{"id": "p", "amount": "100"}],
                 [actor("X", bid("a", ("A/k", "10")), bid("b", ("B/k", "10"), exclusive_group="g"),
                        capacity={"budget": "10"})])
    model = model_of(doc, Restrictions(pool_amounts={0: 5}))
    assert greedy_start(model).accepted == []
    model = model_of(doc, Restrictions(budget_left={"X": 1000}, groups_taken=frozenset({("X", "g")})))
    solution = greedy_start(model)
    assert [b.id for b in solution.accepted] == ["a"]
    assert_accepted(model, solution)


@settings(PROPERTY, max_examples=150)
@given(markets(max_bids=12, whole_values=False))
def test_greedy_is_always_accepted_by_the_model(doc):
    model = model_of(doc)
    solution = greedy_start(model)
    if solution is None:
        assert not model.bids
        return
    assert_accepted(model, solution)


@settings(PROPERTY, max_examples=15)
@given(doc=markets(max_bids=10))
def test_the_solver_accepts_the_greedy_allocation(backend, doc):
    model = model_of(doc)
    solution = greedy_start(model)
    if solution is not None:
        assert_solver_accepts(model, solution, backend)


def test_the_water_market_greedily():
    model = model_of(load_market("fixtures/water-sdg6.json"))
    solution = greedy_start(model)
    assert_accepted(model, solution)
    assert value_of(model, solution) >= 100000


def test_a_time_limit_keeps_at_least_the_greedy_value(backend, monkeypatch):
    parsed = load_market("fixtures/water-sdg6.json")
    options = ClearOptions(backend=backend, time_limit=0.001, explain=False, decompose=False)
    allocation = clear(parsed, options)
    [first] = [p for p in allocation.solver["phases"] if p["phase"] == "greedy"]
    assert first["value"] >= 100000 and allocation.value >= first["value"]
    assert verify_allocation(parsed, allocation.to_document()) == []

    # A solver stopped before it finds anything (outcome "none"): the greedy allocation is the answer.
    real = backends.solve

    def stopped(prob, backend, **kwargs):
        report = real(prob, backend, **kwargs)
        return backends.SolveReport(Outcome.NONE, None, None, report.seconds)

    monkeypatch.setattr(backends, "solve", stopped)
    allocation = clear(parsed, options)
    assert allocation.status == "feasible" and allocation.value == first["value"]
    assert verify_allocation(parsed, allocation.to_document()) == []
