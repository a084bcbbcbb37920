"""End to end on the markets of the helpers' 1.1 tests (test_dominance_1_1, test_greedy_1_1,
test_decompose_1_1): the clearing gives the hand-computed optimum on both backends; the optimum over
the bids dominance.py keeps is the whole market's, where version 1's removal loses it; and parts
cleared apart (in workers too) give what one model gives, infeasible fixed bids in one part included."""
from __future__ import annotations

import pytest

from solver import parts
from solver.budget import Budget
from solver.clearing import ClearOptions, clear
from solver.dominance import dominated_bids
from solver.eligibility import presolve
from solver.model import ClearingModel
from solver.pools import make_pools
from solver.solution import value_of
from solver.solving import ModelInfeasible, solve_lexicographic
from solver.verify import verify_allocation
from tests.solver.helpers import actor, bid, market, without_solver
from tests.solver.helpers_1_1 import upgraded

ONE = [{"id": "W", "value": 10, "components": [{"id": "k"}]}]
TWO = [{"id": "W", "value": 10, "components": [{"id": "k"}, {"id": "m"}]}]


def W(value=10, cid="W"):
    return {"id": cid, "value": value, "components": [{"id": "k"}]}


def cleared(m, backend, **options):
    allocation = clear(m, ClearOptions(backend=backend, **options))
    assert verify_allocation(m, allocation.to_document()) == []
    return allocation


def summary(allocation):
    return allocation.status, allocation.value, allocation.cost, sorted(a.bid for a in allocation.awards)


def optimum_without(m, removed, backend):
    """(value, cost) of one model over the market's bids less `removed` (None: less what dominance.py
    removes), solved to the end."""
    pools = make_pools(m)
    pre = presolve(m, pools, remove_dominated=False)
    if removed is None:
        removed = set(dominated_bids(m, pools, pre.live_bids, pre.admits))
    pre.live_bids = tuple(b for b in pre.live_bids if b.id not in removed)
    model = ClearingModel(m, pools, pre)
    solved = solve_lexicographic(model, ClearOptions(backend=backend), Budget(None))
    return value_of(model, solved.solution), sum(b.price for b in solved.solution.accepted)


DOMINANCE = {
    # name: (market, the optimum as status, value, cost in cents, awards; what version 1 removes)
    "min_spend": (upgraded(market(ONE, [{"id": "p", "amount": "100"}],
                                  [actor("A", bid("cheap", ("W/k", "50")), bid("dear", ("W/k", "100")))]),
                           {"p": {"min_spend": 10000}}),
                  ("optimal", 10, 10000, ["dear"]), {"dear"}),
    "identical": (upgraded(market(ONE, [{"id": "p", "amount": "100"}],
                                  [actor("A", bid("x", ("W/k", "50"))), actor("B", bid("y", ("W/k", "50")))]),
                           {"p": {"min_spend": 10000}}),
                  ("optimal", 10, 10000, ["x", "y"]), {"y"}),
    # F0's f can pay W/k only, q pays W/m only if F0 pays 100 into W: the dear W/k bid is the only way.
    "condition": (upgraded(market(TWO, [{"id": "f", "amount": "100", "scope": {"components": ["W/k"]}},
                                        {"id": "q", "amount": "1000", "scope": {"components": ["W/m"]}}],
                                  [actor("A", bid("cheap", ("W/k", "10")), bid("dear", ("W/k", "100"))),
                                   actor("B", bid("m", ("W/m", "500")))]),
                           {"q": {"conditions": [("F0", 10000)]}}),
                  ("optimal", 10, 60000, ["dear", "m"]), {"dear"}),
    # s pays at most half of W's cost and is the only money for W/m (100): W must cost 200.
    "share": (upgraded(market(TWO, [{"id": "s", "amount": "1000", "scope": {"challenges": ["W"]}},
                                    {"id": "r", "amount": "1000", "scope": {"components": ["W/k"]}}],
                              [actor("A", bid("cheap", ("W/k", "10")), bid("dear", ("W/k", "100"))),
                               actor("B", bid("m", ("W/m", "100")))]),
                       {"s": {"max_challenge_share": 0.5}}),
              ("optimal", 10, 20000, ["dear", "m"]), {"dear"}),
    "fixed": (upgraded(market(ONE, [{"id": "p", "amount": "100"}],
                              [actor("A", bid("cheap", ("W/k", "50"))), actor("B", bid("same", ("W/k", "50"))),
                               actor("C", bid("dear", ("W/k", "100")))]), fixed=("dear",)),
              ("optimal", 10, 10000, ["dear"]), {"same", "dear"}),
}


@pytest.mark.parametrize("name", list(DOMINANCE))
def test_dominance_keeps_the_optimum_version_1_loses(name, backend):
    m, expected, v1_removes = DOMINANCE[name]
    assert summary(cleared(m, backend)) == expected
    assert optimum_without(m, None, backend) == expected[1:3]
    if name == "fixed":
        with pytest.raises(ModelInfeasible):
            optimum_without(m, v1_removes, backend)
    else:
        assert optimum_without(m, v1_removes, backend)[0] < expected[1]


GREEDY = {
    "min_spend_over_two": (upgraded(market([W(), W(5, "V")], [{"id": "p", "amount": "100"}],
                                           [actor("A", bid("w", ("W/k", "50")), bid("v", ("V/k", "45")))]),
                                    {"p": {"min_spend": 8000}}),
                           ("optimal", 15, 9500, ["v", "w"])),
    "min_spend_out_of_reach": (upgraded(market([W()], [{"id": "p", "amount": "100"}, {"id": "r", "amount": "30"}],
                                               [actor("A", bid("b", ("W/k", "50")))]), {"p": {"min_spend": 8000}}),
                               ("optimal", 0, 0, [])),
    "share": (upgraded(market([W()], [{"id": "s", "amount": "100", "scope": {"challenges": ["W"]}},
                                      {"id": "r", "amount": "100"}], [actor("A", bid("b", ("W/k", "80")))]),
                       {"s": {"max_challenge_share": 0.25}}),
              ("optimal", 10, 8000, ["b"])),
    "chain": (upgraded(market([W()], [{"id": "a", "amount": "50"}, {"id": "b", "amount": "30"},
                                      {"id": "c", "amount": "15"}], [actor("A", bid("x", ("W/k", "90")))]),
                       {"a": {"conditions": [("F1", 1000)]}, "b": {"conditions": [("F2", 1000)]}}),
              ("optimal", 10, 9000, ["x"])),
    "fixed": (upgraded(market([W(), W(100, "V")], [{"id": "p", "amount": "100"}],
                              [actor("A", bid("w", ("W/k", "90")), bid("v", ("V/k", "90")))]), fixed=("w",)),
              ("optimal", 10, 9000, ["w"])),
}


@pytest.mark.parametrize("name", list(GREEDY))
def test_greedy_markets_clear_to_their_optimum(name, backend):
    m, expected = GREEDY[name]
    assert summary(cleared(m, backend)) == expected


def two_parts():
    """W and V share nothing; q (pays V only) names F0, whose f pays W only: q can never pay."""
    return market([W(), W(5, "V")], [{"id": "f", "amount": "100", "scope": {"challenges": ["W"]}},
                                     {"id": "q", "amount": "100", "scope": {"challenges": ["V"]}},
                                     {"id": "r", "amount": "30", "scope": {"challenges": ["V"]}}],
                  [actor("A", bid("w", ("W/k", "60"))), actor("B", bid("v", ("V/k", "50")))])


@pytest.fixture
def one_model_a_part(monkeypatch):
    """Each part its own model (small parts otherwise share one: parts.BATCH_BIDS)."""
    monkeypatch.setattr(parts, "BATCH_BIDS", 1)


def test_a_condition_across_parts_clears_as_one_model(backend, one_model_a_part):
    m = upgraded(two_parts(), {"q": {"conditions": [("F0", 1000)]}})
    whole = cleared(m, backend, decompose=False)
    apart = cleared(m, backend, workers=1)
    assert apart.solver["size"]["parts"] == 2 and apart.solver["size"]["models"] == 2
    assert summary(apart) == summary(whole) == ("optimal", 10, 6000, ["w"])
    assert without_solver(apart.to_document()) == without_solver(whole.to_document())


def test_fixed_bids_impossible_in_one_part_make_the_market_infeasible(one_model_a_part):
    """v is fixed, but V's money (q 100 conditional on F0 paying V, which it cannot; r 30) cannot pay 50."""
    m = upgraded(two_parts(), {"q": {"conditions": [("F0", 1000)]}}, fixed=("v",))
    whole = cleared(m, "highs", decompose=False)
    for workers in (1, 2):
        apart = cleared(m, "highs", workers=workers)
        assert summary(apart) == summary(whole) == ("infeasible", 0, 0, [])
        assert without_solver(apart.to_document()) == without_solver(whole.to_document())
