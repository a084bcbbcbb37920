"""`swarm ledger`: a round's money after the clearing (issue 17).

    swarm ledger commit ROUND     commit the cleared round's result: every flow into escrow
    swarm ledger terms ROUND [--holdback-percent P] [--service-days D] [--review-days R]
    swarm ledger show ROUND       per pledge: committed, in escrow, deposited, owed
    swarm ledger check ROUND      every invariant, recomputed from the entries alone
    swarm milestones ROUND        the committed round's milestones and the pledges funding each

`check` exits 0 when the ledger holds, 1 with one line per broken invariant otherwise.
"""
from __future__ import annotations

import click
from sqlalchemy import select

from solver.cli_common import EXIT_FAILED
from solver.money import format_money_grouped

from . import services
from .cli import database_or_exit
from .models import Challenge, Component, LedgerTransaction, Milestone, Pledge, RoundActor
from .services import delivery, settlement
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
def terms_(round_id: int, holdback_percent: int | None, service_days: int | None, review_days: int | None) -> None:
    """Show the round's settlement terms, or change them (until its clearing is committed)."""
    given = {k: v for k, v in (("holdback_percent", holdback_percent), ("service_days", service_days),
                               ("review_days", review_days)) if v is not None}
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            get_round(session, round_id)
            agreed = (settlement.set_terms(session, None, round_id, given) if given
                      else settlement.terms(session, round_id))
    click.echo(f"round {round_id}: holdback {agreed.holdback_percent}% after {agreed.service_days} days of service; "
               f"reports reviewed within {agreed.review_days} days")


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
