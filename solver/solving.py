"""Solving one model: most value first, then least cost at that value.

Phase 1 maximises value. Phase 2 keeps that value and minimises what is paid
to actors. Both phases share one model; phase 2 starts from phase 1's answer,
so a time limit always leaves a valid allocation (status "feasible"). Phase 1
starts from a greedy allocation (greedy.py) and, on big models under a time
limit, from the LP relaxation's (relaxation.py).

Version 1.1: a model with fixed bids may have no solution; solving raises ModelInfeasible (before solving
when a fixed bid is ruled out by a bound, else when the solver proves it), and the clearing answers with
status "infeasible" (infeasible.py). A start that breaks a row of a 1.1 model is not used.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import pulp

from . import backends, progress
from .bounds import VALUE_DECIMALS
from .budget import Budget
from .cost_ahead import CostAhead
from .greedy import greedy_start
from .model import ClearingModel
from .outcome import Outcome
from .phases import CostPhase, GreedyPhase, Phase, RelaxationPhase, ValuePhase
from .relaxation import relax_and_fix
from .solution import Solution, breaks_the_model, keep_value_row, read_solution, start_values, value_of, warm_start

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClearOptions:
    backend: str = "cbc"
    time_limit: float | None = None     # seconds for the whole call, reasons included (budget.py)
    gap: float | None = None            # relative gap at which each phase may stop
    explain: bool = True                # give reasons for unfunded challenges
    max_explained: int | None = 50      # test at most this many in detail (market order), plain reasons after
    workers: int | None = None          # processes for independent parts (None: one per free core; 1: none)
    decompose: bool = True              # False: one model for the whole market (tests and benchmarks)
    cost_early: bool = True             # False: phase 2 never starts beside phase 1 (cost_ahead.py)


class ClearingError(RuntimeError):
    """The market could not be cleared (solver missing or failing)."""


class ModelInfeasible(ClearingError):
    """The model has no solution: its fixed bids cannot all be accepted (spec rule 9). Without fixed
    bids a model always has one (accept nothing), so nothing else raises it."""


@dataclass(frozen=True, slots=True)
class SolveResult:
    """What solving gives: the allocation, whether it is proven best, and each phase in the order run."""
    solution: Solution
    status: Outcome                     # optimal or feasible
    phases: tuple[Phase, ...]


def solve_lexicographic(model: ClearingModel, options: ClearOptions, budget: Budget) -> SolveResult:
    aheads: list[CostAhead] = []
    try:
        return _solve_lexicographic(model, options, budget, aheads)
    finally:
        for ahead in aheads:                    # a phase 2 started early and not used stops here
            ahead.close()


def _solve_lexicographic(model: ClearingModel, options: ClearOptions, budget: Budget, aheads: list[CostAhead]
                         ) -> SolveResult:
    prob = model.prob
    phases: list[Phase] = []
    empty = Solution([], {})
    ahead: CostAhead | None = None
    status = Outcome.OPTIMAL
    values = [coef for coef in model.value.values()]
    tolerance = value_tolerance(values)
    best = empty
    best_value: float = 0.0
    if model.conflicts:
        raise ModelInfeasible(f"fixed bids ruled out before solving: {', '.join(model.conflicts)}")

    if values:
        # A greedy allocation (solver/greedy.py) first: phase 1's warm start, and the answer kept when a
        # time limit stops the solver before it finds anything as good.
        progress.stage(progress.GREEDY)
        start = greedy_start(model)
        if start is not None and model.uses_1_1 and breaks_the_model(model, start):
            start = None                        # it breaks a 1.1 row or leaves out a fixed bid
        if start is not None:
            greedy_value = value_of(model, start)
            phases.append(GreedyPhase(Outcome.FEASIBLE, objective=greedy_value, value=greedy_value))
            if start.accepted:
                best, best_value = start, greedy_value
                warm_start(model, start)
        prob.sense = pulp.LpMaximize
        prob.setObjective(model.value)
        side: backends.BackgroundRun | None = None
        if _relax_first(model, budget):
            progress.stage(progress.RELAXATION)
            if options.backend == "highs" and backends.highs_threads() >= 2:
                # Two cores: HiGHS searches (and bounds) from the greedy start on one, with the whole
                # limit, while the relaxation and its sub-MIP take the other, also with the whole limit.
                side = backends.BackgroundRun(prob, start_values(model, best), options.gap, {"threads": 1},
                                              time_limit=budget.left(), listener=progress.current())
                side.report_progress()          # the value phase's search: what the listener follows from now on
            try:
                found, found_value, phase = _relaxation_start(model, options, budget,
                                                              share=1.0 if side else RELAX_SHARE)
            except BaseException:
                if side is not None:
                    side.cancel()
                raise
            phases.append(phase)
            if found is not None and found_value > best_value:
                best, best_value = found, found_value
            if best.accepted:
                warm_start(model, best)
        progress.stage(progress.VALUE)
        ahead = _cost_ahead(model, options, budget, tolerance)
        if ahead is not None:
            aheads.append(ahead)
        if side is not None:
            report = side.finish(prob)
        else:
            report = backends.solve(prob, options.backend, time_limit=budget.left(),
                                    gap=options.gap, warm_start=bool(best.accepted),
                                    on_improving=ahead.offer if ahead is not None else None)
        phases.append(ValuePhase.from_report(report))
        if report.outcome.found:
            candidate = read_solution(model)
            candidate_value = value_of(model, candidate)
            if candidate_value >= best_value:
                best, best_value = candidate, candidate_value
            else:
                if report.outcome == Outcome.OPTIMAL:
                    logger.warning("the solver called value %s optimal, below the greedy start's %s",
                                   candidate_value, best_value)
                status = Outcome.FEASIBLE      # the solver stopped below the greedy start: keep the greedy allocation
            if report.outcome == Outcome.FEASIBLE:
                status = Outcome.FEASIBLE
        elif report.outcome == Outcome.NONE:
            status = Outcome.FEASIBLE          # stopped before any solution: the greedy one (or nothing) is still valid
        elif report.outcome == Outcome.INFEASIBLE and model.fixed:
            raise ModelInfeasible("the solver proved that the fixed bids cannot all be accepted")
        else:
            raise ClearingError(f"the solver found the clearing model {report.outcome}")
    if not model.bids or (values and best_value <= 0 and not best.accepted and status == Outcome.OPTIMAL):
        return SolveResult(best, status, tuple(phases))
    result = _cost_phase(model, options, budget, phases, best, best_value, status, ahead, tolerance)
    missing = model.fixed & set(model.accept) - {b.id for b in result.solution.accepted}
    if missing:
        # Only a time limit gets here: the model accepts every fixed bid in any solution it has.
        raise ClearingError(f"no allocation accepting every fixed bid ({', '.join(sorted(missing))}) was found "
                            "within the time limit")
    return result


def _cost_phase(model: ClearingModel, options: ClearOptions, budget: Budget, phases: list[Phase], best: Solution,
                best_value: float, status: Outcome, ahead: CostAhead | None, tolerance: float) -> SolveResult:
    prob = model.prob

    # Phase 2: keep the value, pay least.
    progress.stage(progress.COST)
    prob.addConstraint(keep_value_row(model, best_value - tolerance))
    prob.sense = pulp.LpMinimize
    prob.setObjective(model.cost)
    # A 1.1 model starts phase 2 only from an allocation it admits (nothing accepted leaves out fixed bids).
    warm = not (model.uses_1_1 and breaks_the_model(model, best))
    if warm:
        warm_start(model, best)
    remaining = budget.left()
    if remaining is not None and remaining <= 0:
        phases.append(CostPhase(Outcome.SKIPPED))
        return SolveResult(best, Outcome.FEASIBLE, tuple(phases))
    early = ahead.answer_for(best, best_value) if ahead is not None else None
    if early is not None:
        report = early
    else:
        report = backends.solve(prob, options.backend, time_limit=remaining, gap=options.gap, warm_start=warm,
                                highs_options=COST_PHASE_HIGHS)
    phases.append(replace(CostPhase.from_report(report), started_early=early is not None))
    if report.outcome.found:
        candidate = read_solution(model)
        if value_of(model, candidate) >= best_value - tolerance:
            best = candidate
        if report.outcome == Outcome.FEASIBLE:
            status = Outcome.FEASIBLE
    elif report.outcome == Outcome.INFEASIBLE and model.fixed and not best.accepted:
        raise ModelInfeasible("the solver proved that the fixed bids cannot all be accepted")
    else:
        status = Outcome.FEASIBLE
    return SolveResult(best, status, tuple(phases))


# Phase 2 starts from phase 1's allocation, so its work is the bound, not finding allocations. HiGHS's
# root heuristics (sub-MIPs around the LP: RINS, RENS, reduced-cost fixing; feasibility jump) spent half
# of it rediscovering allocations as good as the start: off, the cost phase of 200-challenge markets
# took 3-5 s instead of 7-8 s (docs/benchmarks.md). Branching still finds cheaper allocations.
COST_PHASE_HIGHS = {"mip_heuristic_run_rins": False, "mip_heuristic_run_rens": False,
                    "mip_heuristic_run_root_reduced_cost": False, "mip_heuristic_run_feasibility_jump": False}


def value_tolerance(values: list[float]) -> float:
    """How far below the best value phase 2 may go: half the step every value is a multiple of (half a unit
    for whole values, half a thousandth for the thousandths the loader allows: solver/bounds.py), so that
    no allocation of less value fits, while the solvers' rounding of a large total (10^9 and more, where
    1e-6 is below a double's precision and CBC called the row infeasible) still does."""
    if all(float(v).is_integer() for v in values):
        return 0.5
    if all(round(v, VALUE_DECIMALS) == v for v in values):
        return 0.5 * 10.0 ** -VALUE_DECIMALS
    return 1e-6                                  # a market built in code with finer values


def _cost_ahead(model: ClearingModel, options: ClearOptions, budget: Budget, tolerance: float
                ) -> CostAhead | None:
    """Phase 2 may start beside phase 1 (cost_ahead.py) with HiGHS, two cores and no time limit (a limit
    would make what each phase gets depend on when the other stopped)."""
    if (not options.cost_early or options.backend != "highs" or budget.limited
            or backends.highs_threads() < 2 or not model.cost or not model.bids):
        return None
    return CostAhead(model, tolerance, options.gap, COST_PHASE_HIGHS, progress.current())


# With a time limit, a model with this many yes/no decisions first takes the LP relaxation's allocation
# (solver/relaxation.py): branch-and-bound on such models needs minutes before it finds a good one.
RELAX_FIRST_BINARIES = 5000
RELAX_SHARE = 0.5                      # of the time left, at most, for the relaxation and its fixing


def _relax_first(model: ClearingModel, budget: Budget) -> bool:
    return budget.limited and len(model.accept) + len(model.done) >= RELAX_FIRST_BINARIES


def _relaxation_start(model: ClearingModel, options: ClearOptions, budget: Budget, share: float = RELAX_SHARE
                      ) -> tuple[Solution | None, float, RelaxationPhase]:
    """The relaxation's allocation (or None), its value, and the phase's record."""
    remaining = budget.left()
    result = relax_and_fix(model, options.backend, None if remaining is None else remaining * share)
    bound = None if result.bound is None else round(result.bound, 6)
    if not result.found:
        return None, 0.0, RelaxationPhase(Outcome.NONE, result.open_decisions, round(result.seconds, 3), bound)
    found = read_solution(model)
    found_value = value_of(model, found)
    return found, found_value, RelaxationPhase(Outcome.FEASIBLE, result.open_decisions, round(result.seconds, 3),
                                               bound, objective=found_value, value=found_value)

