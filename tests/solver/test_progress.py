"""A clearing followed by a progress listener (solver/progress.py): it hears the stages in order and the
backend's incumbent and bound while the backend searches, it can stop the clearing (no CBC outlives it),
and following changes nothing in the allocation."""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import psutil
import pulp
import pytest

from solver import backends, progress
from solver.backends import highs
from solver.backends.cbc import _LogFollower
from solver.clearing import ClearOptions, clear
from solver.generate import generate
from solver.loading import load_market, parse_market
from solver.market import Market
from tests.orphans import NEEDS_SIGNALS, cbcs_under, gone, twins
from tests.paths import FIXTURES


class Recorder:
    """A listener that keeps what it hears (from whichever thread) and stops when `stop_when` says so."""

    def __init__(self, stop_when: Any = None) -> None:
        self.stages: list[tuple[str, str | None]] = []
        self.searches: list[tuple[str, float | None, float | None, list[int]]] = []  # stage, figures, CBC pids
        self.stop_when = stop_when or (lambda recorder: False)
        self.stopped = False
        self.searches_when_stopped: int | None = None   # how many searches it had heard when it first said stop
        self._lock = threading.Lock()

    def stage(self, name: str, detail: str | None) -> None:
        with self._lock:
            self.stages.append((name, detail))

    def search(self, incumbent: float | None, bound: float | None) -> None:
        cbcs = [p.pid for p in cbcs_under(os.getpid())]
        with self._lock:
            self.searches.append((self.stages[-1][0], incumbent, bound, cbcs))

    def stop_requested(self) -> bool:
        with self._lock:
            if not self.stopped and self.stop_when(self):
                self.stopped, self.searches_when_stopped = True, len(self.searches)
            return self.stopped

    def value_searches(self) -> list[tuple[str, float | None, float | None, list[int]]]:
        """The reports of the value phase that give both an incumbent and a bound."""
        return [s for s in self.searches if s[0] == progress.VALUE and s[1] is not None and s[2] is not None]


def _generated(challenges: int, seed: int = 1) -> Market:
    return parse_market(generate(challenges, 3 * challenges, challenges * 3 // 2, seed=seed))


# A market whose value phase keeps CBC busy for several seconds (HiGHS: about 2 s).
BUSY = 60


def test_stages_arrive_in_order(backend):
    recorder = Recorder()
    with progress.following(recorder):
        clear(load_market(FIXTURES / "water-sdg6.json"), ClearOptions(backend=backend))
    names = [name for name, _ in recorder.stages]
    assert names[0] == progress.MODEL and names[-1] == progress.REASONS
    assert [progress.STAGES.index(n) for n in names] == sorted(progress.STAGES.index(n) for n in names), names
    assert {progress.GREEDY, progress.VALUE, progress.COST, progress.ROUNDING} <= set(names)
    tested = [detail for name, detail in recorder.stages if name == progress.REASONS and detail]
    assert tested and tested == [f"challenge {k} of {len(tested)}" for k in range(1, len(tested) + 1)]


def test_parts_cleared_here_say_which_part_each_stage_is_of():
    twin = parse_market(twins(generate(10, 30, 15, seed=1)))      # two parts of 51 bids: two models
    recorder = Recorder()
    with progress.following(recorder):
        clear(twin, ClearOptions(backend="cbc", workers=1, explain=False))
    per_part = [(name, detail) for name, detail in recorder.stages if detail]
    assert per_part == [(name, f"part {k} of 2") for k in (1, 2) for name in (progress.GREEDY, progress.VALUE,
                                                                              progress.COST)]


def _after_first_value_search(recorder: Recorder) -> bool:
    return bool(recorder.value_searches())


@NEEDS_SIGNALS
def test_cbc_reports_its_incumbent_and_bound_while_it_runs_and_is_killed_when_asked_to_stop():
    recorder = Recorder(stop_when=_after_first_value_search)
    with pytest.raises(progress.Cancelled), progress.following(recorder):
        clear(_generated(BUSY), ClearOptions(backend="cbc", explain=False))
    (_, incumbent, bound, running), = recorder.value_searches()
    assert running, "reported only after CBC ended"
    assert incumbent is not None and bound is not None and 0 < incumbent <= bound   # a maximum: CBC's -objective
    assert progress.COST not in [name for name, _ in recorder.stages]
    assert all(gone(pid) for pid in running), "CBC outlived the cancelled clearing"
    assert not cbcs_under(os.getpid())


def test_highs_reports_its_incumbent_and_bound_while_it_searches_and_stops_when_asked():
    if not backends.available("highs"):
        pytest.skip("the highs backend is not installed")
    recorder = Recorder(stop_when=_after_first_value_search)
    with pytest.raises(progress.Cancelled) as cancelled, progress.following(recorder):
        clear(_generated(BUSY), ClearOptions(backend="highs", explain=False))
    searches = recorder.value_searches()
    assert searches, "HiGHS reported no incumbent and bound while it searched"
    for _, incumbent, bound, _ in searches:
        assert incumbent is not None and bound is not None and 0 < incumbent <= bound   # HiGHS minimised -objective
    # Asked at its interrupt check after the first report, HiGHS stops there: its run raises, not the check
    # before the cost phase (which a run that never asked, or did not stop, would reach), and it reports no more.
    assert Path(cancelled.traceback[-1].path) == Path(highs.__file__), "HiGHS searched on when asked to stop"
    assert recorder.searches_when_stopped is not None
    assert recorder.searches[recorder.searches_when_stopped:] == [], "HiGHS reported after it was told to stop"
    # HiGHS reports a better solution at once, and its interrupt checks when REPORT_SECONDS have passed: when the
    # check that reported the first search is the last before a better solution (timing: under load it can be),
    # that solution is heard before the next check stops. Only better solutions may come in between.
    assert all(later[1] > earlier[1] for earlier, later in zip(searches, searches[1:])), searches
    assert recorder.stages[-1][0] == progress.VALUE     # cancelled in the value phase: no cost phase


@NEEDS_SIGNALS
def test_a_clearing_cancelled_between_the_reasons_tests_stops_there(backend):
    def at_second_test(recorder: Recorder) -> bool:
        return recorder.stages[-1:] == [(progress.REASONS, "challenge 2 of 4")]
    recorder = Recorder(stop_when=at_second_test)
    with pytest.raises(progress.Cancelled), progress.following(recorder):
        clear(load_market(FIXTURES / "water-sdg6.json"), ClearOptions(backend=backend))
    assert recorder.stages[-1] == (progress.REASONS, "challenge 2 of 4")
    assert not cbcs_under(os.getpid())


@NEEDS_SIGNALS
def test_a_clearing_cancelled_while_worker_processes_run_cbc_leaves_no_process():
    def once_cbc_runs(recorder: Recorder) -> bool:
        return bool(cbcs_under(os.getpid()))
    twin = parse_market(twins(generate(BUSY, 3 * BUSY, BUSY * 3 // 2, seed=1)))
    recorder = Recorder(stop_when=once_cbc_runs)
    before = set(psutil.Process().children(recursive=True))     # another test's (a /solve forkserver) stay
    with pytest.raises(progress.Cancelled), progress.following(recorder):
        clear(twin, ClearOptions(backend="cbc", workers=2, explain=False))
    assert recorder.stages[-1] == (progress.VALUE, "2 parts in 2 worker processes")
    left = [p for p in set(psutil.Process().children(recursive=True)) - before
            if "resource_tracker" not in " ".join(p.cmdline())]     # multiprocessing's own, one per process
    assert not left, f"outlived the cancelled clearing: {left}"


@pytest.mark.parametrize("workers", [None, 2])
def test_following_a_clearing_changes_nothing_in_its_allocation(backend, workers):
    doc = generate(20, 60, 30, seed=3)
    market = parse_market(twins(doc) if workers else doc)
    options = ClearOptions(backend=backend, workers=workers, explain=workers is None)   # reasons once will do
    recorder = Recorder()
    with progress.following(recorder):
        followed = clear(market, options).to_document()
    plain = clear(market, options).to_document()
    assert recorder.stages and _untimed(followed) == _untimed(plain)


def _untimed(document: Any) -> Any:
    """An allocation document without the seconds things took."""
    if isinstance(document, dict):
        return {k: _untimed(v) for k, v in document.items() if k not in ("seconds", "build_seconds", "solve_seconds")}
    if isinstance(document, list):
        return [_untimed(v) for v in document]
    return document


# CBC's log of a maximum (a 20-challenge market's value phase): its search states -value.
_CBC_LOG = """\
Continuous objective value is 117243 - 0.00 seconds
Cbc0045I MIPStart provided solution with cost 104900
Cbc0012I Integer solution of 104900 found by Reduced search after 0 iterations and 0 nodes (0.01 seconds)
Cbc0012I Integer solution of -111100 found by DiveCoefficient after 131 iterations and 0 nodes (0.06 seconds)
Cbc0013I At root node, 5 cuts changed objective from -117243.15 to -112171.77 in 10 passes
Cbc0010I After 0 nodes, 1 on tree, 1e+50 best solution, best possible -112171.77 (0.06 seconds)
Cbc0012I Integer solution of -112000 found by DiveCoefficient after 200 iterations and 1 nodes (0.13 seconds)
Cbc0001I Search completed - best objective -112000, took 259 iterations and 4 nodes (0.14 seconds)
Result - Optimal solution found
"""


@pytest.mark.parametrize("sense, figures", [
    (pulp.LpMaximize, [(None, 117243), (104900, 117243), (104900, 117243), (111100, 117243),
                       (111100, 112171.77), (111100, 112171.77), (112000, 112171.77), (112000, 112171.77),
                       (112000, 112000)]),
    (pulp.LpMinimize, [(None, 117243), (104900, 117243), (104900, 117243), (-111100, 117243),
                       (-111100, -112171.77), (-111100, -112171.77), (-112000, -112171.77),
                       (-112000, -112171.77), (-112000, -112000)]),
], ids=["maximum", "minimum"])
def test_cbc_log_lines_give_incumbent_and_bound_in_the_objectives_own_sense(sense, figures):
    follower = _LogFollower(Recorder(), None, sense)
    seen = []
    for line in _CBC_LOG.splitlines():
        follower.take(line)
        seen.append((follower.incumbent, follower.bound))
    assert seen == figures


# A 200-challenge market's value phase: the node line repeats the MIP start's cost in its own sense.
_CBC_START_REPEATED = """\
Continuous objective value is 430841 - 0.07 seconds
Cbc0045I MIPStart provided solution with cost 397400
Cbc0013I At root node, 122 cuts changed objective from -430840.55 to -424869.87 in 7 passes
Cbc0010I After 0 nodes, 1 on tree, 397400 best solution, best possible -424869.87 (3.17 seconds)
Cbc0012I Integer solution of -423550 found by DiveCoefficient after 386 iterations and 2 nodes (6.11 seconds)
Cbc0010I After 100 nodes, 12 on tree, -423550 best solution, best possible -424869.87 (8.02 seconds)
"""


def test_cbc_repeating_its_mip_starts_cost_is_not_read_as_a_negative_value():
    follower = _LogFollower(Recorder(), None, pulp.LpMaximize)
    seen = []
    for line in _CBC_START_REPEATED.splitlines():
        follower.take(line)
        seen.append(follower.incumbent)
    assert seen == [None, 397400, 397400, 397400, 423550, 423550]
