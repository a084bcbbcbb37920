"""Clearing one market document in a child process that is killed at a hard bound: the stateless
`POST /api/v1/solve` answers by then whatever the solver does (a CBC root LP that ignores its `-sec`, a
model too big to build in time), and nothing of the solve outlives it.

    clear_in_child(raw, time_limit, explain, bound, spent=0.0, start_method=None) -> allocation document

The child reads the market (`parse_market`), clears it under one Budget of `time_limit` seconds that began
`spent` seconds before (the caller's own reading), and sends back the allocation document. The caller waits
at most `bound` seconds from the start of the child; then the child is killed (SIGKILL), and with it its
CBC process and part workers (each dies with the process that started it: parent_death.py). A child whose
caller dies (a web worker killed) ends itself: it watches its end of the pipe for the caller's end closing.
The child writes nothing to stdout, and sends its log records back with its answer: the caller logs them
(in a web request: with its request id, in the server's format).

Errors, as in the caller: MarketError (the problems, with their paths), ClearingError, Overran (killed at
the bound), SolverCrashed (the solver's own exception), ChildDied (the child ended without an answer).

Start methods: "forkserver" (the default where there is one) forks each child from a clean,
single-threaded server process that has the solver imported already (FORKSERVER_PRELOAD): safe under a
threaded web worker and cheap per request; "spawn" starts a fresh interpreter per request (the solver's
imports each time); "fork" copies the caller, threads' locks included, so only for single-threaded callers
(tests that monkeypatch the solver use it: a forked child keeps the patches).
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

import highspy

from .budget import Budget
from .clearing import ClearingError, ClearOptions, clear
from .loading import MarketError, Problem, parse_market

logger = logging.getLogger(__name__)

FORKSERVER_PRELOAD = ["solver.bounded"]     # this module imports the clearing, PuLP, HiGHS and the loader
JOIN_SECONDS = 5.0


class Overran(Exception):
    """The child did not answer within its bound and was killed."""


class SolverCrashed(Exception):
    """The solver raised something other than a ClearingError (its type and message)."""


class ChildDied(Exception):
    """The child ended without an answer (killed from outside, out of memory)."""


def default_start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def clear_in_child(raw: bytes, time_limit: float, explain: bool, bound: float, spent: float = 0.0,
                   start_method: str | None = None) -> dict[str, Any]:
    """The allocation document of the market in `raw` (JSON), cleared in a child process killed after
    `bound` seconds (see the module's docstring). What the solve logs at the caller's level is logged again
    here, once the child answers, through the caller's own handlers (a web request's id and format)."""
    method = start_method or default_start_method()
    level = logging.getLogger().getEffectiveLevel()
    context: Any = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(FORKSERVER_PRELOAD)     # read when the server starts (once per process)
    ours, theirs = context.Pipe()
    child = context.Process(target=_child, args=(theirs, raw, time_limit, explain, spent, level),
                            name="swarm-solve")
    child.start()
    theirs.close()
    answered = False
    try:
        answered = wait(ours, child, bound)
        if not answered:
            logger.warning("the solve in process %s did not end within %g s: killed", child.pid, bound)
            raise Overran(f"the solve did not end within its bound of {bound:g} s and was stopped")
        try:
            kind, payload, records = ours.recv()
        except EOFError:
            child.join(JOIN_SECONDS)
            raise ChildDied(f"the solver's process ended without an answer (exit code {child.exitcode})"
                            ) from None
    finally:
        ours.close()
        _end(child, answered)
    for record in records:
        logging.getLogger(record.name).handle(record)
    if kind == "invalid":
        raise MarketError([Problem(path, message) for path, message in payload])
    if kind == "failed":
        raise ClearingError(payload)
    if kind == "crashed":
        raise SolverCrashed(payload)
    document: dict[str, Any] = payload
    return document


def wait(ours: Connection, child: Any, bound: float) -> bool:
    """Whether the child answered (or died) within `bound` seconds of its start."""
    return bool(ours.poll(bound))


def _end(child: Any, answered: bool) -> None:
    """The child is gone after this: it exits by itself once it has answered; else it is killed."""
    if answered:
        child.join(JOIN_SECONDS)
    if child.is_alive():
        child.kill()
        child.join(JOIN_SECONDS)
    child.close()


# ---------------------------------------------------------------- in the child

def _child(conn: Connection, raw: bytes, time_limit: float, explain: bool, spent: float, level: int) -> None:
    _quiet_stdout()
    _forget_highs_threads()
    kept = _Kept()
    root = logging.getLogger()
    for handler in root.handlers[:]:            # a forked child's copies of the caller's
        root.removeHandler(handler)
    root.addHandler(kept)
    root.setLevel(level)
    threading.Thread(target=_exit_when_the_caller_is_gone, args=(conn,), name="swarm-solve-watch",
                     daemon=True).start()
    try:
        answer: tuple[str, Any] = ("ok", _clear(raw, time_limit, explain, spent))
    except MarketError as exc:
        answer = ("invalid", [(p.path, p.message) for p in exc.problems])
    except ClearingError as exc:
        answer = ("failed", str(exc))
    except Exception as exc:            # a backend's own crash: said, not a dead child
        answer = ("crashed", f"{type(exc).__name__}: {exc}")
    conn.send((*answer, kept.records))


def _forget_highs_threads() -> None:
    """A forked child holds a copy of HiGHS's global thread pool without its threads: had the caller solved
    with HiGHS before, the child's first HiGHS solve waits on them for ever. Drop that copy (without waiting
    for threads that are not there); HiGHS starts a pool of the child's own when it needs one."""
    highspy.Highs.resetGlobalScheduler(False)


class _Kept(logging.Handler):
    """The child's log records, made picklable (their text rendered), to be logged again by the caller."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        self.records.append(record)


def _clear(raw: bytes, time_limit: float, explain: bool, spent: float) -> dict[str, Any]:
    budget = Budget(time_limit, started=time.monotonic() - spent)
    market = parse_market(json.loads(raw))        # the caller checked it is JSON and no deeper than it reads
    return clear(market, ClearOptions(time_limit=time_limit, explain=explain), budget).to_document()


def _quiet_stdout() -> None:
    """HiGHS prints a banner to stdout once per process, so once per child: in a web worker's log (JSON
    lines) it would be a line that is not JSON. Nothing of the solve is meant for stdout."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def _exit_when_the_caller_is_gone(conn: Connection) -> None:
    """The caller never writes: its end closing (it answered, or it was killed) ends the read, and the
    child with it: CBC and part workers die with it."""
    try:
        conn.recv_bytes()
    except (EOFError, OSError):
        pass
    os._exit(0)
