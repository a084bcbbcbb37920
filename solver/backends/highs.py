"""HiGHS through highspy: the model passed in bulk, solved here or on a thread of its own (BackgroundRun).

A run followed by a progress listener (solver/progress.py) reports the incumbent and bound HiGHS's MIP
callbacks give (_Following), and is interrupted when the listener asks to stop: HiGHS checks at its MIP
interrupt callback, between nodes and heuristics (a sub-MIP heuristic runs to its end first, seconds on
big models), and the run then raises progress.Cancelled. An LP is not followed."""
from __future__ import annotations

import collections
import contextlib
import functools
import itertools
import logging
import math
import operator
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import pulp

from .. import progress
from ..outcome import Outcome
from .common import BackendError, SolveReport, outcome_of

logger = logging.getLogger(__name__)

if TYPE_CHECKING:                 # at run time highspy and numpy are imported where they are used
    import highspy
    import numpy as np
    import numpy.typing as npt

    _Floats: TypeAlias = npt.NDArray[np.float64]
    _Indices: TypeAlias = npt.NDArray[np.int32]     # HighsInt is 32 bits in highspy's wheels
    _Start: TypeAlias = tuple[_Indices, _Floats]    # a MIP start: column indices and their values

# The value of a HiGHS option (Highs.setOptionValue takes these).
HighsOption: TypeAlias = bool | int | float | str


@contextlib.contextmanager
def _stdout_silenced() -> Iterator[None]:
    """HiGHS prints a banner on stdout once per process even when told to be quiet."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), fd)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, fd)
            os.close(saved)


def solve_highs(prob: pulp.LpProblem, time_limit: float | None, gap: float | None,
                 abs_gap: float | None, warm_start: bool = False, options: Mapping[str, HighsOption] | None = None,
                on_improving: ImprovingHook | None = None) -> tuple[Outcome, float | None, float | None]:
    """HiGHS through highspy, with the model passed in bulk.

    PuLP's own HiGHS interface (pulp.HiGHS) adds every column and row from Python one call at a time,
    walks prob.variables() three times and ignores warm starts; on markets of a million variables the
    transfer took longer than a short solve. This builds the same model PuLP would (same column order,
    the negated objective of a maximum, the same bounds and integrality; plus the objective's constant as
    HiGHS's offset) as numpy arrays, passes it with one call, and writes back what PuLP writes back."""
    started = time.perf_counter()
    wasNone, dummyVar = prob.fixObjective()       # as LpProblem.solve: an objective without variables
    try:
        with _stdout_silenced():
            variables, constraints, arrays = _model_arrays(prob)
            start = _start_of(variables) if warm_start else None
            listener = progress.current()
            following = _Following(listener, prob.sense) if listener is not None else None
            h = _run_highs(arrays, time_limit, gap, abs_gap, start, options,
                           _improving_handler(variables, prob.sense, on_improving) if on_improving else None,
                           following=following)
            if start is not None and _start_misreported(h, arrays.cost, arrays.offset):
                # HiGHS 1.16 can return the MIP start itself while reporting the objective the start has
                # in its presolved model, which may be better than the start's true objective, and stop
                # there, calling it optimal (tests/solver/test_backends_highs.py). Then solve again without it.
                if time_limit is not None:
                    time_limit = max(time_limit - (time.perf_counter() - started), 0.01)
                h = _run_highs(arrays, time_limit, gap, abs_gap, None, options, following=following)
            prob.solverModel = h                  # as pulp.HiGHS does
            status, sol_status = _read_from_highs(h, variables, constraints)
    finally:
        prob.restoreObjective(wasNone, dummyVar)
    prob.assignStatus(status, sol_status)
    return _highs_outcome(h, prob, gap)


def _highs_outcome(h: highspy.Highs, prob: pulp.LpProblem, gap: float | None
                   ) -> tuple[Outcome, float | None, float | None]:
    """Outcome, objective and bound of a HiGHS run whose answer is already written back into `prob`."""
    import highspy
    outcome = outcome_of(prob)
    info = h.getInfo()
    model_status = h.getModelStatus()
    if model_status == highspy.HighsModelStatus.kNotset:
        # HiGHS refused to start, which PuLP reports like a limit hit before any solution. The usual
        # cause: other code on this thread started HiGHS's scheduler with another thread count.
        raise BackendError(f"HiGHS did not run: its thread scheduler was started elsewhere on this thread with a "
                           f"thread count other than {highs_threads()} (highspy.Highs.resetGlobalScheduler clears it)")
    if outcome == Outcome.OPTIMAL and model_status != highspy.HighsModelStatus.kOptimal:
        outcome = Outcome.FEASIBLE
    if outcome == Outcome.OPTIMAL and gap and info.mip_gap > 1e-9 and info.mip_gap != float("inf"):
        outcome = Outcome.FEASIBLE       # stopped by a positive --gap, not proven
    bound = info.mip_dual_bound if abs(info.mip_dual_bound) != float("inf") else None
    if bound is not None and prob.sense == pulp.LpMaximize:
        bound = -bound             # HiGHS is handed the negated objective of a maximum (offset included)
    objective = pulp.value(prob.objective) if outcome.found else None
    return outcome, objective, bound


# Told of each better solution HiGHS finds: the columns (prob.variables() order), their values, and the
# best bound on the objective at that moment (None before there is one).
ImprovingHook = Callable[[list[pulp.LpVariable], "_Floats", "float | None"], None]


def _improving_handler(variables: list[pulp.LpVariable], sense: int, hook: ImprovingHook
                       ) -> Callable[[highspy.HighsCallbackEvent], None]:
    import numpy as np

    def handler(event: highspy.HighsCallbackEvent) -> None:
        data = event.data_out
        bound: float | None = None
        if abs(data.mip_dual_bound) != float("inf"):
            bound = -data.mip_dual_bound if sense == pulp.LpMaximize else data.mip_dual_bound
        hook(variables, np.array(data.mip_solution, dtype=np.float64), bound)
    return handler


# A followed run reports the figures of HiGHS's interrupt checks, when they changed, at most this often
# (each better solution at once).
REPORT_SECONDS = 0.2


class _Following:
    """A progress listener following HiGHS's MIP: told the incumbent and bound (in the problem's own sense) at
    each better solution and, at most every REPORT_SECONDS, as they change; asked at each interrupt check
    whether to stop (then `stopped`). While `reporting` is off it is only asked (a run beside the one the
    listener follows). HiGHS calls these on the thread running it; a callback that raised would end the
    run in a solve error, so a listener's error is logged, not raised."""

    def __init__(self, listener: progress.Listener, sense: int, reporting: bool = True) -> None:
        self.listener = listener
        self.sign = -1.0 if sense == pulp.LpMaximize else 1.0   # HiGHS minimises -objective for a maximum
        self.reporting = reporting
        self.stopped = False
        self._reported: tuple[float | None, float | None] | None = None
        self._reported_at = -math.inf

    def subscribe(self, h: highspy.Highs) -> None:
        h.cbMipImprovingSolution += self._improving
        h.cbMipInterrupt += self._interrupt

    def _improving(self, event: highspy.HighsCallbackEvent) -> None:
        try:
            self._report(event.data_out, at_once=True)
        except Exception:
            logger.exception("a progress listener failed")

    def _interrupt(self, event: highspy.HighsCallbackEvent) -> None:
        try:
            if self.listener.stop_requested():
                self.stopped = True
                event.interrupt()
                return
            self._report(event.data_out, at_once=False)
        except Exception:
            logger.exception("a progress listener failed")

    def _report(self, data: highspy.cb.HighsCallbackOutput, at_once: bool) -> None:
        if not self.reporting:
            return
        figures = (self._own(data.mip_primal_bound), self._own(data.mip_dual_bound))
        now = time.monotonic()
        if figures in ((None, None), self._reported) or (not at_once and now - self._reported_at < REPORT_SECONDS):
            return
        self._reported, self._reported_at = figures, now
        progress.search(*figures, listener=self.listener)

    def _own(self, figure: float) -> float | None:
        """A figure of HiGHS's in the problem's own sense; None while HiGHS has none (infinite)."""
        return self.sign * figure if math.isfinite(figure) else None


class BackgroundRun:
    """HiGHS solving `prob` as it is when this is made, on a thread of its own, from the start given
    (a value for every variable); the caller goes on meanwhile and may change `prob`. `finish` waits for
    the answer and writes it back into `prob` as `solve` would: for the same problem and start, the same
    answer as `solve(prob, "highs", gap=gap, warm_start=True, highs_options=options)` after
    setInitialValue of the same start (tests/solver/test_cost_ahead.py). `cancel` stops it early; a time
    limit stops it as it stops `solve`. With a progress listener (passed: the run has a thread of its own) it
    stops when the listener asks to (then `finish` raises progress.Cancelled), and from `report_progress` on
    reports its search to the listener."""

    def __init__(self, prob: pulp.LpProblem, start: Mapping[pulp.LpVariable, float], gap: float | None = None,
                 options: Mapping[str, HighsOption] | None = None, time_limit: float | None = None,
                 listener: progress.Listener | None = None) -> None:
        import highspy
        import numpy as np
        if not prob.objective:
            raise BackendError("internal: a background run needs an objective with variables")
        with _stdout_silenced():                  # HiGHS's once-per-process banner: not from the other thread
            highspy.Highs()                 # type: ignore[no-untyped-call]  # highspy: __init__ lacks "-> None"
        self.variables, self.constraints, self._arrays = _model_arrays(prob)
        self._start = (np.arange(len(self.variables), dtype=np.int32),
                       np.fromiter((start[v] for v in self.variables), np.float64, len(self.variables)))
        self._gap, self._options = gap, dict(options or {})
        self._time_limit = None if time_limit is None else max(time_limit, 0.01)
        self._stop = threading.Event()
        self._following = _Following(listener, prob.sense, reporting=False) if listener is not None else None
        self._h: highspy.Highs | None = None      # set by _run unless it fails
        self._error: BaseException | None = None
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._run, name="swarm-highs-background", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            self._h = _run_highs(self._arrays, self._time_limit, self._gap, None, self._start, self._options, None,
                                 self._stop, self._following)
            if not self._stop.is_set() and _start_misreported(self._h, self._arrays.cost, self._arrays.offset):
                left = (None if self._time_limit is None
                        else max(self._time_limit - (time.perf_counter() - started), 0.01))
                self._h = _run_highs(self._arrays, left, self._gap, None, None, self._options, None, self._stop,
                                     self._following)
        except BaseException as exc:            # handed to the caller by finish()
            self._error = exc
        finally:
            self.seconds = time.perf_counter() - started

    def cancel(self) -> None:
        self._stop.set()

    def report_progress(self) -> None:
        """From now on, tell the listener of this run's search (it has become the search the listener follows)."""
        if self._following is not None:
            self._following.reporting = True

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    def finish(self, prob: pulp.LpProblem) -> SolveReport:
        self._thread.join()
        if isinstance(self._error, progress.Cancelled):
            raise self._error
        if self._error is not None:
            raise BackendError(f"HiGHS failed: {self._error}")
        assert self._h is not None, "a background run that did not fail left no Highs object"
        status, sol_status = _read_from_highs(self._h, self.variables, self.constraints)
        prob.assignStatus(status, sol_status)
        outcome, objective, bound = _highs_outcome(self._h, prob, self._gap)
        return SolveReport(outcome, objective, bound, self.seconds)


def highs_threads() -> int:
    """HiGHS's thread count, the same for every run in this process (HiGHS fixes it per calling thread).

    Two where two cores are free: HiGHS's MIP then computes the root's analytic centre and detects
    symmetry beside the main search (about 10% off a 200-challenge market; docs/benchmarks.md). One in
    a worker process (parallel parts, Dask), whose siblings already use the other cores. The extra
    thread changes no answer's determinism: the search waits for those results at fixed points, so the
    same market gives the same allocation, byte for byte (tests/solver/test_cost_ahead.py). The
    environment variable SWARM_HIGHS_THREADS sets another count."""
    global _threads
    if _threads is None:
        import multiprocessing
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:
            cores = os.cpu_count() or 1
        _threads = 1 if multiprocessing.current_process().daemon else max(1, min(2, cores))
        given = os.environ.get("SWARM_HIGHS_THREADS", "")
        if given.isdigit() and int(given) > 0:
            _threads = int(given)
    return _threads


def use_one_thread() -> None:
    """For worker processes that run beside others: HiGHS in this process runs on one thread."""
    global _threads
    _threads = 1


_threads: int | None = None


def _run_highs(arrays: _Arrays, time_limit: float | None, gap: float | None, abs_gap: float | None,
               start: _Start | None, options: Mapping[str, HighsOption] | None = None,
               on_improving: Callable[[highspy.HighsCallbackEvent], None] | None = None,
               stop: threading.Event | None = None, following: _Following | None = None) -> highspy.Highs:
    """A new Highs object with the options PuLP's interface sets, given the model (and its start) and run;
    progress.Cancelled when `following`'s listener stopped it."""
    import highspy
    h = highspy.Highs()                           # type: ignore[no-untyped-call]  # highspy: __init__ lacks "-> None"
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", gap if gap is not None else 0.0)
    if abs_gap is not None:
        h.setOptionValue("mip_abs_gap", abs_gap)
    h.setOptionValue("threads", highs_threads())
    h.setOptionValue("parallel", "off")           # LPs keep the serial simplex: one answer for one input
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    for name, value in (options or {}).items():
        h.setOptionValue(name, value)
    _pass_arrays(h, arrays)
    if on_improving is not None:
        h.cbMipImprovingSolution += on_improving
    if stop is not None:
        def interrupt(event: highspy.HighsCallbackEvent) -> None:
            if stop.is_set():
                event.interrupt()
        h.cbMipInterrupt += interrupt
    if following is not None:
        following.subscribe(h)
    if start is not None and len(start[0]):
        h.setSolution(len(start[0]), start[0], start[1])
    h.run()
    if following is not None and following.stopped:
        raise progress.Cancelled("the clearing was cancelled")
    return h


def _start_misreported(h: highspy.Highs, cost: _Floats, offset: float) -> bool:
    """Whether the objective HiGHS reports is not that of the solution it returns (given costs and offset)."""
    import numpy as np
    solution = h.getSolution()
    reported = h.getInfo().objective_function_value
    if not solution.value_valid or not np.isfinite(reported) or len(solution.col_value) != len(cost):
        return False
    actual = float(np.dot(cost, np.asarray(solution.col_value, dtype=np.float64))) + offset
    return abs(actual - reported) > 1e-6 * max(1.0, abs(actual), abs(reported))


@dataclass(frozen=True, slots=True)
class _Arrays:
    """A PuLP problem as HiGHS takes it (passModel's arguments, row-wise)."""
    n: int
    m: int
    nnz: int
    offset: float
    cost: _Floats
    col_lower: _Floats
    col_upper: _Floats
    row_lower: _Floats
    row_upper: _Floats
    a_start: _Indices
    a_index: _Indices
    a_value: _Floats
    integrality: _Indices


def _pass_to_highs(h: highspy.Highs, prob: pulp.LpProblem
                   ) -> tuple[list[pulp.LpVariable], list[pulp.LpConstraint], tuple[_Floats, float]]:
    """Pass `prob` to the Highs object `h` in one call; returns the columns and rows in HiGHS's order, and
    the costs and offset HiGHS was given."""
    variables, constraints, arrays = _model_arrays(prob)
    _pass_arrays(h, arrays)
    return variables, constraints, (arrays.cost, arrays.offset)


def _pass_arrays(h: highspy.Highs, a: _Arrays) -> None:
    import highspy
    status = h.passModel(a.n, a.m, a.nnz, int(highspy.MatrixFormat.kRowwise), int(highspy.ObjSense.kMinimize),
                         a.offset, a.cost, a.col_lower, a.col_upper, a.row_lower, a.row_upper, a.a_start[:a.m],
                         a.a_index, a.a_value, a.integrality)
    if status == highspy.HighsStatus.kError:
        raise BackendError("HiGHS refused the model (passModel failed)")


def _model_arrays(prob: pulp.LpProblem) -> tuple[list[pulp.LpVariable], list[pulp.LpConstraint], _Arrays]:
    """The columns and rows of `prob` in HiGHS's order, and the model as HiGHS takes it."""
    import highspy
    import numpy as np
    inf = highspy.kHighsInf
    constraints = prob.constraints()             # insertion order (PuLP 4.0's call; no deprecation warning)
    variables, obj_index, a_index = _columns(prob, constraints)
    n, m = len(variables), len(constraints)

    sign = -1.0 if prob.sense == pulp.LpMaximize else 1.0   # HiGHS minimises the negated objective of a maximum
    cost = np.zeros(n)
    objective = prob.objective
    if objective:
        cost[obj_index] = np.fromiter(objective.values(), np.float64, len(obj_index))
        cost *= sign
    offset = sign * float(objective.constant) + 0.0 if objective is not None else 0.0   # + 0.0: no -0.0

    # None (no bound) becomes nan, then +-inf
    col_lower = np.array(list(map(operator.attrgetter("lowBound"), variables)), dtype=np.float64)
    col_upper = np.array(list(map(operator.attrgetter("upBound"), variables)), dtype=np.float64)
    col_lower[np.isnan(col_lower)] = -inf
    col_upper[np.isnan(col_upper)] = inf
    integer = pulp.LpInteger                     # LpBinary variables are LpInteger on [0, 1]
    integrality = np.fromiter(map(integer.__eq__, map(operator.attrgetter("cat"), variables)), np.int32, n)

    lengths = np.fromiter(map(len, constraints), np.int64, m)
    nnz = int(lengths.sum())
    a_value = np.fromiter(itertools.chain.from_iterable(c.values() for c in constraints), np.float64, nnz)
    if nnz and not a_value.all():                # PuLP leaves out zero coefficients
        keep = a_value != 0
        lengths = np.bincount(np.repeat(np.arange(m), lengths)[keep], minlength=m)
        a_index, a_value = a_index[keep], a_value[keep]
        nnz = len(a_value)
    a_start = np.zeros(m + 1, np.int32)          # HighsInt is 32 bits in highspy's wheels
    np.cumsum(lengths, out=a_start[1:])
    # as LpConstraint.getLb/getUb: the bound is -constant (the constant sits on the left-hand side)
    rhs = -np.fromiter((c.constant for c in constraints), np.float64, m)
    sense = np.fromiter((c.sense for c in constraints), np.int8, m)
    row_lower = np.where(sense == pulp.LpConstraintLE, -inf, rhs)
    row_upper = np.where(sense == pulp.LpConstraintGE, inf, rhs)

    return variables, constraints, _Arrays(n, m, nnz, offset, cost, col_lower, col_upper, row_lower, row_upper,
                                           a_start, a_index, a_value, integrality)


_column_numbers = itertools.count(1 << 32)     # never reused in a process: see _columns
_column_numbers_lock = threading.Lock()


def _columns(prob: pulp.LpProblem, constraints: list[pulp.LpConstraint]
             ) -> tuple[list[pulp.LpVariable], npt.NDArray[np.int64], _Indices]:
    """prob.variables() (the columns, sorted by name), and the column of each objective term and row entry.

    prob.variables() registers the variables of every row again, one call per entry, in a dict keyed by
    id(): seconds on a million variables (the ids are aligned addresses, so the dict's probes collide).
    PuLP registers a row's variables when the row is added, so they are normally all registered already.
    This sorts the registered ones as prob.variables() does and numbers them base, base + 1, ... in an
    attribute of their own, with a base no earlier call in this process used; an entry whose variable was
    not numbered now (never registered: a row or the objective changed after the fact) has no number or
    one outside [base, base + n), and then it falls back to prob.variables()."""
    import numpy as np
    number_of = operator.attrgetter("_swarm_column")
    objective = prob.objective
    obj_keys = list(objective.keys()) if objective else []
    nnz = sum(map(len, constraints))
    for registered_only in (True, False):
        if registered_only:
            variables = prob._variables
            variables.sort(key=operator.attrgetter("name"))   # what prob.variables() does after registering
        else:
            variables = prob.variables()
        n = len(variables)
        with _column_numbers_lock:
            base = next(_column_numbers)
            for _ in itertools.islice(_column_numbers, n):  # reserve base .. base + n
                pass
        collections.deque(map(setattr, variables, itertools.repeat("_swarm_column"), range(base, base + n)), 0)
        try:
            obj_index = np.fromiter(map(number_of, obj_keys), np.int64, len(obj_keys))
            a_index = np.fromiter(itertools.chain.from_iterable(map(number_of, c.keys()) for c in constraints),
                                  np.int64, nnz)
        except AttributeError:                  # a variable never numbered: not registered
            continue
        if all(len(index) == 0 or (index.min() >= base and index.max() < base + n)
               for index in (obj_index, a_index)):
            return variables, obj_index - base, (a_index - base).astype(np.int32)
    raise BackendError("internal: could not number the columns of the model for HiGHS")


def _start_of(variables: list[pulp.LpVariable]) -> _Start | None:
    """The variables' initial values (setInitialValue) as a MIP start for HiGHS (column indices, values); a
    partial one if some have none, None if none has one."""
    import numpy as np
    given = [(i, v.varValue) for i, v in enumerate(variables) if v.varValue is not None]
    if not given:
        return None
    return (np.fromiter((i for i, _ in given), np.int32, len(given)),
            np.fromiter((x for _, x in given), np.float64, len(given)))


def _read_from_highs(h: highspy.Highs, variables: list[pulp.LpVariable],
                     constraints: list[pulp.LpConstraint]) -> tuple[int, int]:
    """What PuLP's interface writes back (values, reduced costs, slacks, duals) and its status pair."""
    import highspy
    import numpy as np
    solution = h.getSolution()
    n, m = len(variables), len(constraints)
    col_value, col_dual = solution.col_value, solution.col_dual
    if len(col_value) == n:                       # zip would stop at the shortest: no dual, no value
        for var, value, dj in zip(variables, col_value, col_dual if len(col_dual) == n else itertools.repeat(None)):
            var.varValue = value
            var.dj = dj
            var.modified = False
    row_value, row_dual = solution.row_value, solution.row_dual
    if m and len(row_value) == m:
        duals: Iterable[float | None] = row_dual if len(row_dual) == m else itertools.repeat(None)
        constant = np.fromiter((c.constant for c in constraints), np.float64, len(constraints))
        slack = constant + np.asarray(row_value, dtype=np.float64)
        le = np.fromiter((c.sense == pulp.LpConstraintLE for c in constraints), bool, len(constraints))
        slack[le] *= -1.0
        for i, (constraint, s, pi) in enumerate(zip(constraints, slack.tolist(), duals)):
            constraint.index = i
            constraint.slack = s
            constraint.pi = pi
    status = h.getModelStatus()
    if h.getObjectiveValue() == highspy.kHighsInf and status in (highspy.HighsModelStatus.kTimeLimit,
                                                                 highspy.HighsModelStatus.kIterationLimit):
        return pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound
    return _highs_status_table().get(int(status), (pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound))


@functools.lru_cache(maxsize=1)
def _highs_status_table() -> dict[int, tuple[int, int]]:
    """pulp.HiGHS.findSolutionValues's table (PuLP 3.3.2), keyed by the HighsModelStatus value."""
    import highspy
    S = highspy.HighsModelStatus
    none = (pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound)
    stopped = (pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible)
    table = {
        S.kNotset: none, S.kLoadError: none, S.kModelError: none, S.kPresolveError: none,
        S.kSolveError: none, S.kPostsolveError: none, S.kModelEmpty: none, S.kUnknown: none,
        S.kOptimal: (pulp.LpStatusOptimal, pulp.LpSolutionOptimal),
        S.kInfeasible: (pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible),
        S.kUnboundedOrInfeasible: (pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible),
        S.kUnbounded: (pulp.LpStatusUnbounded, pulp.LpSolutionUnbounded),
        S.kObjectiveBound: stopped, S.kObjectiveTarget: stopped, S.kInterrupt: stopped,
        S.kTimeLimit: stopped, S.kIterationLimit: stopped,
    }
    return {int(k): v for k, v in table.items()}
