"""`swarm` run in-process (click's runner), as the tests of every level call it."""
from __future__ import annotations

from typing import Any

from click.testing import CliRunner, Result

from web.cli import main


def run(*args: object, **kwargs: Any) -> Result:
    """`swarm ARGS...`: the command tree as installed, with the environment's database, if any."""
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


def run_on(url: str, *args: object, **kwargs: Any) -> Result:
    """`swarm ARGS...` on the database at `url` (SWARM_DATABASE_URL)."""
    return run(*args, env={"SWARM_DATABASE_URL": url}, **kwargs)
