"""`swarm`, the command line: the one place it is assembled, from the commands each layer defines.

    solver/cli.py    one market file at a time: validate, solve, verify, generate, and the analyst tools
    market/cli.py    the database and rounds: db, import, export, rounds
    market/cli_jobs.py  clearing jobs: clear, jobs, job, worker; the e-mail outbox
    market/cli_ledger.py  money after the clearing: ledger commit, show, check; milestones; statement; progress
    market/cli_repair.py  when an actor fails: repair awards, fail, market, run, show, commit
    web/commands.py  the web app and its accounts: serve, user, token, doctor

Failures exit 2 for input a command cannot use and 1 for any other; `swarm solve` and `swarm clear` exit 3
when the market is infeasible (version 1.1: no allocation accepts every fixed bid; its allocation and reasons
are still written, and a round stays as it was); most print one `error:` line through
solver/cli_common.py's `fail` (an invalid market lists its problems; click's own usage errors, and
`token` for an unknown account, print click's `Error:`).
"""
from __future__ import annotations

import logging

import click

from market import cli as market_cli, cli_jobs, cli_ledger, cli_repair
from solver import cli as solver_cli
from web import commands as web_commands

__all__ = ["main"]

COMMANDS: list[click.Command] = [
    # one market file at a time
    solver_cli.validate, solver_cli.solve, solver_cli.verify, solver_cli.generate,
    # the analyst tools (solver/analysis)
    solver_cli.compare, solver_cli.explain, solver_cli.whatif, solver_cli.diff, solver_cli.simulate,
    solver_cli.sweep, solver_cli.report,
    # rounds in a database
    market_cli.db, market_cli.import_, market_cli.export, cli_jobs.clear_, market_cli.rounds,
    # money after the clearing
    cli_ledger.ledger_, cli_ledger.milestones, cli_ledger.statement, cli_ledger.progress,
    # when an actor fails
    cli_repair.repair_, cli_repair.rollover_,
    # clearing jobs
    cli_jobs.jobs_, cli_jobs.job, cli_jobs.worker, cli_jobs.outbox_,
    # the web app and its accounts
    web_commands.serve, web_commands.user, web_commands.token, web_commands.doctor,
]


@click.group(commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log model sizes and timings.")
def main(verbose: bool) -> None:
    """Swarm Market: clear funder-swarm challenge markets, and run them in rounds over time."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(name)s: %(message)s")


if __name__ == "__main__":
    main()
