"""`swarm repair`: when an actor fails (issue 18).

    swarm repair standby ROUND BID --days N [--price P]
                                           a bid's standby offer (while the round is open)
    swarm repair awards ROUND              the contracts in force, each with the standby bids that could replace it
                                           and the reliability its challenge would have with them
    swarm repair fail AWARD --reason TEXT  mark an award failed: its unpaid milestones stop
    swarm repair market FAILURE [-o FILE]  the repair market (swarm-market/1.1) as it would be solved now
    swarm repair run FAILURE [--solver S] [--time-limit T]
                                           re-clear the failure's challenges (a job, run here), then show the review
    swarm repair show RUN                  what committing the repair run would do
    swarm repair commit RUN                commit it: the money moves, the standby bids called are awarded
    swarm repair records ROUND [--json]    the actors' track records and the reliability they suggest
    swarm repair reliability ROUND declared|track_record
                                           which reliability the round's clearing uses
    swarm rollover programme ROUND [NAME]  put the round in a programme (rollover goes to its next round)
    swarm rollover show ROUND              what came back to consenting pledges, waiting for the next round
"""
from __future__ import annotations

import json

import click
from solver.money import format_money_grouped

from sqlalchemy import select

from . import records, services
from .cli import database_or_exit
from .models import Job, Pledge, RoundActor
from .services import repair, rollover
from .services.common import get_round
from .worker import run_job, worker_name


@click.group("repair")
def repair_() -> None:
    """When an actor fails: standby bids, repair clearings, refunds."""


@repair_.command("awards")
@click.argument("round_id", metavar="ROUND", type=int)
def awards(round_id: int) -> None:
    """The contracts in force and the standby bids that could replace each."""
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            rows = repair.awards_in_force(session, None, round_id)
    if not rows:
        click.echo(f"round {round_id} has no contracts: its clearing is not committed")
    for row in rows:
        state = f"  [failed: {row.failure}]" if row.failure else ""
        click.echo(f"award {row.award_id}: bid {row.bid} by {row.actor}, {format_money_grouped(row.price_cents)}, "
                   f"reliability {row.reliability:g}{state}; track record {row.record}")
        for path, reliability, options in row.components:
            click.echo(f"  {path}: challenge reliability {reliability:.4g}")
            for s in options:
                click.echo(f"    standby {s.bid} by {s.actor}: {format_money_grouped(s.price_cents)}, reliability "
                           f"{s.reliability:g} -> challenge {s.challenge_reliability:.4g}")
            if not options:
                click.echo("    no standby bid")


@repair_.command("standby")
@click.argument("round_id", metavar="ROUND", type=int)
@click.argument("bid_key", metavar="BID")
@click.option("--days", type=int, required=True, help="Days after the clearing's commit the bid stands by.")
@click.option("--price", help="Its standby price for the whole bundle (default: its own prices).")
def standby(round_id: int, bid_key: str, days: int, price: str | None) -> None:
    """Record a bid's standby offer, for its actor (while the round is open, as any change of a bid)."""
    data: dict[str, object] = {"standby_days": days}
    if price is not None:
        data["standby_price"] = price
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            services.change_bid(session, None, round_id, bid_key, data)
    click.echo(f"bid {bid_key} stands by {days} days after the clearing"
               + (f" at {price}" if price is not None else " at its own prices"))


@repair_.command("fail")
@click.argument("award_id", metavar="AWARD", type=int)
@click.option("--reason", required=True, help="Why: the actor withdrew, a deadline passed, verification failed.")
def fail(award_id: int, reason: str) -> None:
    """Mark an award failed: its unpaid milestones stop, their escrow waits for a repair."""
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            failure = repair.fail_award(session, None, award_id, {"reason": reason})
            click.echo(f"award {award_id} failed: failure {failure.id}; repair it with `swarm repair run "
                       f"{failure.id}`")


@repair_.command("market")
@click.argument("failure_id", metavar="FAILURE", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write it here, not to stdout.")
def market(failure_id: int, output: str | None) -> None:
    """The failure's repair market, a swarm-market/1.1 file any checker reads."""
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            document, _ = repair.repair_market(session, None, failure_id)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
        click.echo(f"wrote the repair market of failure {failure_id} to {output}")
    else:
        click.echo(text, nl=False)


@repair_.command("run")
@click.argument("failure_id", metavar="FAILURE", type=int)
@click.option("--solver", "backend", default="cbc", show_default=True, help="The MILP backend.")
@click.option("--time-limit", type=float, help="Seconds the solver may take.")
def run(failure_id: int, backend: str, time_limit: float | None) -> None:
    """Re-clear the failure's challenges as a repair job, here and now, and show what committing it would do."""
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            job_id = repair.submit_repair(session, None, failure_id, backend=backend, time_limit=time_limit).id
        state = run_job(sessions, job_id, worker_name("cli"))
        with sessions.begin() as session:
            job = session.get(Job, job_id)
            assert job is not None
            if state != "succeeded" or job.run_id is None:
                raise click.ClickException(f"repair job {job_id} {job.state}: {job.reason}")
            _show(repair.review(session, None, job.run_id))


@repair_.command("show")
@click.argument("run_id", metavar="RUN", type=int)
def show(run_id: int) -> None:
    """What committing the repair run would do (or did)."""
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            _show(repair.review(session, None, run_id))


@repair_.command("commit")
@click.argument("run_id", metavar="RUN", type=int)
def commit(run_id: int) -> None:
    """Commit the repair run: refunds, re-funded contracts, the called standby bids' milestones."""
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            failure = repair.commit_repair(session, None, run_id)
            state = failure.state
        with sessions.begin() as session:
            seen = repair.review(session, None, run_id)
    click.echo(f"repair run {run_id} committed: failure {seen.failure_id} {state}; "
               f"{format_money_grouped(seen.refunded_cents)} went back to the pledges")


@repair_.command("records")
@click.argument("round_id", metavar="ROUND", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print {actor id: track-record reliability} as JSON, the "
              "file `swarm simulate --reliabilities` draws failures from.")
def records_(round_id: int, as_json: bool) -> None:
    """The round's actors' track records (across their accounts' rounds) and the reliability they suggest."""
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            rnd = get_round(session, round_id)
            actors = list(session.scalars(select(RoundActor).where(RoundActor.round_id == round_id)
                                          .order_by(RoundActor.position, RoundActor.id)))
            found = records.records(session, [a.id for a in actors])
    if as_json:
        click.echo(json.dumps({a.key: round(found[a.id].estimate(records.actor_reliability(a)), 9) for a in actors},
                              indent=2))
        return
    click.echo(f"round {round_id}: clearing uses the {rnd.reliability_source.replace('_', ' ')} reliability "
               f"(prior weight {records.PRIOR_WEIGHT} milestones)")
    click.echo(f"  {'actor':<20} {'declared':>8} {'verified':>8} {'late':>5} {'failed':>6} {'rejected':>8} "
               f"{'estimate':>8}")
    for a in actors:
        r = found[a.id]
        declared = records.actor_reliability(a)
        click.echo(f"  {a.key:<20} {declared:>8.3g} {r.verified:>8} {r.late:>5} {r.failed:>6} {r.rejected:>8} "
                   f"{r.estimate(declared):>8.4f}")


@repair_.command("reliability")
@click.argument("round_id", metavar="ROUND", type=int)
@click.argument("source", type=click.Choice(["declared", "track_record"]))
def reliability(round_id: int, source: str) -> None:
    """Clear the round with the declared reliabilities, or with the actors' track records."""
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            services.rounds.set_round_options(session, None, round_id, {"reliability_source": source})
    click.echo(f"round {round_id} clears with the {source.replace('_', ' ')} reliability")


@click.group("rollover")
def rollover_() -> None:
    """Money funders consent to roll into the next round of a programme."""


@rollover_.command("programme")
@click.argument("round_id", metavar="ROUND", type=int)
@click.argument("name", required=False)
def programme(round_id: int, name: str | None) -> None:
    """Put the round in a programme (no NAME: in none). Rolled-over money goes to the programme's next round."""
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            services.rounds.set_round_options(session, None, round_id, {"programme": name})
    click.echo(f"round {round_id} is in programme {name!r}" if name else f"round {round_id} is in no programme")


@rollover_.command("show")
@click.argument("round_id", metavar="ROUND", type=int)
def rollover_show(round_id: int) -> None:
    """Per pledge consenting to roll over: what came back and waits for the programme's next round."""
    with database_or_exit() as sessions:
        with sessions.begin() as session:
            rnd = get_round(session, round_id)
            pledges = list(session.scalars(select(Pledge).where(Pledge.round_id == round_id,
                                                                Pledge.rollover.is_(True)).order_by(Pledge.id)))
            waiting = [(p.key, rollover.came_back(session, p)) for p in pledges]
    click.echo(f"round {round_id}, programme {rnd.programme or '(none)'}: {len(pledges)} pledge(s) consent to "
               "roll over")
    for key, cents in waiting:
        click.echo(f"  {key}: {format_money_grouped(cents)} {rnd.currency} waits for the next round")


def _show(seen: repair.RepairReview) -> None:
    click.echo(f"repair run {seen.run_id} of failure {seen.failure_id}: {seen.status}"
               + (" (committed)" if seen.committed else " (not committed: `swarm repair commit "
                  f"{seen.run_id}`)"))
    click.echo(f"  failed: {', '.join(seen.failed) or '-'}")
    click.echo(f"  completed: {', '.join(seen.completed) or '-'}; "
               f"cannot be completed: {', '.join(seen.abandoned) or '-'}")
    for award in seen.new_awards:
        click.echo(f"  newly awarded: bid {award.bid} by {award.actor}, {format_money_grouped(award.price_cents)}")
    for challenge, reliability in seen.reliability.items():
        click.echo(f"  reliability of {challenge} with the repair: {reliability:.4g}")
    click.echo(f"  in escrow {format_money_grouped(seen.in_escrow_cents)}; paid to actors "
               f"{format_money_grouped(seen.cost_cents)} (newly awarded {format_money_grouped(seen.new_cost_cents)});"
               f" back to the pledges {format_money_grouped(seen.refunded_cents)}"
               + (f"; new money used {format_money_grouped(seen.new_money_cents)}" if seen.new_money_cents else ""))

