"""Solves that take long on the clock the time budget reads (solver/budget.py), whatever they really take:
a clearing that runs out of time, without waiting for it. Shared by the tests of the engine, the API and
the commands."""
from __future__ import annotations

import sys
from typing import Any

import pytest

from solver import backends, budget


class SlowSolves:
    """Each solve advances the budget's clock by `seconds` once it returns; `calls` holds (clock when it
    began, its time limit) for each but those of flows.py: rounding the flows to cents must end for there
    to be an allocation at all, so it has no time limit (a small program over the allocation's flows)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
        self.now = 0.0
        self.calls: list[tuple[float, float | None]] = []
        real = backends.solve

        def solve(prob: Any, backend: str, *, time_limit: float | None = None, **options: Any) -> Any:
            if sys._getframe(1).f_globals["__name__"] != "solver.flows":
                self.calls.append((self.now, time_limit))
            report = real(prob, backend, time_limit=time_limit, **options)
            self.now += seconds
            return report

        monkeypatch.setattr(budget.time, "monotonic", lambda: self.now)
        monkeypatch.setattr(backends, "solve", solve)

    def assert_within(self, limit: float) -> None:
        """Every solve was given a time limit that ends by `limit` on the call's clock."""
        assert self.calls, "nothing was solved"
        over = [(began, given) for began, given in self.calls if given is None or began + given > limit + 1e-9]
        assert not over, f"solves given more than the {limit} s budget had left (began at, limit): {over}"


OUT_OF_TIME = "not explained: time limit"
