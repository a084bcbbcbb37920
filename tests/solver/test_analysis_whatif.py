"""`swarm whatif` and `swarm diff`."""
import json

import pytest

from .helpers import SMALL, WATER, run, solve, write


def test_whatif_add_pledge_gains_a_challenge(tmp_path):
    result = run("whatif", write(tmp_path, SMALL), "--add-pledge", "50:gulu")
    assert result.exit_code == 0, result.output
    assert "challenges gained (after not before): gulu (value 50)" in result.output
    assert "whatif-1 (whatif): spent 0.00 -> 50.00; gulu +50.00" in result.output
    assert "value                 100 ->            150  (+50)" in result.output


def test_whatif_drop_actor_and_target(tmp_path):
    market = write(tmp_path, SMALL)
    result = run("whatif", market, "--drop-actor", "a")
    assert result.exit_code == 0, result.output
    assert "challenges lost (before not after): kisumu (value 100)" in result.output
    assert "challenges gained (after not before): gulu (value 50)" in result.output
    result = run("whatif", market, "--target", "kisumu=0.95")
    assert "challenges lost (before not after): kisumu" in result.output
    assert "why kisumu is lost: reliability target 0.95 out of reach" in result.output


def test_whatif_scale_on_water(tmp_path):
    result = run("whatif", WATER, "--scale-pledges", "1.5")
    assert result.exit_code == 0, result.output
    assert "turkana-solar" in result.output and "money moved, per pledge" in result.output


@pytest.mark.parametrize("args, message", [
    (["--scale-pledges", "x"], "not a number"),
    (["--scale-pledges", "-1"], "must be a number above 0"),
    (["--drop-actor", "nobody"], "unknown actor 'nobody'"),
    (["--add-pledge", "12.345"], "more than two fraction digits"),
    (["--add-pledge", "0"], "must be more than 0"),
    (["--add-pledge", "10:nowhere"], "scope 'nowhere'"),
    (["--target", "kisumu"], "expected CHALLENGE=R"),
    (["--target", "nope=0.5"], "unknown challenge 'nope'"),
    (["--target", "kisumu=2"], "must be in (0, 1]"),
    ([], "no change given"),
])
def test_whatif_bad_input_exits_2_with_one_line(tmp_path, args, message):
    result = run("whatif", write(tmp_path, SMALL), *args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_diff_of_two_clearings(tmp_path):
    a = solve(tmp_path, write(tmp_path, SMALL), "a.json")
    richer = json.loads(json.dumps(SMALL))
    richer["funders"][0]["pledges"][0]["amount"] = "80.00"
    b = solve(tmp_path, write(tmp_path, richer, "m2.json"), "b.json")
    result = run("diff", a, b)
    assert result.exit_code == 0, result.output
    assert "challenges gained (B not A): gulu (value 50)" in result.output
    assert "challenges lost (A not B): kisumu (value 100)" in result.output
    assert "bids won: 1:\n  b2 (c) 80.00" in result.output
    assert "p (f): spent 120.00 -> 80.00; kisumu -120.00, gulu +80.00" in result.output
    same = run("diff", a, a)
    assert "no change" in same.output


def test_diff_bad_input(tmp_path):
    a = solve(tmp_path, write(tmp_path, SMALL), "a.json")
    (tmp_path / "x.json").write_text("{")
    assert run("diff", a, tmp_path / "x.json").exit_code == 2
    assert "no such file" in run("diff", a, tmp_path / "none.json").output
    (tmp_path / "m.json").write_text(json.dumps(SMALL))
    result = run("diff", a, tmp_path / "m.json")
    assert result.exit_code == 2 and "not an allocation" in result.output
    water = solve(tmp_path, WATER, "w.json")
    result = run("diff", a, water)
    assert result.exit_code == 2 and "not of the same market" in result.output
