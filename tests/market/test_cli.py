"""`swarm db upgrade | db current | import | export | clear | rounds`."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from solver.loading import load_market, parse_market


from tests.small_market import market_doc
from tests.paths import FIXTURES
from tests.slow_solves import OUT_OF_TIME, SlowSolves
from tests.swarm import run, run_on


@pytest.fixture
def market_file(tmp_path):
    path = tmp_path / "small.json"
    path.write_text(json.dumps(market_doc()))
    return path


def test_import_export_clear(db, market_file, tmp_path):
    result = run_on(db.url, "import", market_file)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    round_id = int(lines[-1])
    assert lines[0] == (f'imported {market_file} as round {round_id} "small water" (open): 2 challenges, '
                        "3 pledges (14,500.50 USD), 3 bids")

    result = run_on(db.url, "export", round_id)
    assert result.exit_code == 0
    assert parse_market(json.loads(result.output)) == load_market(market_file)
    out = tmp_path / "out.json"
    assert run_on(db.url, "export", round_id, "-o", out).output == f"round {round_id} written to {out}\n"
    assert load_market(out) == load_market(market_file)

    result = run_on(db.url, "clear", round_id)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"round {round_id} closed\n")
    assert "small water: optimal" in result.output and "completed 2 of 2 challenges" in result.output
    assert result.output.strip().splitlines()[-1] == f"run 1 recorded as the result of round {round_id}"

    result = run_on(db.url, "clear", round_id, "--solver", "highs", "--no-explain")
    assert result.exit_code == 0 and "closed" not in result.output.splitlines()[0]
    assert result.output.strip().endswith(f"run 2 recorded as the result of round {round_id}")
    result = run_on(db.url, "rounds")
    assert result.output.split() == [str(round_id), "cleared", "3", "pledges", "3", "bids", "small", "water"]


def test_a_failing_solver_exits_1_and_leaves_the_round_closed(db, market_file, monkeypatch):
    from solver.clearing import ClearingError

    from market.services import clearing

    def failing(market, options):
        raise ClearingError("the highs solver is not available on this machine")

    monkeypatch.setattr(clearing, "clear", failing)
    round_id = int(run_on(db.url, "import", market_file).output.split()[-1])
    result = run_on(db.url, "clear", round_id)
    assert result.exit_code == 1
    assert result.stdout == f"round {round_id} closed\n"
    assert result.stderr.splitlines() == [                 # the job (named), then why it failed
        f"job 1: clearing round {round_id} with cbc, time limit 60 s, gap none (Ctrl-C cancels)",
        f"error: round {round_id} could not be cleared: the highs solver is not available on this machine"]
    assert run_on(db.url, "rounds").output.split()[:2] == [str(round_id), "closed"]


def test_a_crashing_solver_exits_1_with_the_reason(db, market_file, monkeypatch):
    from market.services import clearing

    def crashing(market, options):
        raise RuntimeError("HiGHS returned status 13")

    monkeypatch.setattr(clearing, "clear", crashing)
    round_id = int(run_on(db.url, "import", market_file).output.split()[-1])
    result = run_on(db.url, "clear", round_id, "--solver", "highs")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (f"error: round {round_id} could not be cleared: the highs solver "
                                              "failed (RuntimeError: HiGHS returned status 13)")


def test_errors_exit_2_with_one_line(db, tmp_path):
    for args in (["export", 99], ["clear", 99]):
        result = run_on(db.url, *args)
        assert (result.exit_code, result.output) == (2, "error: no round 99\n")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**market_doc(), "currency": "dollars"}))
    result = run_on(db.url, "import", bad)
    assert result.exit_code == 2 and 'currency: "dollars" is not an ISO 4217 code' in result.output
    assert run_on(db.url, "export", "x").exit_code == 2                        # click: not an integer


@pytest.mark.parametrize("round_id", [2**31, 2**63 - 1, 2**70])
def test_round_ids_beyond_their_column_are_unknown(db, round_id):
    """PostgreSQL refuses even to compare a number beyond the 32-bit column: that was a traceback."""
    for args in (["export", round_id], ["clear", round_id], ["token", "revoke", round_id]):
        result = run_on(db.url, *args)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith("error: no ") or "Error: Invalid value" in result.output, result.output


def test_import_reads_at_most_the_size_limit(db, tmp_path, monkeypatch):
    from solver import loading
    monkeypatch.setattr(loading, "MAX_FILE_BYTES", 2**20, raising=False)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({**market_doc(), "note": "x" * 2**20}))
    for path in (big, "/dev/zero"):
        result = run_on(db.url, "import", path)
        assert (result.exit_code, result.output) == (
            2, f"{path}: invalid market, 1 problem(s):\n  larger than 1 MB, the most a market file may be\n")
    assert run_on(db.url, "rounds").output == ""


def test_import_names_control_characters_at_their_path(db, tmp_path):
    doc = market_doc()
    doc["actors"][0]["name"] = "Drill\x00Co"
    doc["challenges"][0]["title"] = "Wells\x1b[2J"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    result = run_on(db.url, "import", bad)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "actors[0].name: contains a NUL character (U+0000)" in result.output
    assert "challenges[0].title: contains a control character (U+001B)" in result.output
    assert run_on(db.url, "rounds").output == ""


def test_db_upgrade_and_current(tmp_path):
    from market.migrate import head
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    latest = head()                                   # the newest migration (0002: API tokens, idempotency)
    result = run_on(url, "db", "current")
    assert result.output == f"database {url}: revision (none), latest {latest} (run `swarm db upgrade`)\n"
    result = run_on(url, "db", "upgrade")
    assert (result.exit_code, result.output) == (0, f"database {url} is at revision {latest}\n")
    assert run_on(url, "db", "current").output == f"database {url}: revision {latest}, latest {latest} (up to date)\n"
    assert run_on(url, "db", "upgrade").exit_code == 0                          # idempotent


def test_a_new_sqlite_file_is_set_up_on_first_use(tmp_path, market_file):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    result = run_on(url, "import", market_file)
    assert result.exit_code == 0 and result.output.strip().splitlines()[-1] == "1"
    assert f"set up a new database at {url}" in result.output


def test_a_database_not_at_the_latest_migration_is_refused(tmp_path, market_file):
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE something_else (id INTEGER)")
    result = run_on(f"sqlite:///{path}", "import", market_file)
    assert result.exit_code == 2
    assert result.output == f"error: the database at sqlite:///{path} is not set up: run `swarm db upgrade`\n"


def test_the_default_database_is_instance_swarm_sqlite3(tmp_path, market_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SWARM_DATABASE_URL", raising=False)
    result = run("import", market_file)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "instance" / "swarm.sqlite3").exists()


def test_the_installed_command_imports_and_clears(tmp_path, market_file):
    env = {"SWARM_DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}", "PATH": "/usr/bin:/bin"}
    swarm = [sys.executable, "-c", "from web.cli import main; main()"]
    imported = subprocess.run(swarm + ["import", str(market_file)], capture_output=True, text=True, env=env,
                              check=True)
    round_id = imported.stdout.strip().splitlines()[-1]
    cleared = subprocess.run(swarm + ["clear", round_id], capture_output=True, text=True, env=env)
    assert cleared.returncode == 0, cleared.stderr
    assert "completed 2 of 2 challenges" in cleared.stdout
    validate = subprocess.run(swarm + ["validate", str(market_file)], capture_output=True, text=True, env=env)
    assert validate.returncode == 0 and "valid market" in validate.stdout


def test_an_unreachable_database_is_one_line_and_exit_1():
    url = "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2"
    result = run_on(url, "rounds")
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot reach the database at postgresql+psycopg://nobody@127.0.0.1:9/none")
    assert result.output.count("\n") == 1


def test_clear_time_limit_bounds_the_whole_clearing_reasons_included(db, monkeypatch):
    round_id = int(run_on(db.url, "import", FIXTURES / "water-sdg6.json").output.split()[-1])
    slow = SlowSolves(monkeypatch, seconds=4)
    result = run_on(db.url, "clear", round_id, "--time-limit", 20)
    assert result.exit_code == 0, result.output
    slow.assert_within(20)
    assert OUT_OF_TIME in result.output
