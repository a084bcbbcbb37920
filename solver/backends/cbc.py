"""CBC, the solver bundled with PuLP 3.3, run through PuLP's command-line interface.

CBC is a process of its own, and it must never outlive the call that started it nor run past its time
limit: CBC tests its `-sec` limit only between branch-and-bound nodes, not while it presolves or solves
the root LP, and a killed web worker or CLI process would leave it running. So every CBC process this
package starts dies with the process that started it (parent_death.py), is killed when the wait for it
is interrupted, and is killed GRACE_SECONDS after its time limit. PuLP starts CBC with `subprocess.Popen`
in its coin_api module and has no hook for it, so coin_api's `subprocess` is that module with Popen going
through _GuardedCbc for runs of ours.

A run followed by a progress listener (solver/progress.py) is waited for in slices of FOLLOW_SECONDS:
between them the figures CBC printed to its log are reported (_LogFollower) and CBC is killed when the
listener asks to stop. Written to a file, CBC's output is block-buffered (4 KiB: a 60-challenge market's log
showed nothing past its first block until CBC ended), so a followed CBC runs under coreutils' `stdbuf -oL`,
which makes its output line-buffered.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import warnings
from typing import Any

import pulp

from .. import parent_death, progress
from ..outcome import Outcome
from .common import BackendError, outcome_of

# After its own time limit CBC still writes its answer; it is killed only if it takes this much longer.
GRACE_SECONDS = 2.0
# A followed run: how often its log is read and the listener asked whether to stop.
FOLLOW_SECONDS = 0.2


class _Overran(Exception):
    """CBC did not stop at its time limit and was killed."""


class _GuardedCbc(subprocess.Popen):  # type: ignore[type-arg]  # PuLP reads its output from files, not pipes
    """A CBC process that dies with the process that started it, and is killed when the wait for it is
    interrupted (KeyboardInterrupt, SystemExit, progress.Cancelled) or lasts `kill_after` seconds (then
    _Overran). With a listener, its log is followed while it runs."""

    def __init__(self, kill_after: float | None, listener: progress.Listener | None, sense: int, args: Any,
                 **options: Any) -> None:
        self.kill_after = kill_after
        self.log = options.get("stdout")        # PuLP's open log file: PuLP closes it only when CBC ends
        self.follower: _LogFollower | None = None
        if listener is not None:
            path = getattr(self.log, "name", None)
            self.follower = _LogFollower(listener, path if isinstance(path, str) else None, sense)
            args = [*_line_buffered(), *args]
        if parent_death.supported():
            options["preexec_fn"] = functools.partial(parent_death.die_with_parent, os.getpid())
        super().__init__(args, **options)

    def wait(self, timeout: float | None = None) -> int:
        try:
            if timeout is not None:             # a wait of the caller's own: CBC runs on after it
                return super().wait(timeout)
            if self.follower is not None:
                return self._followed(self.follower)
            if self.kill_after is not None:
                try:
                    return super().wait(self.kill_after)
                except subprocess.TimeoutExpired:
                    raise _Overran from None
            return super().wait()
        except subprocess.TimeoutExpired:
            raise
        except BaseException:
            self.kill()
            super().wait()
            if self.log is not None and hasattr(self.log, "close"):
                self.log.close()
            raise

    def _followed(self, follower: _LogFollower) -> int:
        """Wait in slices, reporting what CBC printed meanwhile; Cancelled once the listener asks to stop."""
        started = time.monotonic()
        while True:
            wait_for = FOLLOW_SECONDS
            if self.kill_after is not None:
                left = self.kill_after - (time.monotonic() - started)
                if left <= 0:
                    raise _Overran
                wait_for = min(wait_for, left)
            try:
                code = super().wait(wait_for)
            except subprocess.TimeoutExpired:
                follower.report()
                progress.check(follower.listener)
                continue
            follower.report()                   # what CBC printed last
            return code


@functools.cache
def _line_buffered() -> tuple[str, ...]:
    """The command that runs a program with its output line-buffered (coreutils' stdbuf, where it works:
    it preloads a library into a dynamically linked program), or nothing."""
    stdbuf = shutil.which("stdbuf")
    if stdbuf is None:
        return ()
    try:
        works = subprocess.run([stdbuf, "-oL", "true"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        works = False
    return (stdbuf, "-oL") if works else ()


_NUMBER = r"(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
# Where CBC's log states its incumbent or bound. Those of its search are in its own sense: CBC minimises,
# so for a maximum they are of -objective. The continuous objective and the MIP start's cost are printed in
# the objective's own sense (so is the first "Integer solution", found by "Reduced search" from the start).
_CONTINUOUS = re.compile(r"^Continuous objective value is " + _NUMBER)
_START = re.compile(r"^Cbc0045I MIPStart provided solution with cost " + _NUMBER)
_FOUND = re.compile(r"^Cbc00(?:12|04)I Integer solution of " + _NUMBER + r" found (?!by Reduced search)")
_NODES = re.compile(r"^Cbc0010I After \d+ nodes, \d+ on tree, " + _NUMBER + r" best solution, best possible "
                    + _NUMBER)
_ROOT = re.compile(r"^Cbc0013I At root node, \d+ cuts changed objective from " + _NUMBER + " to " + _NUMBER)
_DONE = re.compile(r"^Cbc0001I Search completed - best objective " + _NUMBER)
_PROVEN = re.compile(r"^Result - Optimal solution found\s*$")
_NONE = 1e50                                    # CBC's "no solution yet"


class _LogFollower:
    """A listener following a CBC run: each slice, the lines CBC added to its log are read and the incumbent
    and bound they state (in the objective's own sense) reported when they changed."""

    def __init__(self, listener: progress.Listener, path: str | None, sense: int) -> None:
        self.listener, self.path = listener, path
        self.sign = -1.0 if sense == pulp.LpMaximize else 1.0
        self.incumbent: float | None = None
        self.bound: float | None = None
        self._read = 0                          # bytes of the log read so far
        self._partial = b""                     # a line CBC has not finished writing

    def report(self) -> None:
        before = self.incumbent, self.bound
        for line in self._new_lines():
            self.take(line)
        if (self.incumbent, self.bound) != before:
            progress.search(self.incumbent, self.bound, self.listener)

    def _new_lines(self) -> list[str]:
        if self.path is None:
            return []
        try:
            with open(self.path, "rb") as log:
                log.seek(self._read)
                chunk = log.read()
        except OSError:                         # not written yet, or gone with its directory
            return []
        self._read += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        return [line.decode("utf-8", "replace").rstrip("\r") for line in lines]

    def take(self, line: str) -> None:
        """Note the figures `line` of CBC's log states."""
        if match := _CONTINUOUS.match(line):
            self.bound = float(match[1])
        elif match := _START.match(line):
            self.incumbent = float(match[1])
        elif (match := _FOUND.match(line)) or (match := _DONE.match(line)):
            self.incumbent = self._found(match[1])
        elif match := _NODES.match(line):
            self.incumbent = self._found(match[1])
            self.bound = self._own(match[2], self.bound)
        elif match := _ROOT.match(line):
            self.bound = self._own(match[2], self.bound)
        elif _PROVEN.match(line) and self.incumbent is not None:
            self.bound = self.incumbent          # CBC proved its incumbent best

    def _found(self, figure: str) -> float | None:
        """An incumbent of CBC's search. Until its search finds a better one, CBC repeats the MIP start's cost
        as the start gave it, in the objective's own sense (seen: "397400 best solution, best possible
        -424869.87" on a maximum): a figure equal to the incumbent known is that incumbent."""
        if self.incumbent is not None and float(figure) == self.incumbent:
            return self.incumbent
        return self._own(figure, self.incumbent)

    def _own(self, figure: str, known: float | None) -> float | None:
        """A figure of CBC's search in the objective's own sense; `known` for CBC's "none yet"."""
        value = float(figure)
        return known if abs(value) >= _NONE else self.sign * value


class _Runs(threading.local):
    kill_after: float | None = None
    guarded: bool = False
    listener: progress.Listener | None = None
    sense: int = pulp.LpMinimize


_runs = _Runs()


class _Subprocess:
    """The subprocess module as PuLP's coin_api sees it: Popen guarded during a run of ours (on this thread)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    def Popen(self, args: Any, **options: Any) -> subprocess.Popen:  # type: ignore[type-arg]  # noqa: N802
        if not _runs.guarded:
            return subprocess.Popen(args, **options)
        return _GuardedCbc(_runs.kill_after, _runs.listener, _runs.sense, args, **options)


pulp.apis.coin_api.subprocess = _Subprocess()      # see the module's docstring


class _Cbc(pulp.PULP_CBC_CMD):  # type: ignore[misc]  # PuLP is untyped
    """PuLP 3.3's bundled CBC, its process guarded (_GuardedCbc)."""

    def actualSolve(self, lp: pulp.LpProblem, **kwargs: Any) -> int:  # noqa: N802  # PuLP's name
        saved = _runs.guarded, _runs.kill_after, _runs.listener, _runs.sense
        _runs.guarded = True
        _runs.kill_after = None if self.timeLimit is None else self.timeLimit + GRACE_SECONDS
        _runs.listener, _runs.sense = progress.current(), lp.sense
        try:
            return int(super().actualSolve(lp, **kwargs))
        finally:
            _runs.guarded, _runs.kill_after, _runs.listener, _runs.sense = saved


def cbc_solver(**options: object) -> pulp.LpSolver:
    """PuLP 3.3's bundled CBC. PuLP warns that 4.0 drops it; we pin 3.3.2 (see pyproject)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PULP_CBC_CMD is deprecated", category=DeprecationWarning)
        return _Cbc(**options)


def solve_cbc(prob: pulp.LpProblem, time_limit: float | None, gap: float | None,
              abs_gap: float | None, warm_start: bool) -> tuple[Outcome, float | None, float | None]:
    # No CBC preprocessing: 2.10.3's (the one PuLP bundles) fixes and substitutes wrongly on some
    # small clearing models (a pledge too small for one bid, an exclusive group, a cover row with
    # mixed quantities) and then calls a costlier answer optimal (tests/solver/test_clearing_properties.py).
    # On the OR-Library markets this is faster on some and slower on others (b05200: 2 s -> 28 s).
    # Without it, though, CBC crashes writing the answer of some infeasible models; those it
    # solves again with preprocessing, which says they are infeasible.
    started = time.perf_counter()
    try:
        log = _run_cbc(prob, time_limit, gap, abs_gap, warm_start, ["preprocess off"])
    except _Overran:
        return _overran(prob)
    except pulp.PulpSolverError:
        if time_limit is not None:          # the retry gets only what is left of the limit
            time_limit = max(time_limit - (time.perf_counter() - started), 0.01)
        try:
            log = _run_cbc(prob, time_limit, gap, abs_gap, warm_start, [])
        except _Overran:
            return _overran(prob)
        except pulp.PulpSolverError as exc:
            raise BackendError(f"CBC failed: {exc}") from None
    outcome = outcome_of(prob)
    if outcome == Outcome.OPTIMAL and re.search(r"Result - (Stopped on|Optimal solution found \(within gap)", log):
        outcome = Outcome.FEASIBLE       # CBC calls a run stopped by --gap "optimal"; we do not
    objective = pulp.value(prob.objective) if outcome.found else None
    bound = objective if outcome == Outcome.OPTIMAL else _cbc_bound(log, prob.sense)
    return outcome, objective, bound


def _overran(prob: pulp.LpProblem) -> tuple[Outcome, float | None, float | None]:
    """A run killed at its time limit: no solution (the variables may hold an earlier run's values)."""
    prob.assignStatus(pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound)
    return Outcome.NONE, None, None


def _run_cbc(prob: pulp.LpProblem, time_limit: float | None, gap: float | None, abs_gap: float | None,
             warm_start: bool, options: list[str]) -> str:
    """Solve with CBC; returns its log."""
    with tempfile.TemporaryDirectory(prefix="swarm-cbc-") as tmp:
        log_path = os.path.join(tmp, "cbc.log")
        solver = cbc_solver(msg=False, timeLimit=time_limit, gapRel=gap if gap is not None else 0, gapAbs=abs_gap,
                      warmStart=warm_start, threads=1, logPath=log_path, keepFiles=False, options=options)
        solver.tmpDir = tmp                     # PuLP's model and answer files go when this does, killed or not
        prob.solve(solver)
        if not os.path.exists(log_path):
            return ""
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()


def _cbc_bound(log: str, sense: int) -> float | None:
    found = re.findall(r"^Lower bound:\s+(-?[\d.eE+]+)", log, flags=re.M)
    if not found:
        return None
    bound = float(found[-1])
    return -bound if sense == pulp.LpMaximize else bound   # CBC minimises -objective for a maximum
