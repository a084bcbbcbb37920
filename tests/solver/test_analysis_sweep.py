"""`swarm sweep`: independent clearings on a Dask local cluster of 2 worker processes."""
import json

import pytest

from solver.analysis.common import parse_range
from solver.analysis.common import AnalysisError
from solver.analysis.sweep import run_dask, run_local, scenarios
from solver.loading import parse_market

from .helpers import SMALL, run, write


def test_sweep_on_a_local_cluster_of_two_processes_matches_in_process():
    market = parse_market(SMALL)
    todo = scenarios(market, [0.5, 1.0, 1.5], [("kisumu", [0.8, 0.95])], True)
    rows = run_dask(market, todo, workers=2)
    local = run_local(market, todo)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]   # noqa: E731
    assert strip(rows) == strip(local)
    assert [r["scenario"] for r in rows] == ["scale-pledges 0.5", "scale-pledges 1", "scale-pledges 1.5",
                                             "target kisumu=0.8", "target kisumu=0.95",
                                             "drop-actor a", "drop-actor c"]
    assert [r["value"] for r in rows] == [0, 100, 150, 100, 50, 50, 100]


def test_sweep_cli_on_an_existing_cluster_named_by_its_scheduler(tmp_path):
    from dask.distributed import LocalCluster

    out = tmp_path / "sweep.json"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster:
        result = run("sweep", write(tmp_path, SMALL), "--scale-pledges", "1:2:2", "--drop-each-actor",
                     "--scheduler", cluster.scheduler_address, "-o", out)
    assert result.exit_code == 0, result.output
    assert f"4 clearings (dask scheduler {cluster.scheduler_address})" in result.output
    assert [r["value"] for r in json.loads(out.read_text())["rows"]] == [100, 150, 50, 100]


def test_sweep_cli_prints_and_saves(tmp_path):
    out = tmp_path / "sweep.json"
    result = run("sweep", write(tmp_path, SMALL), "--scale-pledges", "0.5:1.5:3", "--in-process", "-o", out)
    assert result.exit_code == 0, result.output
    assert "3 clearings (in-process)" in result.output and f"table written to {out}" in result.output
    saved = json.loads(out.read_text())
    assert saved["format"] == "swarm-sweep/1"
    assert [r["pledged"] for r in saved["rows"]] == ["75.00", "150.00", "225.00"]


def test_parse_range():
    assert parse_range("0.5:2.0:4", "x") == [0.5, 1.0, 1.5, 2.0]
    for bad in ("0.5:x:3", "1:2", "1:2:0", "1:2:2.5"):
        with pytest.raises(AnalysisError):
            parse_range(bad, "x")


@pytest.mark.parametrize("args, message", [
    (["--scale-pledges", "0.5:x:3"], "START and STOP must be numbers"),
    (["--scale-pledges", "-1:1:3"], "must be above 0"),
    (["--target-range", "kisumu"], "expected CHALLENGE=START:STOP:COUNT"),
    (["--target-range", "nope=0.5:0.9:2"], "unknown challenge 'nope'"),
    (["--target-range", "kisumu=0.5:1.5:2"], "not in (0, 1]"),
    ([], "no scenario"),
])
def test_sweep_bad_input_exits_2(tmp_path, args, message):
    result = run("sweep", write(tmp_path, SMALL), "--in-process", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
