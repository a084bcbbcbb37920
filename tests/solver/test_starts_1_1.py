"""Properties of the engine's helpers on generated version-1.1 markets (version-1 markets from
tests/property/strategies.py, given 1.1 keys on their dataclasses): the greedy start, when there is one,
keeps rules 8 and 9 by the start check and by every row and bound of the model itself; dominance never
changes the optimum (value, then cost); and the parts' rows never cross (test_decompose_1_1)."""
from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver.greedy import greedy_start
from solver.loading import parse_market
from solver.model import ClearingModel
from solver.solution import breaks_the_model
from solver.solving import ModelInfeasible
from solver.start_rules import start_problems
from tests.solver.helpers_1_1 import prepared, upgraded
from tests.solver.test_clearing_1_1_aux import optimum_without
from tests.solver.test_decompose_1_1 import rows_cross_parts
from tests.solver.test_dominance import markets_with_rivals

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def markets_1_1(draw):
    """A version-1 market with rivals (so dominance has work), then per pledge maybe a min_spend, a
    challenge share and conditions on other funders, and maybe a fixed bid or two."""
    doc = draw(markets_with_rivals())
    market = parse_market(doc)
    funders = [f.id for f in market.funders]
    changes = {}
    for funder in market.funders:
        for pledge in funder.pledges:
            extra = {}
            if draw(st.integers(0, 2)) == 0:
                extra["min_spend"] = draw(st.integers(1, max(pledge.amount, 1)))
            if draw(st.integers(0, 2)) == 0:
                extra["max_challenge_share"] = draw(st.sampled_from((0.25, 0.5, 0.75, 1.0)))
            others = [f for f in funders if f != funder.id]
            if others and draw(st.integers(0, 1)) == 0:
                named = draw(st.lists(st.sampled_from(others), min_size=1, max_size=2, unique=True))
                extra["conditions"] = [(f, draw(st.integers(1, 5000))) for f in named]
            if pledge.amount > 0 and extra:
                changes[pledge.id] = extra
    bids = [b.id for b in market.bids]
    fixed = tuple(draw(st.lists(st.sampled_from(bids), max_size=2, unique=True))) if bids else ()
    return upgraded(doc, changes, fixed if draw(st.integers(0, 3)) == 0 else ())


@settings(PROPERTY, max_examples=150)
@given(markets_1_1())
def test_the_greedy_start_keeps_every_rule_the_model_has(m):
    model = ClearingModel(m, *prepared(m))
    start = greedy_start(model)
    if start is None or model.conflicts:
        return
    assert start_problems(model, start) == []
    assert not breaks_the_model(model, start)


@settings(PROPERTY, max_examples=40)
@given(markets_1_1())
def test_dominance_never_changes_the_optimum(m):
    try:
        everything = optimum_without(m, set(), "highs")
    except ModelInfeasible:
        everything = None
    try:
        kept = optimum_without(m, None, "highs")
    except ModelInfeasible:
        kept = None
    if everything is None or kept is None:
        assert everything is kept
        return
    assert math.isclose(kept[0], everything[0], rel_tol=1e-9, abs_tol=1e-9)
    assert kept[1] == everything[1]


@settings(PROPERTY, max_examples=80)
@given(markets_1_1())
def test_no_row_crosses_parts(m):
    assert rows_cross_parts(m) == []
