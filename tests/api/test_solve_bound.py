"""/solve under a hard bound (solver/bounded.py): the solve runs in a child process that is killed at
time_limit + SOLVE_HARD_MARGIN, with its CBC; the request answers 503 with a JSON error, and no solver
process is left. When to give up is the parent's `bounded.wait`: patched here to give up at once, or once
CBC runs, so that no test waits for a clock."""
from __future__ import annotations

import os
import signal
import sys

import psutil

from solver import bounded
from tests.api.helpers import assert_error
from tests.orphans import NEEDS_SIGNALS, busy_market, gone, killed_mid_solve
from tests.small_market import market_doc
from web.api import views


def solve_children() -> list[psutil.Process]:
    """The solve processes this process's forkserver started, and what they started (CBC)."""
    found = []
    for server in psutil.Process(os.getpid()).children():
        try:
            if "multiprocessing.forkserver" in " ".join(server.cmdline()):
                found += server.children(recursive=True)
        except psutil.NoSuchProcess:
            continue
    return found


def left_behind(seen: list[psutil.Process]) -> list[str]:
    return [f"{p.pid}" for p in seen if not gone(p.pid)]


def test_the_bound_is_time_limit_plus_the_margin_and_is_stated(funder, monkeypatch, anonymous):
    bounds = []
    real = bounded.wait
    monkeypatch.setattr(bounded, "wait", lambda ours, child, bound: bounds.append(bound) or real(ours, child, bound))
    assert funder.post("/solve?time_limit=7", market_doc()).status_code == 200
    assert bounds == [7 + views.SOLVE_HARD_MARGIN] and views.SOLVE_HARD_MARGIN == 10
    spec = anonymous.client.get("/api/v1/openapi.json").get_json()
    solve = spec["paths"]["/api/v1/solve"]["post"]
    assert "killed at a hard bound of `time_limit` + 10 s" in " ".join(solve["summary"].split() + solve.get(
        "description", "").split())
    assert "503" in solve["responses"]
    assert "killed at a hard bound of `time_limit` + 10 s" in " ".join(spec["info"]["description"].split())


def test_a_solve_past_its_bound_is_stopped_with_a_503(funder, monkeypatch):
    seen: list[psutil.Process] = []

    def give_up_at_once(ours, child, bound):
        seen.extend(solve_children())
        return False

    monkeypatch.setattr(bounded, "wait", give_up_at_once)
    body = assert_error(funder.post("/solve?time_limit=5", market_doc()), 503, "")
    assert body["errors"][""] == ["the solve did not end within its hard bound of 15 s (time_limit + 10 s to read "
                                  "the market and build its model) and was stopped: try a smaller market or time_limit"]
    assert seen, "no solve process was started"
    assert not left_behind(seen)


@NEEDS_SIGNALS
def test_cbc_is_killed_with_the_solve_at_its_bound(funder, monkeypatch):
    """The child is killed while its CBC runs: CBC goes with it."""
    seen: list[psutil.Process] = []

    def give_up_once_cbc_runs(ours, child, bound):
        while not any(p.name().startswith("cbc") for p in seen):
            assert not ours.poll(0.1), "the solve ended before CBC ran"
            seen[:] = solve_children()
        return False

    monkeypatch.setattr(bounded, "wait", give_up_once_cbc_runs)
    response = funder.client.post("/api/v1/solve?time_limit=20", data=busy_market(), content_type="application/json",
                                  headers=funder.headers())
    assert response.status_code == 503 and response.is_json
    assert not left_behind(seen), "outlived the solve killed at its bound"


@NEEDS_SIGNALS
def test_a_solve_whose_process_dies_is_a_503(funder, monkeypatch):
    real = bounded.wait

    def kill_it_first(ours, child, bound):
        os.kill(child.pid, signal.SIGKILL)
        return real(ours, child, bound)

    monkeypatch.setattr(bounded, "wait", kill_it_first)
    body = assert_error(funder.post("/solve", market_doc()), 503, "")
    assert body["errors"][""] == ["the market could not be cleared: the solver's process ended without an answer "
                                  "(exit code -9); try again"]


@NEEDS_SIGNALS
def test_a_caller_killed_mid_solve_leaves_no_solve_process(tmp_path):
    """The web worker (here a script) killed outright while its solve's CBC runs: the forkserver, the solve's
    process and CBC all end with it."""
    market = tmp_path / "busy.json"
    market.write_text(busy_market())
    script = ("import sys; from pathlib import Path; from solver import bounded; "
              "bounded.clear_in_child(Path(sys.argv[1]).read_bytes(), 20, False, 120)")
    killed_mid_solve(["-c", script, str(market)], signal.SIGKILL)


def test_the_default_start_method_is_safe_under_threads():
    assert bounded.default_start_method() == ("forkserver" if sys.platform != "win32" else "spawn")


def test_nothing_of_the_solve_reaches_the_callers_stdout():
    """HiGHS's banner (or any solver output) would be a line that is not JSON in the web worker's log."""
    import subprocess

    from tests.paths import ROOT
    script = ("import json; from solver import bounded; from tests.small_market import market_doc\n"
              "real = bounded.clear\n"
              "def noisy(*a, **k):\n    print('Running HiGHS banner', flush=True); return real(*a, **k)\n"
              "bounded.clear = noisy\n"
              "bounded.clear_in_child(json.dumps(market_doc()).encode(), 5, False, 60, start_method='fork')\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_the_solves_log_lines_are_logged_by_the_request(app, funder, monkeypatch):
    """A /solve child's log records come back with its answer and are logged in the request (with its id
    and the server's format), the solver's exception text included."""
    import logging

    from web import logs

    real = bounded.clear

    def logging_clear(*args, **kwargs):
        log = logging.getLogger("solver.clearing")
        log.warning("model of %d rows", 42)
        try:
            raise ValueError("inside")
        except ValueError:
            log.exception("a caught fault")
        return real(*args, **kwargs)

    monkeypatch.setattr(bounded, "clear", logging_clear)
    app.config["SOLVE_START_METHOD"] = "fork"       # the child keeps the patch
    lines: list[str] = []
    handler = logging.Handler()
    handler.addFilter(logs.RequestContext())
    handler.setFormatter(logs.JsonLines())
    handler.emit = lambda record: lines.append(handler.format(record))
    logging.getLogger().addHandler(handler)
    try:
        response = funder.post("/solve", market_doc(), headers={"X-Request-ID": "solve-7"})
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.status_code == 200
    import json
    said = [json.loads(line) for line in lines if '"solver.clearing"' in line]
    assert [line["message"] for line in said] == ["model of 42 rows", "a caught fault"]
    assert all(line["request_id"] == "solve-7" and line["path"] == "/api/v1/solve" for line in said)
    assert "ValueError: inside" in said[1]["exception"]
