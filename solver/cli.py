"""`swarm`: the command line. The only module of the engine that prints."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import NoReturn

import click

from . import backends
from .allocation import Allocation
from .clearing import ClearingError, ClearOptions, clear
from .loading import MarketError, Problem, load_market
from .market import Market
from .money import format_money_grouped
from .verify import recompute, verify_allocation

EXIT_INVALID = 2
EXIT_FAILED = 1


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


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_FAILED)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log model sizes and timings.")
def main(verbose: bool) -> None:
    """Swarm Market: clear funder-swarm challenge markets."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(name)s: %(message)s")


@main.command()
@click.argument("market_file", metavar="MARKET")
def validate(market_file: str) -> None:
    """Check a market file; print every problem, or a one-line summary."""
    market = load_or_exit(market_file)
    pledged = sum(p.amount for p in market.pledges)
    click.echo(f"{market_file}: valid market \"{market.name}\": {len(market.challenges)} challenges, "
               f"{len(market.components)} components, {len(market.funders)} funders, {len(market.pledges)} pledges, "
               f"{len(market.actors)} actors, {len(market.bids)} bids, "
               f"{format_money_grouped(pledged)} {market.currency} pledged")


@main.command()
@click.argument("market_file", metavar="MARKET")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Where to write the allocation "
              "(default: <market name>.allocation.json here; - for standard output).")
@click.option("--solver", "backend", type=click.Choice(backends.BACKENDS), default="cbc", show_default=True,
              help="MIP backend.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), help="Seconds for the whole solve; "
              "when it stops the search the best allocation found is returned with status feasible.")
@click.option("--gap", type=click.FloatRange(min=0, max=1), help="Relative optimality gap at which to stop.")
@click.option("--no-explain", is_flag=True, help="Skip the extra solves that explain unfunded challenges.")
def solve(market_file: str, output: str | None, backend: str, time_limit: float | None, gap: float | None,
          no_explain: bool) -> None:
    """Clear a market: print a summary and write the allocation."""
    market = load_or_exit(market_file)
    try:
        allocation = clear(market, ClearOptions(backend=backend, time_limit=time_limit, gap=gap,
                                                explain=not no_explain))
    except ClearingError as exc:
        _fail(str(exc))
    target = output or f"{Path(market_file).stem}.allocation.json"
    text = allocation.to_json()
    if target == "-":
        click.echo(summary(market, allocation), err=True)
        sys.stdout.write(text)
        return
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {target}: {exc.strerror}")
    click.echo(summary(market, allocation))
    click.echo(f"allocation written to {target}")


@main.command()
@click.argument("market_file", metavar="MARKET")
@click.argument("allocation_file", metavar="ALLOCATION")
def verify(market_file: str, allocation_file: str) -> None:
    """Re-check an allocation against its market, trusting only its awards and flows."""
    market = load_or_exit(market_file)
    try:
        doc = json.loads(Path(allocation_file).read_text(encoding="utf-8"))
    except FileNotFoundError:
        click.echo(f"{allocation_file}: no such file", err=True)
        sys.exit(EXIT_INVALID)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        click.echo(f"{allocation_file}: not valid JSON: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    problems = verify_allocation(market, doc)
    if problems:
        click.echo(f"{allocation_file}: INVALID, {len(problems)} violation(s):")
        for problem in problems:
            click.echo(f"  {problem}")
        sys.exit(EXIT_FAILED)
    totals = recompute(market, doc)
    click.echo(f"{allocation_file}: valid. Recomputed from awards and flows: {totals['completed']} of "
               f"{len(market.challenges)} challenges completed, value {_num(totals['value'])}, cost "
               f"{format_money_grouped(totals['cost'])}, spent {format_money_grouped(totals['spent'])}, returned "
               f"{format_money_grouped(totals['returned'])}")


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def summary(market: Market, allocation: Allocation) -> str:
    """A readable account of a clearing: totals, one line per challenge, and why not."""
    pledged = sum(p.amount for p in market.pledges)
    cur = market.currency
    info = allocation.solver
    lines = [
        f"{market.name or '(unnamed market)'}: {allocation.status} ({info.get('backend')}, "
        f"build {info.get('build_seconds', 0):.2f} s, solve {info.get('solve_seconds', 0):.2f} s)",
        f"  completed {len(allocation.completed)} of {len(allocation.challenges)} challenges, value "
        f"{_num(allocation.value)}",
        f"  paid to actors {format_money_grouped(allocation.cost)} {cur} of {format_money_grouped(pledged)} pledged; "
        f"returned to funders {format_money_grouped(allocation.returned)}",
        "",
    ]
    targets = {c.id: c.reliability for c in market.challenges}
    titles = {c.id: c.title or "" for c in market.challenges}
    width = max([len(c.id) for c in allocation.challenges] + [9])
    parts = {r.id: f"{sum(1 for k in r.components if k.funded)}/{len(r.components)}" for r in allocation.challenges}
    pwidth = max([len(p) for p in parts.values()] + [5])
    lines.append(f"  {'challenge':<{width}}  done  {'value':>9}  {'cost':>14}  {'parts':>{pwidth}}  {'reliab.':>7}  target")
    for result in allocation.challenges:
        target = targets[result.id]
        lines.append(
            f"  {result.id:<{width}}  {'yes' if result.completed else 'no':<4}  {_num(result.value):>9}  "
            f"{format_money_grouped(result.cost):>14}  {parts[result.id]:>{pwidth}}  "
            f"{result.reliability:>7.3f}  {'' if target is None else f'{target:g}'}".rstrip())
    if allocation.unfunded:
        lines += ["", "  Not completed, and why:"]
        for entry in allocation.unfunded:
            title = f" ({titles[entry.challenge]})" if titles[entry.challenge] else ""
            lines.append(f"  - {entry.challenge}{title}:")
            lines += [f"      {reason}" for reason in entry.reasons]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
