"""How a clearing says where it is, and how it is asked to stop.

A caller that follows a clearing (a job worker, the command line) runs it inside `following(listener)`.
The engine calls `stage(name)` as it enters each step (STAGES), the backends call `search(incumbent,
bound)` with the figures the solver itself reports while it searches, and `check()` raises Cancelled once
the listener asks to stop: the engine checks between steps, the backends while they wait for a solver
(a CBC process is killed, HiGHS interrupted). Without a listener every call does nothing, so a plain
`clear()` is unchanged: progress is only ever reported, it never steers the solve.

The listener is a context variable: code that moves work to a thread of its own passes `current()` along.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Protocol

# The steps of a clearing, in the order they run (a step may be skipped: no relaxation on small models).
MODEL = "model"                    # pooling, presolve, splitting into parts, building the MIP
GREEDY = "greedy start"
RELAXATION = "relaxation"
VALUE = "value phase"
COST = "cost phase"
ROUNDING = "rounding"              # flows to whole cents, the allocation put together
REASONS = "reasons"                # why each unfunded challenge is not done
STAGES = (MODEL, GREEDY, RELAXATION, VALUE, COST, ROUNDING, REASONS)


class Cancelled(BaseException):
    """The listener asked the clearing to stop; nothing it found is kept. A BaseException, as
    KeyboardInterrupt is: it must pass through the engine's and the backends' `except Exception` (which turn
    a backend's crash into an error message) and through the code that kills a CBC process when its wait is
    interrupted."""


class Listener(Protocol):
    def stage(self, name: str, detail: str | None) -> None:
        """The clearing entered step `name` (one of STAGES); `detail` says more (e.g. "part 3 of 12")."""

    def search(self, incumbent: float | None, bound: float | None) -> None:
        """The backend's best objective found so far and its best bound, as it reports them."""

    def stop_requested(self) -> bool:
        """Whether the clearing should stop now (called often: keep it cheap)."""


_listener: ContextVar[Listener | None] = ContextVar("swarm_progress_listener", default=None)


@contextlib.contextmanager
def following(listener: Listener | None) -> Iterator[None]:
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def current() -> Listener | None:
    return _listener.get()


def stage(name: str, detail: str | None = None, listener: Listener | None = None) -> None:
    """Enter a step: stop first if asked to, then say so."""
    listener = listener or _listener.get()
    if listener is not None:
        check(listener)
        listener.stage(name, detail)


def search(incumbent: float | None, bound: float | None, listener: Listener | None = None) -> None:
    listener = listener or _listener.get()
    if listener is not None:
        listener.search(incumbent, bound)


def check(listener: Listener | None = None) -> None:
    """Raise Cancelled if the listener asks to stop."""
    listener = listener or _listener.get()
    if listener is not None and listener.stop_requested():
        raise Cancelled("the clearing was cancelled")


def stop_requested(listener: Listener | None = None) -> bool:
    listener = listener or _listener.get()
    return listener is not None and listener.stop_requested()


def relative_gap(incumbent: float | None, bound: float | None) -> float | None:
    """|bound - incumbent| / |incumbent|, as HiGHS and CBC define the gap; None while either is unknown."""
    if incumbent is None or bound is None:
        return None
    if incumbent == 0:
        return 0.0 if bound == 0 else None
    return abs(bound - incumbent) / abs(incumbent)


class _Relayed:
    """The listener in force, its stages given more detail (`within`) or its search figures held back
    (`without_search`); asked to stop as it is."""

    def __init__(self, listener: Listener, detail: str | None, searches: bool) -> None:
        self.listener, self.detail, self.searches = listener, detail, searches

    def stage(self, name: str, detail: str | None) -> None:
        if self.detail is not None:
            detail = self.detail if detail is None else f"{self.detail}, {detail}"
        self.listener.stage(name, detail)

    def search(self, incumbent: float | None, bound: float | None) -> None:
        if self.searches:
            self.listener.search(incumbent, bound)

    def stop_requested(self) -> bool:
        return self.listener.stop_requested()


@contextlib.contextmanager
def within(detail: str) -> Iterator[None]:
    """Stages entered inside the block say `detail` first (a part of the market: "part 3 of 12")."""
    listener = _listener.get()
    with following(None if listener is None else _Relayed(listener, detail, searches=True)):
        yield


@contextlib.contextmanager
def without_search() -> Iterator[None]:
    """Solves inside the block report no search figures: small programs beside the clearing's search (the
    reasons' tests, rounding flows to cents), whose objective is not the clearing's. They still stop when asked."""
    listener = _listener.get()
    with following(None if listener is None else _Relayed(listener, None, searches=False)):
        yield
