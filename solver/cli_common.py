"""What every command of `swarm` shares, whichever layer defines it (solver/cli.py, market/cli.py,
web/commands.py): failure output and exit codes, writing a file or standard output, loading a market file,
and the options that mean the same wherever a command clears."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from . import backends
from .loading import MarketError, Problem, load_market
from .market import Market

EXIT_INVALID = 2
EXIT_FAILED = 1


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """`error: message` on stderr and exit: 1 for a failure, EXIT_INVALID (2) for input that cannot be used."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def write_file(path: str, text: str) -> None:
    """Write `text` to the file `path`, or fail (exit 1) saying why it cannot be written."""
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}")


def write_output(target: str, text: str) -> bool:
    """`-o TARGET`: `text` to standard output when TARGET is "-", else to that file (as `write_file`). True
    when it went to a file, and the caller says where; after "-" the caller prints nothing else on stdout."""
    if target == "-":
        sys.stdout.write(text)
        return False
    write_file(target, text)
    return True


# Options that mean the same wherever a command clears (solve, clear, the analyst tools)
solver_option = click.option("--solver", "backend", type=click.Choice(backends.BACKENDS), default="cbc",
                             show_default=True, help="MIP backend.")
gap_option = click.option("--gap", type=click.FloatRange(min=0, max=1),
                          help="Relative optimality gap at which to stop.")
no_explain_option = click.option("--no-explain", is_flag=True,
                                 help="Skip the extra solves that explain unfunded challenges.")


def _invalid(exc: MarketError) -> NoReturn:
    click.echo(f"{exc.source}: invalid market, {len(exc.problems)} problem(s):", err=True)
    for problem in exc.problems:
        click.echo(f"  {problem}", err=True)
    sys.exit(EXIT_INVALID)


def load_or_exit(path: str) -> Market:
    """The market in `path`, or every problem on stderr and exit 2; warnings go to stderr."""
    warnings: list[Problem] = []
    try:
        market = load_market(path, warnings)
    except MarketError as exc:
        _invalid(exc)
    for warning in warnings:
        click.echo(f"{path}: warning: {warning}", err=True)
    return market
