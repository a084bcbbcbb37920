"""One time limit for a whole call: a deadline on the monotonic clock that every solve in it draws on.

A clearing's time limit covers the whole call, the reasons' extra solves included: the main solve gets
MAIN_SHARE of it (all of it without reasons), the reasons what is left. A solve is given what is left
of its budget as its own limit, so no solve in the call runs past the deadline, whatever ran before it.
"""
from __future__ import annotations

import time

# With reasons to give, the main solve may use this share of the time limit, so that a search stopped by
# its limit still leaves the reasons some time; a search that ends sooner leaves them the rest.
MAIN_SHARE = 0.8


class Budget:
    """The seconds a call may take (None: no limit), counted from when it began on time.monotonic()."""
    __slots__ = ("seconds", "started")

    def __init__(self, seconds: float | None, started: float | None = None) -> None:
        self.seconds = seconds
        self.started = time.monotonic() if started is None else started

    @property
    def limited(self) -> bool:
        return self.seconds is not None

    def left(self) -> float | None:
        """Seconds left until the deadline (0 once it has passed); None without a limit."""
        if self.seconds is None:
            return None
        return max(self.seconds - (time.monotonic() - self.started), 0.0)

    def spent_up(self) -> bool:
        left = self.left()
        return left is not None and left <= 0

    def share(self, share: float) -> Budget:
        """The same start with `share` of the seconds: a part of the call that must end sooner."""
        return Budget(None if self.seconds is None else self.seconds * share, self.started)

    def deadline(self) -> float | None:
        """The deadline on the wall clock, the one clock processes share (worker processes)."""
        left = self.left()
        return None if left is None else time.time() + left

    @classmethod
    def until(cls, deadline: float | None) -> Budget:
        """The budget left until a deadline on the wall clock (deadline())."""
        return cls(None if deadline is None else max(deadline - time.time(), 0.0))

    def __repr__(self) -> str:
        return f"Budget({self.seconds!r} s, {self.left()!r} s left)"
