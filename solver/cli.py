"""The engine's commands of `swarm`: validate, solve, verify, generate and the analyst tools. web/cli.py
assembles the program; cli_common.py holds what every command shares. With it, the only modules of the
engine that print."""
from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import generate as generator
from .allocation import Allocation
from .clearing import ClearingError, ClearOptions, clear
from .market import Market
from .money import format_money, format_money_grouped
from .verify import recompute, verify_allocation
from .analysis.common import AnalysisError, Progress, load_allocation, parse_range, read_json
from .analysis.compare import compare as compare_market
from .analysis.diff import describe as describe_diff, diff as diff_allocations
from .analysis.explain import explain as explain_market
from .analysis.simulate import simulate as simulate_delivery
from .analysis.sweep import run_dask, run_local, scenarios as sweep_scenarios
from .analysis.whatif import Change, whatif as whatif_market
from .cli_common import (EXIT_FAILED, EXIT_INVALID, fail, gap_option, load_or_exit, no_explain_option, solver_option,
                         write_file, write_output)

if TYPE_CHECKING:
    from rich.progress import TaskID

# `swarm solve`: the market's fixed bids cannot all be accepted (spec rule 9). The allocation, with status
# "infeasible" and a reason on every challenge, is still written; 0 is only for optimal and feasible.
EXIT_INFEASIBLE = 3


@click.command()
@click.argument("market_file", metavar="MARKET")
def validate(market_file: str) -> None:
    """Check a market file; print every problem, or a one-line summary."""
    market = load_or_exit(market_file)
    pledged = sum(p.amount for p in market.pledges)
    click.echo(f"{market_file}: valid market \"{market.name}\": {len(market.challenges)} challenges, "
               f"{len(market.components)} components, {len(market.funders)} funders, {len(market.pledges)} pledges, "
               f"{len(market.actors)} actors, {len(market.bids)} bids, "
               f"{format_money_grouped(pledged)} {market.currency} pledged")


@click.command(epilog="Exit codes: 0 the allocation is optimal or feasible; 3 the market is infeasible (its fixed "
               "bids cannot all be accepted: the allocation, with status infeasible and the reasons, is written "
               "all the same); 2 the market or an option cannot be used; 1 the clearing failed.")
@click.argument("market_file", metavar="MARKET")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Where to write the allocation "
              "(default: <market name>.allocation.json here; - for standard output).")
@solver_option
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), help="Seconds for the whole clearing, "
              "reasons included: when it stops the search the best allocation found is returned with status "
              "feasible, and reasons it left no time for say \"not explained: time limit\".")
@gap_option
@no_explain_option
def solve(market_file: str, output: str | None, backend: str, time_limit: float | None, gap: float | None,
          no_explain: bool) -> None:
    """Clear a market: print a summary and write the allocation."""
    market = load_or_exit(market_file)
    try:
        allocation = clear(market, ClearOptions(backend=backend, time_limit=time_limit, gap=gap,
                                                explain=not no_explain))
    except ClearingError as exc:
        fail(str(exc))
    target = output or f"{Path(market_file).stem}.allocation.json"
    if target == "-":
        click.echo(summary(market, allocation), err=True)   # before the JSON, on stderr
    if write_output(target, allocation.to_json()):
        click.echo(summary(market, allocation))
        click.echo(f"allocation written to {target}")
    if allocation.status == "infeasible":
        sys.exit(EXIT_INFEASIBLE)


@click.command()
@click.argument("market_file", metavar="MARKET")
@click.argument("allocation_file", metavar="ALLOCATION")
def verify(market_file: str, allocation_file: str) -> None:
    """Re-check an allocation against its market, trusting only its awards and flows."""
    market = load_or_exit(market_file)
    try:
        doc = read_json(allocation_file, "an allocation file")
    except AnalysisError as exc:
        click.echo(str(exc), err=True)
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


@click.command()
@click.option("--size", type=click.Choice(list(generator.SIZES), case_sensitive=False),
              help="A named benchmark size; --challenges/--funders/--actors override its numbers.")
@click.option("--challenges", type=click.IntRange(min=1), help="Number of challenges.")
@click.option("--funders", type=click.IntRange(min=1), help="Number of funders (each pledges once or twice).")
@click.option("--actors", type=click.IntRange(min=1), help="Number of actors (those with no bid are left out).")
@click.option("--competition", type=click.FloatRange(min=0, min_open=True, max=20),
              help="Bidders per component as a multiple of the usual 1-4 (default 1; the XL size uses 3).")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same market, byte for byte.")
@click.option("--format", "version", type=click.Choice(generator.VERSIONS), default="1", show_default=True,
              help="Format version: 1.1 adds funders' conditions, narrower scopes and fixed bids to the same "
                   "seed's version-1 market.")
@click.option("--name", help="The market's name (default: from the sizes and seed).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="-", show_default=True,
              help="Where to write the market; - for standard output.")
def generate(size: str | None, challenges: int | None, funders: int | None, actors: int | None,
             competition: float | None, seed: int, version: str, name: str | None, output: str) -> None:
    """Write a synthetic water-and-sanitation market that uses every feature of the format."""
    base = generator.size_named(size) if size else None
    counts: dict[str, int] = {}
    for key, given in (("challenges", challenges), ("funders", funders), ("actors", actors)):
        if given is None:
            if base is None:
                raise click.UsageError(f"give --{key} or --size")
            given = getattr(base, key)
        counts[key] = given
    if competition is None:
        competition = base.competition if base is not None else 1.0
    document = generator.generate(counts["challenges"], counts["funders"], counts["actors"], seed, name, competition,
                                  version)
    text = generator.to_json(document)
    bids = sum(len(a["bids"]) for a in document["actors"])
    pledges = sum(len(f["pledges"]) for f in document["funders"])
    what = (f'market "{document["name"]}": {len(document["challenges"])} challenges, {len(document["funders"])} '
            f'funders, {pledges} pledges, {len(document["actors"])} actors, {bids} bids')
    if version != "1":
        conditions = sum(len(p.get("conditions", ())) for f in document["funders"] for p in f["pledges"])
        fixed = sum(bool(b.get("fixed")) for a in document["actors"] for b in a["bids"])
        what += f", {conditions} condition{'s' * (conditions != 1)}, {fixed} fixed bid{'s' * (fixed != 1)}"
    if write_output(output, text):
        click.echo(f"{what}; written to {output}")
    else:
        click.echo(what, err=True)


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
    lines.append(f"  {'challenge':<{width}}  done  {'value':>9}  {'cost':>14}  {'parts':>{pwidth}}  "
                 f"{'reliab.':>7}  target")
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


# -- analyst tools (solver/analysis) --------------------------------------------------------------------

class _Bar(Progress):
    """A rich progress bar on stderr, one task at a time."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, \
            TimeElapsedColumn
        self._rich = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=Console(stderr=True), transient=False)
        self._task: TaskID | None = None
        self._running = False

    def start(self, label: str, total: int) -> None:
        if not self._running:
            self._rich.start()
            self._running = True
        self._task = self._rich.add_task(label, total=total)

    def advance(self, steps: int = 1) -> None:
        if self._task is not None:
            self._rich.advance(self._task, steps)

    def stop(self) -> None:
        if self._task is not None:
            total = next(task.total for task in self._rich.tasks if task.id == self._task)
            self._rich.update(self._task, completed=total)
            self._rich.stop_task(self._task)
            self._task = None

    def close(self) -> None:
        if self._running:
            self._rich.stop()
            self._running = False


@contextlib.contextmanager
def _analysis() -> Iterator[_Bar]:
    """Progress on stderr; bad input (AnalysisError) exits 2 and a clearing failure exits 1, one line each."""
    bar = _Bar()
    try:
        yield bar
    except AnalysisError as exc:
        bar.close()
        fail(str(exc), EXIT_INVALID)
    except ClearingError as exc:
        bar.close()
        fail(str(exc))
    finally:
        bar.close()


def _allocation_or_exit(path: str, market: Market | None) -> dict[str, object]:
    try:
        return load_allocation(path, market)
    except AnalysisError as exc:
        fail(str(exc), EXIT_INVALID)


def _mean(value: float | None) -> str:
    return "-" if value is None else f"{float(value):.3f}"


@click.command()
@click.argument("market_file", metavar="MARKET")
@solver_option
@click.option("--json", "as_json", is_flag=True, help='Print {"pooled": {...}, "greedy": {...}, "alone": {...}}.')
@click.option("--out-dir", type=click.Path(file_okay=False), help="Write the three allocations here.")
def compare(market_file: str, backend: str, as_json: bool, out_dir: str | None) -> None:
    """Pooled optimum vs a greedy pooled heuristic vs funders acting alone, side by side."""
    market = load_or_exit(market_file)
    with _analysis() as bar:
        outcomes = compare_market(market, backend, bar)
    bar.close()
    metrics = {name: o.metrics() for name, o in outcomes.items()}
    if out_dir:
        folder = Path(out_dir)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            fail(f"cannot create {out_dir}: {exc.strerror}")
        for name, outcome in outcomes.items():
            write_file(str(folder / f"{name}.allocation.json"), outcome.allocation.to_json())
    if as_json:
        doc = {name: {**m, "spent": format_money(m["spent"]), "idle": format_money(m["idle"]),
                      "pledged": format_money(m["pledged"])} for name, m in metrics.items()}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    names = list(metrics)
    header = {"pooled": "pooled optimum", "greedy": "greedy pooled", "alone": "funders alone"}
    rows = [("value delivered", [_num(metrics[n]["value"]) for n in names]),
            ("challenges completed", [f"{metrics[n]['completed']} of {metrics[n]['challenges']}" for n in names]),
            (f"money spent ({market.currency})", [format_money_grouped(metrics[n]["spent"]) for n in names]),
            ("money left idle", [format_money_grouped(metrics[n]["idle"]) for n in names]),
            ("mean achieved reliability", [_mean(metrics[n]["mean_reliability"]) for n in names])]
    click.echo(f"{market.name or '(unnamed market)'}: {format_money_grouped(sum(p.amount for p in market.pledges))} "
               f"{market.currency} pledged by {len(market.pledges)} pledges")
    click.echo(f"  {'':<26}" + "".join(f"{header[n]:>18}" for n in names))
    for label, cells in rows:
        click.echo(f"  {label:<26}" + "".join(f"{c:>18}" for c in cells))
    click.echo("")
    for n in names:
        click.echo(f"  {header[n]} completes: {', '.join(metrics[n]['completed_ids']) or 'nothing'}")
    base, solo = float(metrics["pooled"]["value"]), float(metrics["alone"]["value"])
    if solo > 0:
        click.echo(f"\n  pooling delivers {_num(base - solo)} more value than funders acting alone "
                   f"({base / solo:.1f}x)")
    else:
        click.echo(f"\n  pooling delivers {_num(base - solo)} more value than funders acting alone")
    if out_dir:
        click.echo(f"  allocations written to {out_dir}/pooled|greedy|alone.allocation.json")


@click.command()
@click.argument("market_file", metavar="MARKET")
@click.argument("allocation_file", metavar="[ALLOCATION]", required=False)
@solver_option
@click.option("--step", type=click.FloatRange(min=0, min_open=True, max=10), default=0.10, show_default=True,
              help="Marginal value of money: raise each pool by this fraction and re-clear.")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
def explain(market_file: str, allocation_file: str | None, backend: str, step: float, as_json: bool) -> None:
    """Why the clearing came out so: least extra money per challenge not done, who paid for the done
    ones, and the marginal value of money per pool of pledges."""
    market = load_or_exit(market_file)
    doc = _allocation_or_exit(allocation_file, market) if allocation_file else None
    with _analysis() as bar:
        result = explain_market(market, doc, backend, step, bar)
    bar.close()
    if as_json:
        sys.stdout.write(json.dumps(result.to_document(), indent=2) + "\n")
        return
    cur = market.currency
    click.echo(f"{market.name or '(unnamed market)'}: value delivered {_num(result.value)}")
    click.echo("\nNot completed: the least extra money (one unscoped pledge) that completes it while keeping "
               "the value delivered")
    for e in result.extras:
        click.echo(f"- {e.challenge} (value {_num(e.value)}):")
        if e.cents is None:
            click.echo("    no amount of money completes it; what binds: " + (e.reason or "see solve"))
            continue
        click.echo(f"    least extra money: {format_money_grouped(e.cents)} {cur}; {e.check}")
        click.echo(f"    what binds now: {e.reason}")
        shown = ", ".join(f"{k} {format_money_grouped(c)}" for k, c in e.pays_for[:4])
        more = f" and {len(e.pays_for) - 4} more" if len(e.pays_for) > 4 else ""
        click.echo(f"    the extra money pays for: {shown}{more} (scoped money it frees moves to {e.challenge})")
    if not result.extras:
        click.echo("  (every challenge is completed)")
    click.echo("\nCompleted: who paid, and the reliability target's slack")
    for c in result.completed:
        payers = ", ".join(f"{p} {format_money_grouped(a)}" for p, _, a in c.paid_by[:3])
        more = f" and {len(c.paid_by) - 3} more" if len(c.paid_by) > 3 else ""
        slack = ("no target" if c.target is None else
                 f"target {c.target:g}, slack {c.slack:+.3f}")
        click.echo(f"- {c.challenge} (value {_num(c.value)}, cost {format_money_grouped(c.cost)}): paid by "
                   f"{payers}{more}; reliability {c.reliability:.3f}, {slack}")
    if result.pledges:
        click.echo("\nPledges with conditions (min spend, max share of a challenge, conditions on other funders):")
        for n in result.pledges:
            click.echo(f"- {n.pledge} ({n.funder}, spent {format_money_grouped(n.spent)}):")
            for line in n.notes:
                click.echo(f"    {line}")
    click.echo("\nMarginal value of money per pool, value per 1,000 " + cur + " more:")
    click.echo(f"  re-solve: {result.method.split('; ')[0].split(': ', 1)[1]}")
    click.echo("  LP dual (approximation): the dual of the pool's amount in the LP relaxation of the value phase")
    width = max([len(m.pool) for m in result.marginals] + [4])
    click.echo(f"  {'pool':<{width}}  {'amount':>14}  {'added':>12}  {'value gained':>12}  {'re-solve':>9}  "
               f"{'LP dual (approx.)':>17}")
    for m in sorted(result.marginals, key=lambda m: (-m.per_unit, -(m.lp_dual or 0), m.pool)):
        dual = "-" if m.lp_dual is None else f"{m.lp_dual * 1000:.2f}"
        click.echo(f"  {m.pool:<{width}}  {format_money_grouped(m.amount):>14}  {format_money_grouped(m.step):>12}  "
                   f"{_num(m.value_gain):>12}  {m.per_unit * 1000:>9.2f}  {dual:>17}")


@click.command()
@click.argument("allocation_a", metavar="ALLOCATION_A")
@click.argument("allocation_b", metavar="ALLOCATION_B")
def diff(allocation_a: str, allocation_b: str) -> None:
    """What changed between two clearings of a market: challenges, bids, money per pledge."""
    a = _allocation_or_exit(allocation_a, None)
    b = _allocation_or_exit(allocation_b, None)
    with _analysis():
        changes = diff_allocations(a, b)
    click.echo(f"{allocation_a} -> {allocation_b}")
    click.echo(describe_diff(changes, "A", "B"))


@click.command()
@click.argument("market_file", metavar="MARKET")
@click.option("--add-pledge", "add", multiple=True, metavar="AMOUNT[:SCOPE]",
              help="Add an unscoped pledge, or one scoped to SCOPE: challenge ids, challenge/component keys or "
                   "tags, separated by commas (e.g. 300000:region:kenya).")
@click.option("--drop-actor", "drop", multiple=True, metavar="ID", help="Remove an actor and all its bids.")
@click.option("--scale-pledges", "scale", metavar="F", help="Multiply every pledge by F (rounded to the cent).")
@click.option("--target", "target", multiple=True, metavar="CHALLENGE=R",
              help="Set a challenge's reliability target (R in (0, 1], or none).")
@click.option("--add-condition", "conditions", multiple=True, metavar="PLEDGE:FUNDER=MIN",
              help="Make a pledge pay only where FUNDER's pledges pay at least MIN into the same challenge.")
@click.option("--fix-bid", "fixed", multiple=True, metavar="BID", help="Fix a bid: it must be accepted.")
@solver_option
def whatif(market_file: str, add: tuple[str, ...], drop: tuple[str, ...], scale: str | None,
           target: tuple[str, ...], conditions: tuple[str, ...], fixed: tuple[str, ...], backend: str) -> None:
    """Re-clear with changes (applied as: scale, drop, add, target, condition, fix) and print what differs."""
    market = load_or_exit(market_file)
    changes = ([Change("scale-pledges", scale)] if scale is not None else []) \
        + [Change("drop-actor", d) for d in drop] + [Change("add-pledge", a) for a in add] \
        + [Change("target", t) for t in target] + [Change("add-condition", c) for c in conditions] \
        + [Change("fix-bid", b) for b in fixed]
    with _analysis() as bar:
        before, after, changed = whatif_market(market, changes, backend, bar)
    bar.close()
    click.echo(f"{market.name or '(unnamed market)'}: what if " + " ".join(c.describe() for c in changes))
    click.echo(describe_diff(changed, "before", "after"))
    lost = {cid for cid, _ in changed["lost"]}
    for entry in after.unfunded:
        if entry.challenge in lost:
            click.echo(f"  why {entry.challenge} is lost: {'; '.join(entry.reasons)}")


def _reliabilities_or_exit(path: str, market: Market) -> dict[str, float]:
    """{actor id: reliability in (0, 1]} from a JSON file; the actors must be the market's."""
    try:
        data = read_json(path, "a JSON file of reliabilities")
    except AnalysisError as exc:
        fail(str(exc), EXIT_INVALID)
    actors = {a.id for a in market.actors}
    if not isinstance(data, dict):
        fail(f"{path}: expected a JSON object {{actor id: reliability}}", EXIT_INVALID)
    for key, value in data.items():
        if key not in actors:
            fail(f"{path}: $.{key}: no actor {key!r} in the market", EXIT_INVALID)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            fail(f"{path}: $.{key}: a reliability must be a number in (0, 1]", EXIT_INVALID)
    return {k: float(v) for k, v in data.items()}


@click.command()
@click.argument("market_file", metavar="MARKET")
@click.argument("allocation_file", metavar="ALLOCATION")
@click.option("--runs", type=click.IntRange(min=1, max=10_000_000), default=10000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--repair", is_flag=True, help="Replace each failed bid by re-clearing its challenges with the losing "
              "bids standing by (issue 18), and say how much of the planned value survives with and without.")
@click.option("--reliabilities", "reliabilities_file", metavar="FILE",
              help="JSON {actor id: reliability} to draw failures from (e.g. `swarm repair records ROUND --json`).")
@click.option("--standby-price", "standby_percent", type=click.IntRange(min=1, max=1000), default=100,
              show_default=True, metavar="PERCENT", help="With --repair: losing bids stand by at this percent of "
              "their own prices (a standby price).")
def simulate(market_file: str, allocation_file: str, runs: int, seed: int, as_json: bool, repair: bool,
             reliabilities_file: str | None, standby_percent: int) -> None:
    """Monte-Carlo delivery: accepted bids fail independently by their reliabilities."""
    market = load_or_exit(market_file)
    doc = _allocation_or_exit(allocation_file, market)
    reliabilities = _reliabilities_or_exit(reliabilities_file, market) if reliabilities_file else None
    without = None
    with _analysis() as bar:
        if repair:
            without = simulate_delivery(market, doc, runs, seed, bar, reliabilities=reliabilities)
        result = simulate_delivery(market, doc, runs, seed, bar, repair=repair, reliabilities=reliabilities,
                                   standby_percent=standby_percent)
    bar.close()
    out = result.to_document()
    if without is not None:
        out["without_repair"] = without.to_document()["total"]
    if as_json:
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    total = out["total"]
    click.echo(f"{market.name or '(unnamed market)'}: {runs} runs, seed {seed}; "
               f"planned value {_num(out['planned_value'])}")
    click.echo(f"  delivered value: mean {_num(round(total['mean'], 2))}, 5% {_num(total['p5'])}, "
               f"median {_num(total['p50'])}, 95% {_num(total['p95'])}; everything delivered in "
               f"{total['all_delivered']:.1%} of runs")
    width = max([len(c["challenge"]) for c in out["challenges"]] + [9])
    click.echo(f"\n  {'challenge':<{width}}  {'target':>6}  {'all bids':>8}  {'P(done)':>13}  {'planned':>9}  "
               f"{'mean':>9}  {'5%':>7}  {'median':>7}  verdict")
    for c in out["challenges"]:
        target = c["target"]
        verdict = "" if target is None else ("meets target" if c["p_completed"] >= target else "BELOW target")
        click.echo(f"  {c['challenge']:<{width}}  {'' if target is None else f'{target:g}':>6}  "
                   f"{c['reliability']:>8.3f}  {c['p_completed']:>7.3f}±{c['stderr']:.3f}  "
                   f"{_num(c['planned_value']):>9}  {_num(round(c['mean_value'])):>9}  {_num(c['p5']):>7}  "
                   f"{_num(c['p50']):>7}  {verdict}".rstrip())
    click.echo("\n  all bids: P(every accepted bid touching it delivers), the spec's measure; P(done): its critical "
               "components delivered (± one standard error)")
    if without is not None:
        planned = out["planned_value"] or 1
        before, after = out["without_repair"]["mean"], total["mean"]
        click.echo(f"\n  with standby bids (every losing bid standing by at {standby_percent}% of its price, failures "
                   "re-cleared): expected delivered "
                   f"value {_num(round(after, 2))} ({after / planned:.1%} of planned); without: "
                   f"{_num(round(before, 2))} ({before / planned:.1%})")


@click.command()
@click.argument("market_file", metavar="MARKET")
@click.option("--scale-pledges", "scale", metavar="START:STOP:COUNT",
              help="Clear with every pledge scaled by COUNT factors from START to STOP.")
@click.option("--target-range", "target_ranges", multiple=True, metavar="CHALLENGE=START:STOP:COUNT",
              help="Clear with the challenge's reliability target set to each value.")
@click.option("--drop-each-actor", is_flag=True, help="Clear once without each actor in turn.")
@click.option("--workers", type=click.IntRange(min=1, max=64), default=2, show_default=True,
              help="Worker processes of the local Dask cluster.")
@click.option("--scheduler", metavar="ADDRESS", help="Use the Dask cluster at this scheduler (tcp://host:8786).")
@click.option("--in-process", is_flag=True, help="Run the clearings here one by one, without Dask.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Where to save the table as JSON (default: <market>.sweep.json here).")
@solver_option
def sweep(market_file: str, scale: str | None, target_ranges: tuple[str, ...], drop_each_actor: bool, workers: int,
          scheduler: str | None, in_process: bool, output: str | None, backend: str) -> None:
    """Many independent clearings in parallel on Dask distributed; prints and saves the table."""
    market = load_or_exit(market_file)
    with _analysis() as bar:
        scales = parse_range(scale, "--scale-pledges") if scale else []
        targets = []
        for text in target_ranges:
            cid, sep, spec = text.partition("=")
            if not sep:
                raise AnalysisError(f"--target-range {text!r}: expected CHALLENGE=START:STOP:COUNT")
            targets.append((cid, parse_range(spec, f"--target-range {cid}")))
        todo = sweep_scenarios(market, scales, targets, drop_each_actor)
        if in_process:
            rows = run_local(market, todo, backend, bar)
        else:
            rows = run_dask(market, todo, backend, workers, scheduler, bar)
    bar.close()
    target = output or f"{Path(market_file).stem}.sweep.json"
    saved = {"format": "swarm-sweep/1", "market": market.name, "currency": market.currency,
             "engine": "in-process" if in_process else (f"dask scheduler {scheduler}" if scheduler
                                                         else f"dask local cluster, {workers} worker processes"),
             "rows": [{**r, "pledged": format_money(r["pledged"]), "spent": format_money(r["spent"]),
                       "idle": format_money(r["idle"])} for r in rows]}
    write_file(target, json.dumps(saved, indent=2) + "\n")
    width = max([len(r["scenario"]) for r in rows] + [8])
    click.echo(f"{market.name or '(unnamed market)'}: {len(rows)} clearings ({saved['engine']})")
    click.echo(f"  {'scenario':<{width}}  {'pledged':>14}  {'value':>9}  {'done':>4}  {'spent':>14}  {'idle':>14}  "
               "status")
    for r in rows:
        click.echo(f"  {r['scenario']:<{width}}  {format_money_grouped(r['pledged']):>14}  {_num(r['value']):>9}  "
                   f"{r['completed']:>4}  {format_money_grouped(r['spent']):>14}  "
                   f"{format_money_grouped(r['idle']):>14}  {r['status']}")
    click.echo(f"table written to {target}")


@click.command()
@click.argument("market_file", metavar="MARKET")
@click.argument("allocation_file", metavar="ALLOCATION")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="The HTML file (default: <market>.report.html).")
@click.option("--sweep", "sweep_file", type=click.Path(dir_okay=False), help="A swarm sweep result: adds the "
              "curve of value delivered against money pledged.")
def report(market_file: str, allocation_file: str, output: str | None, sweep_file: str | None) -> None:
    """One self-contained HTML report: Sankey of money, per-challenge table, unfunded reasons."""
    market = load_or_exit(market_file)
    doc = _allocation_or_exit(allocation_file, market)
    sweep_doc = None
    if sweep_file:
        try:
            sweep_doc = read_json(sweep_file, "a sweep result")
        except AnalysisError as exc:
            fail(str(exc), EXIT_INVALID)
        if not isinstance(sweep_doc, dict) or sweep_doc.get("format") != "swarm-sweep/1":
            fail(f'{sweep_file}: not a sweep result (expected "format": "swarm-sweep/1")', EXIT_INVALID)
    from .analysis.report import render as render_report      # plotly loads only for this command
    target = output or f"{Path(market_file).stem}.report.html"
    write_file(target, render_report(market, doc, sweep_doc))
    size = Path(target).stat().st_size
    click.echo(f"report written to {target} ({size / 1e6:.1f} MB, self-contained: opens without network)")


if __name__ == "__main__":
    # `python -m solver.cli` ran the engine's commands before web/cli.py assembled `swarm`: refuse it loudly
    # rather than exit 0 having done nothing.
    sys.exit("solver/cli.py only defines commands; run them through `swarm` (python -m web.cli)")
