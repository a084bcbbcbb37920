"""solver/cost_ahead.py: phase 2 started beside phase 1 gives the answer phase 2 gives after it."""
import pulp
import pytest

from solver import backends, cost_ahead
from solver import generate as generator
from solver.clearing import ClearOptions, clear
from solver.cost_ahead import CostAhead
from solver.eligibility import presolve
from solver.loading import parse_market
from solver.model import ClearingModel
from solver.outcome import Outcome
from solver.phases import CostPhase
from solver.pools import make_pools
from solver.solution import Solution, keep_value_row, start_values, value_of
from solver.solving import COST_PHASE_HIGHS
from solver.verify import verify_allocation
from tests.solver.helpers import without_solver

pytestmark = pytest.mark.skipif(not backends.available("highs"), reason="highspy is not installed")


@pytest.fixture(scope="module")
def market():
    return parse_market(generator.generate(60, 180, 90, seed=3))


@pytest.mark.skipif(backends.highs_threads() < 2, reason="starts early only with two cores for HiGHS")
def test_early_cost_phase_gives_the_same_allocation_byte_for_byte(market, monkeypatch):
    # Start phase 2 from every better allocation HiGHS finds (not only those near its bound): each is
    # cancelled by the next, and only a run from phase 1's own answer may answer.
    monkeypatch.setattr(cost_ahead, "START_GAP", 1.0)
    early = clear(market, ClearOptions(backend="highs", decompose=False))
    late = clear(market, ClearOptions(backend="highs", decompose=False, cost_early=False))
    cost = [p for p in early.solver["phases"] if p["phase"] == "cost"]
    assert cost and cost[0].get("started_early") is True        # it did start early here
    assert not any(p.get("started_early") for p in late.solver["phases"])
    assert early.status == late.status == "optimal"
    assert without_solver(early.to_document()) == without_solver(late.to_document())
    assert verify_allocation(market, early.to_document()) == []


def test_the_same_market_gives_the_same_bytes_with_highs_threads_and_an_early_start(market):
    first = clear(market, ClearOptions(backend="highs", decompose=False))
    again = clear(market, ClearOptions(backend="highs", decompose=False))
    assert without_solver(first.to_document()) == without_solver(again.to_document())


def test_no_early_start_with_a_time_limit_or_cbc(market):
    for options in (ClearOptions(backend="highs", decompose=False, time_limit=120),
                    ClearOptions(backend="cbc", decompose=False, explain=False)):
        allocation = clear(market, options)
        assert not any(p.get("started_early") for p in allocation.solver["phases"])


def knapsack() -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    prob = pulp.LpProblem("knapsack", pulp.LpMinimize)
    xs = [prob.add_variable(f"x{i}", cat=pulp.LpBinary) for i in range(12)]
    weights = [7, 5, 9, 3, 8, 6, 4, 11, 2, 10, 5, 7]
    prob += pulp.lpSum(w * x for w, x in zip(weights, xs)) >= 31, "need"
    prob += pulp.lpSum(xs[:6]) <= 3, "first_half"
    prob.setObjective(pulp.lpSum((w + i % 3) * x for i, (w, x) in enumerate(zip(weights, xs))))
    return prob, xs


def test_background_run_answers_as_solve_does_from_the_same_start():
    prob, xs = knapsack()
    start = {x: 1.0 for x in xs}                           # everything taken: feasible, dear
    for x in xs:
        x.setInitialValue(start[x])
    report = backends.solve(prob, "highs", warm_start=True, highs_options=COST_PHASE_HIGHS)
    ours = [x.varValue for x in xs]

    prob2, xs2 = knapsack()
    run = backends.BackgroundRun(prob2, {x: 1.0 for x in xs2}, None, COST_PHASE_HIGHS)
    prob2 += xs2[0] + xs2[1] <= 2, "added_meanwhile"        # the caller may change the problem meanwhile
    early = run.finish(prob2)
    assert (early.outcome, early.objective, early.bound) == (report.outcome, report.objective, report.bound)
    assert [x.varValue for x in xs2] == ours


def test_a_cancelled_background_run_stops():
    prob, xs = knapsack()
    run = backends.BackgroundRun(prob, {x: 1.0 for x in xs}, None, COST_PHASE_HIGHS)
    run.cancel()
    assert run.cancelled
    run.finish(prob)                                        # returns: stopped or finished, never hangs


TWO = {"format": "swarm-market/1",
       "challenges": [{"id": "A", "value": 5, "components": [{"id": "k"}]},
                      {"id": "B", "value": 3, "components": [{"id": "k"}]}],
       "funders": [{"id": "F", "pledges": [{"id": "p", "amount": "100.00"}]}],
       "actors": [{"id": "X", "bids": [{"id": "a1", "items": [{"component": "A/k", "price": "60.00"}]},
                                       {"id": "a2", "items": [{"component": "A/k", "price": "40.00"}]},
                                       {"id": "b1", "items": [{"component": "B/k", "price": "50.00"}]}]}]}


def offer_of(model: ClearingModel, solution: Solution):
    """What HiGHS hands the hook for `solution`: every column's value in its column order."""
    import numpy as np
    values = start_values(model, solution)
    variables = sorted(values, key=lambda v: v.name)
    return variables, np.array([values[v] for v in variables])


def test_a_better_offer_restarts_phase_2_and_only_the_last_one_answers():
    market = parse_market(TWO)
    pools = make_pools(market)
    model = ClearingModel(market, pools, presolve(market, pools))
    model.prob.setObjective(model.value)
    model.prob.sense = pulp.LpMaximize
    bids = {b.id: b for b in model.bids}
    pool = pools[0].index
    only_b = Solution([bids["b1"]], {(pool, "B/k"): 5000.0})
    a_and_b = Solution([bids["a2"], bids["b1"]], {(pool, "A/k"): 4000.0, (pool, "B/k"): 5000.0})
    ahead = CostAhead(model, 0.5, None, COST_PHASE_HIGHS)
    before = (model.prob.numConstraints(), model.prob.sense, str(model.prob.objective))
    ahead.offer(*offer_of(model, only_b), bound=8.0)        # value 3, bound 8: too far from the bound
    assert ahead.run is None
    ahead.offer(*offer_of(model, only_b), bound=3.0)
    first = ahead.run
    assert first is not None
    ahead.offer(*offer_of(model, a_and_b), bound=8.0)       # better: the first run is cancelled
    assert first.cancelled and ahead.run is not None and ahead.run is not first
    assert (model.prob.numConstraints(), model.prob.sense, str(model.prob.objective)) == before
    assert ahead.answer_for(only_b, 3) is None              # not what phase 2 was started from
    assert ahead.run is None

    ahead = CostAhead(model, 0.5, None, COST_PHASE_HIGHS)
    ahead.offer(*offer_of(model, a_and_b), bound=8.0)
    model.prob.addConstraint(keep_value_row(model, 8 - 0.5))  # as phase 2 does
    model.prob.sense = pulp.LpMinimize
    model.prob.setObjective(model.cost)
    report = ahead.answer_for(a_and_b, value_of(model, a_and_b))
    assert report is not None and report.outcome == "optimal"
    assert report.objective == pytest.approx(9000)          # a2 (40.00) and b1 (50.00): the cheapest
    assert sorted(b.id for b in model.accepted()) == ["a2", "b1"]


def test_a_failing_offer_leaves_phase_1_alone():
    market = parse_market(TWO)
    pools = make_pools(market)
    model = ClearingModel(market, pools, presolve(market, pools))
    ahead = CostAhead(model, 0.5, None, COST_PHASE_HIGHS)
    ahead.offer([], [], bound=1.0)                          # columns that do not match the model
    assert ahead.broken and ahead.run is None
    ahead.offer([], [], bound=1.0)                          # ignored from then on
    assert ahead.offers == 1


def test_merged_parts_say_started_early_only_when_every_part_did():
    from solver.parts import _merge_phases, _PartResult

    def part(*phases):
        return _PartResult((), {}, Outcome.OPTIMAL, phases, {}, 0.0, 0.0)

    def documents(phases):
        return [phase.to_document() for phase in phases]
    early = CostPhase(Outcome.OPTIMAL, seconds=1.0, started_early=True)
    late = CostPhase(Outcome.OPTIMAL, seconds=2.0)
    both = _merge_phases([part(early), part(early)])
    assert documents(both) == [{"phase": "cost", "outcome": "optimal", "models": 2, "seconds": 2.0,
                                "started_early": True}]
    mixed = _merge_phases([part(early), part(late)])
    assert documents(mixed) == [{"phase": "cost", "outcome": "optimal", "models": 2, "seconds": 3.0}]


def test_a_background_run_keeps_its_time_limit_and_one_thread_when_asked():
    prob, xs = knapsack()
    run = backends.BackgroundRun(prob, {x: 1.0 for x in xs}, None, {"threads": 1}, time_limit=30)
    report = run.finish(prob)
    assert report.outcome == "optimal" and report.seconds < 30


def test_relaxation_and_highs_side_by_side_under_a_time_limit(monkeypatch):
    """Big models under a time limit: the relaxation in this thread, HiGHS from the greedy start beside it;
    the allocation is the better of the two, valid, and the bound the tighter one."""
    from solver import solving
    monkeypatch.setattr(solving, "RELAX_FIRST_BINARIES", 100)      # make a small market count as big
    market = parse_market(generator.generate(30, 90, 45, seed=5))
    allocation = clear(market, ClearOptions(backend="highs", decompose=False, time_limit=20))
    names = [p["phase"] for p in allocation.solver["phases"]]
    assert names[:3] == ["greedy", "relaxation", "value"]
    assert verify_allocation(market, allocation.to_document()) == []
    exact = clear(market, ClearOptions(backend="highs", decompose=False, explain=False))
    assert allocation.value == exact.value                          # 20 s is plenty for 30 challenges
