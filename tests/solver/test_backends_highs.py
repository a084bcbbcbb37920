"""solver/backends/highs.py's HiGHS route: the model passed to highspy in bulk (not through pulp.HiGHS).

Each problem is small enough to solve by hand; the expected optimum is in its docstring. The route must
build the very model PuLP's own HiGHS interface builds (same columns in the same order, same rows, the
negated objective of a maximum), give the same answers, and also pass the objective's constant (HiGHS's
offset) and a warm start, which PuLP's interface drops.
"""
import highspy
import numpy as np
import pulp
import pytest

from solver import backends
from solver.backends.highs import _pass_to_highs

pytestmark = pytest.mark.skipif(not backends.available("highs"), reason="highspy is not installed")


def knapsack(sense=pulp.LpMaximize, constant=0.0):
    """max 5a + 4b + 3c + 2y + constant, a, b, c binary, 0 <= y <= 1.5 continuous,
    2a + 3b + c + y <= 4 (cap), a + b >= 1 (one), c - y == 0 (link).
    c = y = 1 leaves 3 for a and b: a alone (2) fits, b alone (3) fits, both (5) do not.
    a, c, y: 5 + 3 + 2 = 10 (weight 4); b, c, y: 4 + 3 + 2 = 9. Optimum 10 + constant: a = c = 1, b = 0, y = 1."""
    prob = pulp.LpProblem("knapsack", sense)
    a, b, c = (prob.add_variable(n, cat=pulp.LpBinary) for n in "abc")
    y = prob.add_variable("y", lowBound=0, upBound=1.5)
    prob.setObjective(pulp.LpAffineExpression([(a, 5), (b, 4), (c, 3), (y, 2)], constant=constant))
    prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(a, 2), (b, 3), (c, 1), (y, 1)]),
                                         pulp.LpConstraintLE, "cap", 4))
    prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(a, 1), (b, 1)]), pulp.LpConstraintGE, "one", 1))
    prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(c, 1), (y, -1)]), pulp.LpConstraintEQ, "link", 0))
    return prob, (a, b, c, y)


def mixed_min():
    """min 3x + 2z + w - 7 (x integer in [0, 10], z continuous >= 0, w free continuous),
    x + z >= 2.5 (need), w >= -1 as the row w + 0*x >= -1 (a zero coefficient PuLP leaves out),
    2x - z <= 8 (cap), and an empty row 0 <= 3 (constant only).
    z costs 2 per unit, x 3: z = 2.5, x = 0, w = -1: 5 - 1 - 7 = -3."""
    prob = pulp.LpProblem("mixed", pulp.LpMinimize)
    x = prob.add_variable("x", lowBound=0, upBound=10, cat=pulp.LpInteger)
    z = prob.add_variable("z", lowBound=0)
    w = prob.add_variable("w")
    prob.setObjective(pulp.LpAffineExpression([(x, 3), (z, 2), (w, 1)], constant=-7))
    prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(x, 1), (z, 1)]), pulp.LpConstraintGE, "need", 2.5))
    prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(w, 1), (x, 0)]), pulp.LpConstraintGE, "wlow", -1))
    prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(x, 2), (z, -1)]), pulp.LpConstraintLE, "cap", 8))
    prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([], constant=-3), pulp.LpConstraintLE, "empty"))
    return prob, (x, z, w)


def pulp_lp(prob):
    """The HighsLp that PuLP 3.3's own interface (pulp.HiGHS.buildSolverModel) builds."""
    solver = pulp.HiGHS(msg=False)
    solver.createAndConfigureSolver(prob)
    solver.buildSolverModel(prob)
    return prob.solverModel.getLp()


def our_lp(prob):
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    _pass_to_highs(h, prob)
    return h.getLp()


def triplets(matrix):
    start, index, value = (np.asarray(a) for a in (matrix.start_, matrix.index_, matrix.value_))
    outer = np.repeat(np.arange(len(start) - 1), np.diff(start))
    rows, cols = (outer, index) if matrix.format_ == highspy.MatrixFormat.kRowwise else (index, outer)
    order = np.lexsort((cols, rows))
    return rows[order].tolist(), cols[order].tolist(), value[order].tolist()


def assert_same_model(ours, theirs):
    assert (ours.num_col_, ours.num_row_) == (theirs.num_col_, theirs.num_row_)
    for field in ("col_cost_", "col_lower_", "col_upper_", "row_lower_", "row_upper_"):
        assert list(getattr(ours, field)) == list(getattr(theirs, field)), field
    assert ours.sense_ == theirs.sense_
    integer = [int(t) for t in theirs.integrality_] or [0] * theirs.num_col_
    assert [int(t) for t in ours.integrality_] == integer
    # PuLP's addRow leaves the matrix row-wise (HiGHS turns it column-wise when it runs); ours arrives column-wise
    assert triplets(ours.a_matrix_) == triplets(theirs.a_matrix_)


@pytest.mark.parametrize("make", [knapsack, lambda: knapsack(pulp.LpMinimize, 2.5), mixed_min])
def test_the_model_is_the_one_pulp_builds(make):
    prob, _ = make()
    ours = our_lp(prob)
    prob2, _ = make()
    theirs = pulp_lp(prob2)
    assert_same_model(ours, theirs)
    # plus the objective's constant, which PuLP's interface leaves out: negated with the objective of a maximum
    sign = -1 if prob.sense == pulp.LpMaximize else 1
    assert ours.offset_ == sign * prob.objective.constant
    assert theirs.offset_ == 0


def test_a_maximum():
    prob, (a, b, c, y) = knapsack(constant=1.5)
    report = backends.solve(prob, "highs")
    assert report.outcome == "optimal"
    assert report.objective == pytest.approx(11.5)
    assert report.bound == pytest.approx(11.5)      # the bound counts the constant too (HiGHS's offset)
    assert [v.varValue for v in (a, b, c, y)] == pytest.approx([1, 0, 1, 1])
    assert prob.status == pulp.LpStatusOptimal and prob.sol_status == pulp.LpSolutionOptimal
    assert isinstance(prob.solverModel, highspy.Highs)


def test_a_minimum_with_integer_free_and_continuous_variables():
    prob, (x, z, w) = mixed_min()
    report = backends.solve(prob, "highs")
    assert report.outcome == "optimal"
    assert report.objective == pytest.approx(-3)
    assert report.bound == pytest.approx(-3)
    assert [v.varValue for v in (x, z, w)] == pytest.approx([0, 2.5, -1])


@pytest.mark.parametrize("make", [knapsack, mixed_min])
def test_same_answers_as_pulps_interface(make):
    prob, variables = make()
    ours = backends.solve(prob, "highs")
    mine = [v.varValue for v in variables]
    prob2, variables2 = make()
    prob2.solve(pulp.HiGHS(msg=False, threads=backends.highs_threads(), gapRel=0.0))
    assert (prob.status, prob.sol_status) == (prob2.status, prob2.sol_status)
    assert mine == pytest.approx([v.varValue for v in variables2])
    assert ours.objective == pytest.approx(pulp.value(prob2.objective))


def test_lp_duals_slacks_and_reduced_costs_as_pulps_interface():
    """solver/analysis/explain.py reads the rows' duals (pi) of the LP relaxation."""
    def relaxed():
        prob, variables = knapsack()
        for v in prob.variables():
            v.cat = pulp.LpContinuous
        return prob, variables
    prob, variables = relaxed()
    assert backends.solve(prob, "highs").outcome == "optimal"
    prob2, variables2 = relaxed()
    prob2.solve(pulp.HiGHS(msg=False, threads=backends.highs_threads(), gapRel=0.0))
    for name in ("cap", "one", "link"):
        ours, theirs = prob.get_constraint_by_name(name), prob2.get_constraint_by_name(name)
        assert ours.pi == pytest.approx(theirs.pi), name
        assert ours.slack == pytest.approx(theirs.slack), name
    assert [v.dj for v in variables] == pytest.approx([v.dj for v in variables2])
    assert prob.get_constraint_by_name("cap").pi != 0        # a true LP (with duals), not a MIP without integers


def test_infeasible():
    """x + y >= 3 with x, y binary cannot hold."""
    prob = pulp.LpProblem("infeasible", pulp.LpMaximize)
    x, y = prob.add_variable("x", cat=pulp.LpBinary), prob.add_variable("y", cat=pulp.LpBinary)
    prob.setObjective(pulp.LpAffineExpression([(x, 1), (y, 1)]))
    prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(x, 1), (y, 1)]), pulp.LpConstraintGE, "c", 3))
    report = backends.solve(prob, "highs")
    assert report.outcome == "infeasible"
    assert report.objective is None
    assert prob.status == pulp.LpStatusInfeasible


def test_an_objective_without_variables():
    """PuLP adds a dummy variable to a constant objective while it solves, and takes it out after."""
    prob = pulp.LpProblem("constant", pulp.LpMinimize)
    x = prob.add_variable("x", lowBound=0, upBound=4)
    prob.setObjective(pulp.LpAffineExpression([], constant=7))
    prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(x, 1)]), pulp.LpConstraintGE, "c", 1))
    report = backends.solve(prob, "highs")
    assert report.outcome == "optimal"
    assert report.objective == pytest.approx(7)
    assert 1 - 1e-9 <= x.varValue <= 4 + 1e-9
    assert all(coef == 0 for v, coef in prob.objective.items() if v.name == "__dummy")   # as LpProblem.solve leaves it


def test_variables_that_were_never_registered_are_still_columns():
    """A variable only in the objective, and one put into a row after the row was added, are unknown to the
    problem's list until prob.variables() looks: the fast numbering must notice and fall back."""
    prob, (a, b, c, y) = knapsack()
    bonus = prob.add_variable("bonus", cat=pulp.LpBinary)         # objective only: worth 1 on its own
    late = prob.add_variable("late", lowBound=0, upBound=1)       # added to "cap" after the fact
    prob.setObjective(prob.objective + bonus + 0.5 * late)
    prob.get_constraint_by_name("cap").expr.addterm(late, 4)                 # it costs 4 of the 4: not worth taking
    report = backends.solve(prob, "highs")
    assert report.outcome == "optimal"
    assert report.objective == pytest.approx(11)
    assert bonus.varValue == pytest.approx(1) and late.varValue == pytest.approx(0)
    assert [v.name for v in prob.variables()] == sorted(v.name for v in prob.variables())


def test_stale_indexes_from_another_problem_are_not_trusted():
    """Column numbers stay on the variables after a solve; a variable of this problem that was never
    registered carries the number it had in another problem, which must not be taken for one of this one."""
    prob, (a, b, c, y) = knapsack()
    other = pulp.LpProblem("other", pulp.LpMinimize)
    stray = other.add_variable("stray", lowBound=0, upBound=1)
    other.setObjective(pulp.LpAffineExpression([(stray, 1)]))
    other.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(stray, 1)]), pulp.LpConstraintGE, "s", 0))
    backends.solve(other, "highs")
    assert isinstance(stray._swarm_column, int)    # a stale number
    prob.get_constraint_by_name("one").expr.addterm(stray, 1)     # stray alone can now meet "one"
    prob.setObjective(prob.objective - 0.25 * stray)
    report = backends.solve(prob, "highs")
    assert report.outcome == "optimal"
    assert report.objective == pytest.approx(10)   # a, c, y as before; stray takes nothing
    assert len(prob.variables()) == 5


def test_a_time_limit_before_any_solution_is_none():
    prob = _hard(seed=3)
    report = backends.solve(prob, "highs", time_limit=0.01)
    assert report.outcome in ("none", "feasible")
    if report.outcome == "none":
        assert report.objective is None
        assert prob.status == pulp.LpStatusNotSolved


def _hard(seed, n=60, rows=40):
    """A random multi-dimensional knapsack, not solved to optimality in a hundredth of a second."""
    rng = np.random.default_rng(seed)
    prob = pulp.LpProblem("hard", pulp.LpMaximize)
    xs = [prob.add_variable(f"x{i:03d}", cat=pulp.LpBinary) for i in range(n)]
    prob.setObjective(pulp.LpAffineExpression([(x, int(v)) for x, v in zip(xs, rng.integers(10, 100, n))]))
    for r in range(rows):
        weights = rng.integers(5, 60, n)
        prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(list(zip(xs, map(int, weights)))),
                                             pulp.LpConstraintLE, f"r{r}", int(weights.sum() // 4)))
    return prob


def _greedy_start(prob):
    """Take variables in order while every row still holds: a feasible start, and its objective."""
    xs = sorted(prob.variables(), key=lambda v: -prob.objective[v])
    for x in xs:
        x.setInitialValue(0)
    for x in xs:
        x.setInitialValue(1)
        if not all(c.valid(1e-9) for c in prob.constraints()):
            x.setInitialValue(0)
    return pulp.value(prob.objective)


def test_a_warm_start_is_kept_under_a_tiny_time_limit():
    """HiGHS checks a MIP start before it presolves ("MIP start solution is feasible"), so even when the
    limit stops it at once it has at least the start to report."""
    prob = _hard(seed=1)
    start = _greedy_start(prob)
    assert start > 0
    report = backends.solve(prob, "highs", time_limit=0.01, warm_start=True)
    assert report.outcome in ("feasible", "optimal")
    assert report.objective >= start - 1e-9
    assert report.bound is None or report.bound >= report.objective - 1e-6


def test_a_partial_warm_start_is_accepted():
    """Values for only some variables: HiGHS completes the rest (or ignores the start); never an error."""
    prob, (a, b, c, y) = knapsack()
    a.setInitialValue(1)
    c.setInitialValue(1)
    report = backends.solve(prob, "highs", warm_start=True)
    assert report.outcome == "optimal"
    assert report.objective == pytest.approx(10)


def test_no_warm_start_unless_asked():
    """Initial values are not handed over without warm_start=True (a deliberately bad start: b = 1, a = 0)."""
    prob, (a, b, c, y) = knapsack()
    for v, x in zip((a, b, c, y), (0, 1, 1, 1)):
        v.setInitialValue(x)
    started = []
    real = highspy.Highs.setSolution

    def spy(self, *args):
        started.append(args)
        return real(self, *args)
    highspy.Highs.setSolution = spy
    try:
        backends.solve(prob, "highs")
        assert started == []
        report = backends.solve(prob, "highs", warm_start=True)
    finally:
        highspy.Highs.setSolution = real
    assert len(started) == 1
    assert report.objective == pytest.approx(10)


def test_a_positive_gap_is_feasible_not_optimal_unless_proven():
    prob, _ = knapsack()
    report = backends.solve(prob, "highs", gap=0.5)
    assert report.outcome in ("optimal", "feasible")
    assert report.objective is not None and report.objective <= 10 + 1e-9


def test_a_start_highs_misreports_is_not_taken_for_the_optimum():
    """A clearing's cost phase (from a market hypothesis drew, tests/solver/test_clearing_properties.py): the start pays
    1.00 for bid 5 where bid 1 does the same for nothing. HiGHS 1.16 presolves, finds the start "feasible in
    the reduced space: objective value is 0", reports optimal with objective 0 and returns the start itself,
    whose objective is 100. The backend notices and solves again without the start: optimum 0."""
    prob = pulp.LpProblem("clearing", pulp.LpMinimize)
    v = {n: prob.add_variable(n, cat=pulp.LpBinary) for n in
         ["accept_0", "accept_1", "accept_2", "accept_3", "accept_4", "accept_5", "accept_6", "done_0", "done_1"]}
    v.update({n: prob.add_variable(n, lowBound=0) for n in
              ["pay_0_0", "pay_1_0", "pay_1_1", "pay_2_0", "pay_2_1"]})
    rows = [
        ("budget_1", {"accept_5": 100, "accept_6": 2587}, pulp.LpConstraintLE, 2600),
        ("cover_0", {"accept_0": 1, "accept_1": 1, "accept_2": 1, "accept_3": 1, "accept_6": 1, "done_0": -1},
         pulp.LpConstraintGE, 0),
        ("cover_1", {"accept_1": 1, "done_0": -1}, pulp.LpConstraintGE, 0),
        ("cover_2", {"accept_4": 1, "done_0": -1}, pulp.LpConstraintGE, 0),
        ("cover_3", {"accept_1": 1, "accept_5": 1, "done_1": -1}, pulp.LpConstraintGE, 0),
        ("keep_value", {"done_1": 1}, pulp.LpConstraintGE, 0.5),
        *[(f"link_{b}_{c}", {f"accept_{b}": 1, f"done_{c}": -1}, pulp.LpConstraintLE, 0)
          for b, c in [(0, 0), (1, 0), (1, 1), (2, 0), (3, 0), (4, 0), (5, 1), (6, 0)]],
        ("match_2_0", {"pay_0_0": -1, "pay_1_0": -1, "pay_2_0": 1}, pulp.LpConstraintLE, 0),
        ("match_2_1", {"pay_1_1": -1, "pay_2_1": 1}, pulp.LpConstraintLE, 0),
        ("paid_0", {"accept_6": -2587, "pay_0_0": 1, "pay_1_0": 1, "pay_2_0": 1}, pulp.LpConstraintEQ, 0),
        ("paid_1", {"accept_5": -100, "pay_1_1": 1, "pay_2_1": 1}, pulp.LpConstraintEQ, 0),
        ("pledged_0", {"pay_0_0": 1}, pulp.LpConstraintLE, 100),
        ("pledged_1", {"pay_1_0": 1, "pay_1_1": 1}, pulp.LpConstraintLE, 1800),
        ("pledged_2", {"pay_2_0": 1, "pay_2_1": 1}, pulp.LpConstraintLE, 4400),
        ("share_0_0", {"accept_6": -1293.5, "pay_0_0": 1}, pulp.LpConstraintLE, 0),
    ]
    for name, terms, sense, rhs in rows:
        prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(v[n], a) for n, a in terms.items()]),
                                             sense, name, rhs))
    prob.setObjective(pulp.LpAffineExpression([(v["accept_5"], 100), (v["accept_6"], 2587)]))
    start = {"accept_5": 1, "done_1": 1, "pay_1_1": 100.0}
    for name, var in v.items():
        var.setInitialValue(start.get(name, 0))
    report = backends.solve(prob, "highs", warm_start=True)
    assert report.outcome == "optimal"
    assert report.objective == pytest.approx(0)
    assert v["accept_5"].varValue == pytest.approx(0)
    assert report.bound == pytest.approx(0)
