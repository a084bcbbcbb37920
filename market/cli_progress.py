"""How the command line shows a clearing job it runs in the foreground (`swarm clear`, `swarm job retry`): a
solver.progress listener that draws on stderr, so that stdout keeps only the result.

On a terminal: a live line (spinner, stage and detail, elapsed, incumbent, bound, gap), with each finished
stage left above it as a line of its own. Anywhere else (a log file, a pipe, a test): plain lines, one per
stage, plus the search's figures at most every FIGURES_EVERY seconds and as each stage ends, so a log of a
long solve stays readable. Ctrl-C sets `interrupted`, which the clearing reads as a request to stop.
"""
from __future__ import annotations

import threading
import time
from types import TracebackType

import click
from rich.console import Console, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from solver.progress import relative_gap

FIGURES_EVERY = 5.0


def number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def figures(incumbent: float | None, bound: float | None, gap: float | None) -> str:
    """"incumbent 112,000, bound 115,000, gap 2.68%", leaving out what is not known yet."""
    parts = []
    if incumbent is not None:
        parts.append(f"incumbent {number(incumbent)}")
    if bound is not None:
        parts.append(f"bound {number(bound)}")
    if gap is not None:
        parts.append(f"gap {gap:.2%}")
    return ", ".join(parts)


class JobProgress:
    """A solver.progress listener drawing one job's progress on stderr; use it as a context manager. The
    solver may report from threads of its own: everything it touches is behind one lock."""

    def __init__(self, console: Console | None = None, live: bool | None = None) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self.live = self.console.is_terminal and not self.console.is_dumb_terminal if live is None else live
        self.interrupted = threading.Event()
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._stage: str | None = None
        self._detail: str | None = None
        self._stage_started = self._started
        self._incumbent: float | None = None
        self._bound: float | None = None
        self._figures_unshown = False
        self._figures_shown_at = 0.0
        self._spinner = Spinner("dots")
        self._live: Live | None = None

    def __enter__(self) -> JobProgress:
        self._started = self._stage_started = time.monotonic()
        if self.live:
            self._live = Live(self, console=self.console, refresh_per_second=8, transient=True)
            self._live.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        with self._lock:
            lines = self._end_stage()
        self._print(lines)
        if self._live is not None:
            self._live.stop()
            self._live = None

    # solver.progress.Listener
    def stage(self, name: str, detail: str | None) -> None:
        with self._lock:
            lines = self._end_stage()
            self._stage, self._detail, self._stage_started = name, detail, time.monotonic()
            self._incumbent = self._bound = None              # figures are a stage's own (as the job's row)
            if not self.live:
                lines.append(self._plain(self._stage_label()))
        self._print(lines)

    def search(self, incumbent: float | None, bound: float | None) -> None:
        with self._lock:
            self._incumbent, self._bound = incumbent, bound
            self._figures_unshown = True
            due = not self.live and time.monotonic() - self._figures_shown_at >= FIGURES_EVERY
            lines = self._figures_line() if due else []
        self._print(lines)

    def stop_requested(self) -> bool:
        return self.interrupted.is_set()

    # drawing: lines are made with the lock held and printed after it is let go, as rich's live display holds
    # its console's lock while it asks for the live line (__rich__), which takes this one
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def _stage_label(self) -> str:
        label = self._stage or "starting"
        return f"{label}: {self._detail}" if self._detail else label

    def _figures(self) -> str:
        return figures(self._incumbent, self._bound, relative_gap(self._incumbent, self._bound))

    def _plain(self, text: str) -> str:
        return f"[{self.elapsed():7.1f} s] {text}"

    def _figures_line(self) -> list[str]:
        shown = self._figures()
        self._figures_unshown = False
        self._figures_shown_at = time.monotonic()
        return [self._plain(f"{self._stage or 'search'}: {shown}")] if shown else []

    def _end_stage(self) -> list[str]:
        """As a stage ends: in plain lines, the figures it ended with if not yet shown; on a terminal, the stage
        as a line of its own above the live one, with its time and figures."""
        if self._stage is None:
            return []
        if not self.live:
            return self._figures_line() if self._figures_unshown else []
        took = time.monotonic() - self._stage_started
        shown = self._figures()
        return [f"  {self._stage_label()} ({took:.1f} s{', ' + shown if shown else ''})"]

    def _print(self, lines: list[str]) -> None:
        for line in lines:
            if self._live is not None:
                self._live.console.print(Text(line))
            else:
                click.echo(line, err=True)

    def __rich__(self) -> RenderableType:
        with self._lock:
            text = Text(f"{self._stage_label()}  {self.elapsed():.1f} s")
            shown = self._figures()
            if shown:
                text.append(f"  {shown}")
            if self.interrupted.is_set():
                text.append("  cancelling...", style="bold")
        line = Table.grid(padding=(0, 1))
        line.add_row(self._spinner, text)
        return line
