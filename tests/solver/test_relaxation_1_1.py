"""The relaxation start (solver/relaxation.py) under version 1.1: every yes/no variable of the model is
relaxed (the 1.1 rows' own too), bounds come back as they were, and an answer that breaks rule 8 or 9
is not used as a start."""
from __future__ import annotations

import pulp

from solver.model import ClearingModel
from solver.relaxation import START_TOLERANCE_UNITS, _binaries, relax_and_fix
from solver.solution import read_solution
from solver.start_rules import start_problems
from tests.solver.helpers import actor, bid, market
from tests.solver.helpers_1_1 import prepared, upgraded

DOC = market([{"id": "W", "value": 10, "components": [{"id": "k"}]},
              {"id": "V", "value": 3, "components": [{"id": "k"}]}],
             [{"id": "p", "amount": "100"}],
             [actor("A", bid("w", ("W/k", "50")), bid("v", ("V/k", "40")))])


def model_of(m):
    model = ClearingModel(m, *prepared(m))
    model.prob.sense = pulp.LpMaximize
    model.prob.setObjective(model.value)
    return model


def test_the_1_1_rows_binaries_are_relaxed():
    assert len(_binaries(model_of(upgraded(DOC)))) == 4
    doc = {**DOC, "funders": DOC["funders"] + [{"id": "G", "pledges": [{"id": "g", "amount": "100"}]}]}
    model = model_of(upgraded(doc, {"p": {"min_spend": 100, "conditions": [("G", 100)]}}))
    # min_spend's engaged, and the condition's gate in each challenge (one per named funder, min, challenge)
    assert {var.name for var in _binaries(model)} >= {"engaged_0", "gate_0", "gate_1"}
    assert {key: var.name for key, var in model.gates.items()} == {("G", 100, "W"): "gate_0",
                                                                   ("G", 100, "V"): "gate_1"}


def test_a_1_1_models_binaries_are_relaxed_and_restored(backend):
    """p pays nothing or at least 95, and all there is costs 90: the optimum pays nothing (value 0), but
    with engaged relaxed to 0.9 both W and V are done (13): the relaxation's bound is the LP's, its answer
    the integer optimum, and every variable is as it was after."""
    model = model_of(upgraded(DOC, {"p": {"min_spend": 9500}}))
    bounds = {var.name: (var.lowBound, var.upBound, var.cat) for var in model.prob._variables}
    result = relax_and_fix(model, backend, time_limit=60)
    assert result.bound is not None and abs(result.bound - 13) < 1e-6
    assert result.found and abs(pulp.value(model.value)) < 1e-6
    assert {var.name: (var.lowBound, var.upBound, var.cat) for var in model.prob._variables} == bounds


def test_an_answer_breaking_rule_8_is_not_a_start(backend):
    """p pays nothing or at least 95, and all there is to pay costs 90: any allocation that pays breaks
    rule 8. A model without min_spend rows finds one (both done, 90 paid): not a start. A model with
    them finds nothing done: a start."""
    model = model_of(upgraded(DOC, {"p": {"min_spend": 9500}}))
    result = relax_and_fix(model, backend, time_limit=60)
    solution = read_solution(model)
    problems = start_problems(model, solution, START_TOLERANCE_UNITS * model.money_unit)
    assert bool(problems) == any(x > 1e-6 for x in solution.pays.values())
    assert result.found == (problems == [])
