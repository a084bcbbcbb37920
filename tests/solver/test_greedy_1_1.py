"""The greedy start (solver/greedy.py) under version 1.1: whatever it gives meets rules 8 and 9."""
from __future__ import annotations

from solver.greedy import greedy_start
from solver.model import ClearingModel
from tests.solver.helpers import actor, bid, market
from tests.solver.helpers_1_1 import prepared, upgraded

ONE = [{"id": "W", "value": 10, "components": [{"id": "k"}]}]


def model_of(m):
    return ClearingModel(m, *prepared(m))


def paid_by(model, solution):
    out: dict[str, float] = {}
    for (p, _), cents in solution.pays.items():
        for pledge in model.pools[p].pledges:
            out[pledge.id] = out.get(pledge.id, 0) + cents
    return out


def test_version_1_pays_below_the_min_spend():
    doc = market(ONE, [{"id": "p", "amount": "100"}], [actor("A", bid("b", ("W/k", "50")))])
    model = model_of(upgraded(doc))
    assert paid_by(model, greedy_start(model)) == {"p": 5000}


def test_a_min_spend_is_never_broken():
    """p pays nothing or at least 80: the only cover costs 50, so p sits out and W stays undone."""
    doc = market(ONE, [{"id": "p", "amount": "100"}], [actor("A", bid("b", ("W/k", "50")))])
    model = model_of(upgraded(doc, {"p": {"min_spend": 8000}}))
    start = greedy_start(model)
    assert start is None or (start.accepted == [] and paid_by(model, start) == {})


def test_a_fixed_bid_the_greedy_start_leaves_out_means_no_start():
    doc = market(ONE + [{"id": "V", "value": 100, "components": [{"id": "k"}]}],
                 [{"id": "p", "amount": "100"}],
                 [actor("A", bid("w", ("W/k", "90")), bid("v", ("V/k", "90")))])
    model = model_of(upgraded(doc))
    assert [b.id for b in greedy_start(model).accepted] == ["v"]
    start = greedy_start(model_of(upgraded(doc, fixed=("w",))))
    assert start is None or [b.id for b in start.accepted] == ["w"]
