"""`swarm validate | solve | verify`: exit codes, messages, files."""
import json
import shutil
import subprocess
import sys

import pytest

from tests.slow_solves import OUT_OF_TIME, SlowSolves
from tests.solver.helpers import WATER, run

MARKET = {
    "format": "swarm-market/1", "name": "cli-market",
    "challenges": [
        {"id": "kisumu", "title": "Kisumu wells", "value": 100, "components": [{"id": "wells", "quantity": 2}]},
        {"id": "gulu", "value": 50, "components": [{"id": "latrines"}]}],
    "funders": [{"id": "f", "pledges": [{"id": "p", "amount": "150.00"}]}],
    "actors": [{"id": "a", "bids": [
        {"id": "b1", "items": [{"component": "kisumu/wells", "price": "120.00"}]},
        {"id": "b2", "items": [{"component": "gulu/latrines", "price": "80.00"}]}]}],
}


@pytest.fixture
def market_file(tmp_path):
    path = tmp_path / "market.json"
    path.write_text(json.dumps(MARKET))
    return path


def test_validate_prints_a_one_line_summary(market_file):
    result = run("validate", market_file)
    assert result.exit_code == 0
    assert result.output.strip() == (f'{market_file}: valid market "cli-market": 2 challenges, 2 components, '
                                     "1 funders, 1 pledges, 1 actors, 2 bids, 150.00 USD pledged")


def test_validate_lists_every_error_with_its_path_and_exits_2(tmp_path):
    bad = json.loads(json.dumps(MARKET))
    bad["actors"][0]["bids"][0]["items"][0]["component"] = "kisumu/well"
    bad["funders"][0]["pledges"][0]["amount"] = -5
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    result = run("validate", path)
    assert result.exit_code == 2
    assert 'actors[0].bids[0].items[0].component: unknown component "kisumu/well"' in result.output
    assert "funders[0].pledges[0].amount: negative amount -5" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("content, message", [("", "the file is empty"), ("{oops", "not valid JSON"),
                                              ('{"a": 1}', "not a market"),
                                              ("[" * 100_000 + "]" * 100_000, "nested too deeply")])
def test_files_that_are_not_markets_exit_2(tmp_path, content, message):
    path = tmp_path / "x.json"
    path.write_text(content)
    for command in ("validate", "solve"):
        result = run(command, path)
        assert result.exit_code == 2 and message in result.output


def test_missing_file_exits_2(tmp_path):
    result = run("solve", tmp_path / "nope.json")
    assert result.exit_code == 2 and "no such file" in result.output


def test_solve_prints_summary_and_writes_the_allocation(market_file, tmp_path):
    out = tmp_path / "alloc.json"
    result = run("solve", market_file, "-o", out)
    assert result.exit_code == 0, result.output
    assert "completed 1 of 2 challenges, value 100" in result.output
    assert "paid to actors 120.00 USD of 150.00 pledged; returned to funders 30.00" in result.output
    assert "gulu:" in result.output and "outcompeted" in result.output
    assert f"allocation written to {out}" in result.output
    doc = json.loads(out.read_text())
    assert doc["format"] == "swarm-allocation/1" and doc["cost"] == "120.00"
    verified = run("verify", market_file, out)
    assert verified.exit_code == 0 and "valid" in verified.output and "value 100, cost 120.00" in verified.output


def test_solve_default_output_is_named_after_the_market(market_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("solve", market_file).exit_code == 0
    assert (tmp_path / "market.allocation.json").exists()


@pytest.mark.parametrize("options", [["--solver", "highs"], ["--time-limit", "5"], ["--gap", "0.01"], ["--no-explain"]])
def test_solve_options(market_file, tmp_path, options):
    out = tmp_path / "a.json"
    result = run("solve", market_file, "-o", out, *options)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["cost"] == "120.00"


def test_solve_bad_options_exit_2(market_file):
    assert run("solve", market_file, "--solver", "gurobi").exit_code == 2
    assert run("solve", market_file, "--time-limit", "-1").exit_code == 2


def test_solve_reports_an_unwritable_output_in_one_line(market_file, tmp_path):
    result = run("solve", market_file, "-o", tmp_path / "missing-dir" / "a.json")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("error: cannot write")


def test_verify_lists_violations_and_exits_1(market_file, tmp_path):
    out = tmp_path / "a.json"
    run("solve", market_file, "-o", out)
    doc = json.loads(out.read_text())
    doc["flows"][0]["amount"] = "1.00"
    doc["value"] = 150
    out.write_text(json.dumps(doc))
    result = run("verify", market_file, out)
    assert result.exit_code == 1
    assert "INVALID" in result.output and "flows total 1.00" in result.output and "value: 150" in result.output


def test_verify_unreadable_allocation_exits_2(market_file, tmp_path):
    bad = tmp_path / "a.json"
    bad.write_text("not json")
    assert run("verify", market_file, bad).exit_code == 2
    assert run("verify", market_file, tmp_path / "none.json").exit_code == 2
    folder = run("verify", market_file, tmp_path)          # a folder: said, not a traceback
    assert folder.exit_code == 2 and f"{tmp_path}: is a directory, not an allocation file" in folder.output


def test_the_installed_command_keeps_stdout_clean_with_highs(market_file):
    """`-o -` writes only the JSON on stdout, even with HiGHS, which likes to print a banner."""
    swarm = shutil.which("swarm") or str(__import__("pathlib").Path(sys.executable).with_name("swarm"))
    done = subprocess.run([swarm, "solve", str(market_file), "-o", "-", "--solver", "highs"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cost"] == "120.00"
    assert "completed 1 of 2" in done.stderr


def test_solve_is_byte_identical_apart_from_timings(market_file, tmp_path):
    outs = []
    for n in range(2):
        out = tmp_path / f"a{n}.json"
        run("solve", market_file, "-o", out)
        doc = json.loads(out.read_text())
        doc["solver"] = _without_timings(doc["solver"])
        outs.append(json.dumps(doc))
    assert outs[0] == outs[1]


def _without_timings(value):
    """Everything but the timings (keys ending in "seconds"), at any depth of the solver block."""
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if not k.endswith("seconds")}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def test_solve_time_limit_bounds_the_whole_call_reasons_included(monkeypatch, tmp_path):
    slow = SlowSolves(monkeypatch, seconds=4)
    result = run("solve", WATER, "--time-limit", 20, "-o", tmp_path / "out.json")
    assert result.exit_code == 0, result.output
    slow.assert_within(20)
    assert OUT_OF_TIME in result.output


def test_solve_keeps_the_full_reasons_for_the_analysts(tmp_path):
    """The file format and `swarm solve` are the analysts': a losing bid's id and figures stay in the
    reasons (the web and the API seal them per viewer: market/sealing.py)."""
    doc = json.loads(json.dumps(MARKET))
    doc["challenges"][1]["components"][0]["max_unit_price"] = "55.55"
    path, out = tmp_path / "market.json", tmp_path / "allocation.json"
    path.write_text(json.dumps(doc))
    assert run("solve", path, "-o", out).exit_code == 0
    reasons = json.loads(out.read_text())["unfunded"][0]["reasons"]
    assert "bid b2 prices gulu/latrines at 80.00 for 1, above the reserve of 55.55 a unit" in reasons
