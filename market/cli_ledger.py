"""`swarm ledger`: a round's money after the clearing (issue 17).

    swarm ledger commit ROUND     commit the cleared round's result: every flow into escrow
    swarm ledger terms ROUND [--holdback-percent P] [--service-days D] [--review-days R] [--delivery-days D]
                             [--holdback-report-days D]
    swarm ledger show ROUND       per pledge: committed, in escrow, deposited, owed
    swarm ledger check ROUND      every invariant, recomputed from the entries alone
    swarm milestones ROUND        the committed round's milestones and the pledges funding each
    swarm statement ROUND --funder KEY [--csv]
                                  a funder's statement: its money, and what verified work it bought
    swarm progress ROUND          per challenge: milestones verified, money released of committed

`check` exits 0 when the ledger holds, 1 with one line per broken invariant otherwise.
"""
from __future__ import annotations

import csv
import sys

import click
from sqlalchemy import select

from solver.cli_common import EXIT_FAILED
from solver.money import format_money, format_money_grouped

from . import services
from .cli import database_or_exit
from .models import Challenge, Component, LedgerTransaction, Milestone, Pledge, RoundActor
from .services import delivery, settlement, statements
from .services.common import get_round


@click.group("ledger")
def ledger_() -> None:
    """A round's money after the clearing: commit, show, check."""


@ledger_.command("commit")
@click.argument("round_id", metavar="ROUND", type=int)
def commit(round_id: int) -> None:
    """Commit the cleared round's result: each flow becomes its pledge's commitment into escrow."""
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            row = services.commit_run(session, None, round_id)
            total = sum(e.amount_cents for e in row.entries if e.amount_cents > 0)
            currency = get_round(session, round_id).currency
            click.echo(f"round {round_id}: committed {format_money_grouped(total)} {currency} into escrow "
                       f"(transaction {row.id})")


@ledger_.command("terms")
@click.argument("round_id", metavar="ROUND", type=int)
@click.option("--holdback-percent", type=int, help="Percent of each item's price paid after the service period.")
@click.option("--service-days", type=int, help="Days the thing must keep working before the holdback is paid.")
@click.option("--review-days", type=int, help="Days a verifier has to review a delivery report.")
@click.option("--delivery-days", type=int, help="Days from the commit to the deadline of each delivery report.")
@click.option("--holdback-report-days", type=int,
              help="Days an actor has to report on a holdback once its service period is over.")
def terms_(round_id: int, **given_or_none: int | None) -> None:
    """Show the round's settlement terms, or change them (until its clearing is committed)."""
    given = {k: v for k, v in given_or_none.items() if v is not None}
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            get_round(session, round_id)
            agreed = (settlement.set_terms(session, None, round_id, given) if given
                      else settlement.terms(session, round_id))
    click.echo(f"round {round_id}: holdback {agreed.holdback_percent}% after {agreed.service_days} days of service; "
               f"reports reviewed within {agreed.review_days} days; deliveries reported within "
               f"{agreed.delivery_days} days of the commit, holdbacks within {agreed.holdback_report_days} days of "
               "the service period's end")


@ledger_.command("show")
@click.argument("round_id", metavar="ROUND", type=int)
def show(round_id: int) -> None:
    """Per pledge: committed, in escrow, deposited, owed."""
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            rnd = get_round(session, round_id)
            keys = dict(session.execute(select(Pledge.id, Pledge.key).where(Pledge.round_id == round_id)).all())
            money = {p: m for p, m in settlement.pledges_money(session, list(keys)).items()
                     if m.committed or m.deposited}
    click.echo(f"round {round_id} ({rnd.currency})")
    click.echo(f"{'pledge':<24} {'committed':>14} {'in escrow':>14} {'deposited':>14} {'owed':>14}")
    for pledge_id in sorted(money, key=lambda p: keys.get(p, "")):
        m = money[pledge_id]
        click.echo(f"{keys.get(pledge_id, pledge_id):<24} {format_money_grouped(m.committed):>14} "
                   f"{format_money_grouped(m.in_escrow):>14} {format_money_grouped(m.deposited):>14} "
                   f"{format_money_grouped(m.owed):>14}")
    if not money:
        click.echo("no money has moved in this round")


@ledger_.command("check")
@click.argument("round_id", metavar="ROUND", type=int)
def check(round_id: int) -> None:
    """Recompute every invariant of the round's ledger from its entries."""
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            get_round(session, round_id)
            problems = services.check_ledger(session, round_id)
            count = session.scalar(select(LedgerTransaction.id).where(LedgerTransaction.round_id == round_id)
                                   .order_by(LedgerTransaction.id.desc()).limit(1))
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        raise SystemExit(EXIT_FAILED)
    click.echo(f"round {round_id}: the ledger holds (" + ("no transactions yet" if count is None
                                                          else "every transaction balances, every pledge and "
                                                               "component within its bounds") + ")")


@click.command("milestones")
@click.argument("round_id", metavar="ROUND", type=int)
def milestones(round_id: int) -> None:
    """The committed round's milestones: actor, component, kind, quantity, amount, state, and which pledges
    fund each."""
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            rnd = get_round(session, round_id)
            rows = session.execute(
                select(Milestone, RoundActor.key, Component.key, Challenge.key)
                .join(RoundActor, RoundActor.id == Milestone.actor_id)
                .join(Component, Component.id == Milestone.component_id).join(Challenge)
                .where(Milestone.round_id == round_id).order_by(Milestone.id)).all()
            keys = dict(session.execute(select(Pledge.id, Pledge.key).where(Pledge.round_id == round_id)).all())
            found = {d.id: d for d in delivery.details(session, [m for m, *_ in rows])}
            lines = [(m.id, actor, f"{challenge}/{component}", m.kind, m.quantity, m.amount_cents, m.state,
                      m.service_days, [(keys[f.pledge_id], f.amount_cents) for f in m.funding],
                      found[m.id].released_cents, found[m.id].next_step)
                     for m, actor, component, challenge in rows]
    if not lines:
        click.echo(f"round {round_id} has no milestones: its clearing is not committed")
        return
    click.echo(f"round {round_id} ({rnd.currency}): {len(lines)} milestones")
    for mid, actor, component, kind, quantity, cents, state, days, funding, released, step in lines:
        after = f" after {days} days of service" if days else ""
        paid_by = ", ".join(f"{key} {format_money_grouped(c)}" for key, c in funding) or "nothing to pay"
        click.echo(f"{mid:>5}  {actor:<16} {component:<32} {kind:<9} x{quantity:<5} "
                   f"{format_money_grouped(cents):>14}  {state}{after}  ({paid_by})  "
                   f"released {format_money_grouped(released)}; next: {step}")


@click.command("statement")
@click.argument("round_id", metavar="ROUND", type=int)
@click.option("--funder", "funder_key", required=True, metavar="KEY", help="The funder's key in the round.")
@click.option("--csv", "as_csv", is_flag=True, help="One CSV row per funded milestone, on standard output.")
def statement(round_id: int, funder_key: str, as_csv: bool) -> None:
    """A funder's statement of the round: pledged, committed, deposited, released, held back, and per milestone
    what its money bought, when it was verified and with which evidence."""
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            found = statements.statement(session, None, round_id, funder_key)
    if as_csv:
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(statements.CSV_HEADER)
        out.writerows(statements.csv_rows(found, format_money))
        return
    cur = found.currency

    def amount(cents: int) -> str:
        return f"{format_money_grouped(cents)} {cur}"
    click.echo(f"{found.funder} in {found.round_name} (round {found.round_id})")
    click.echo(f"  pledged {amount(found.pledged_cents)}; taken by the clearing {amount(found.committed_cents)}"
               + ("" if found.committed else " (not committed yet)") + f"; not used {amount(found.unused_cents)}")
    click.echo(f"  deposited {amount(found.deposited_cents)}; still owed {amount(found.owed_cents)}"
               + (f"; to be paid back {amount(found.due_back_cents)}" if found.due_back_cents else ""))
    click.echo(f"  refunded (written off, deductions upheld, failures) {amount(found.refunded_cents)}")
    for note in found.rolled:
        click.echo(f"  {note}")
    if found.repaired_cents:
        click.echo(f"  moved by repairs from failed work to replacement actors {amount(found.repaired_cents)}")
    click.echo(f"  released to actors {amount(found.released_cents)}; in escrow {amount(found.in_escrow_cents)}, "
               f"of which held back until the things have kept working {amount(found.held_back_cents)}")
    for line in found.lines:
        files = f" [evidence: {', '.join(f.name for f in line.evidence)}]" if line.evidence else ""
        back = f", refunded {amount(line.refunded_cents)}" if line.refunded_cents else ""
        click.echo(f"  {line.milestone_id:>5}  {line.pledge:<10} {line.actor:<16} {line.kind:<9} your part "
                   f"{amount(line.funded_cents):>16}, released {amount(line.released_cents):>16}{back}: "
                   f"{line.bought}{files}")


@click.command("progress")
@click.argument("round_id", metavar="ROUND", type=int)
def progress(round_id: int) -> None:
    """The committed round's progress per challenge: milestones verified of total, money released of committed,
    refunded (the public progress page's figures)."""
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            found = services.progress.round_progress(session, round_id)
    if found is None:
        click.echo(f"round {round_id}: its clearing is not committed; there is no progress to follow")
        return
    click.echo(f"{found.name} (round {found.round_id}, {found.currency}): {found.phase}")
    for c in found.challenges + [found.totals]:
        done = f"verified {c.verified} of {c.milestones}" + (f", {c.written_off} written off" if c.written_off else "")
        click.echo(f"  {c.title:<32} {done:<34} released "
                   f"{format_money_grouped(c.released_cents):>14} of {format_money_grouped(c.committed_cents):>14}"
                   f"  refunded {format_money_grouped(c.refunded_cents)}")
