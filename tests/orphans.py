"""A process killed while CBC runs under it, and whether CBC died with it: shared by the tests of the
solver (swarm solve), the market (swarm clear) and the web (/solve). A market big enough to keep CBC busy
for many seconds is the generator's M size (about 45 s with CBC)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from functools import cache
from typing import Any

from tests.paths import ROOT

import psutil
import pytest

NEEDS_SIGNALS = pytest.mark.skipif(not hasattr(signal, "SIGKILL") or not psutil.LINUX,
                                   reason="a solver outliving its process is guarded on Linux (PR_SET_PDEATHSIG)")


@cache
def busy_market() -> str:
    """A market CBC needs many seconds to clear, as JSON."""
    from solver.generate import SIZES, generate
    size = SIZES["M"]
    return json.dumps(generate(size.challenges, size.funders, size.actors, seed=1))


def cbc_under(process: subprocess.Popen[Any], within: float = 120) -> psutil.Process:
    """The CBC process started by `process` (or its children), once there is one."""
    waited_until = time.monotonic() + within
    while time.monotonic() < waited_until:
        assert process.poll() is None, f"the process ended (exit {process.returncode}) before CBC started"
        found = cbcs_under(process.pid)
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no CBC process under {process.pid} within {within} s")


def cbcs_under(pid: int) -> list[psutil.Process]:
    """The CBC processes running now under process `pid` (its children, theirs, and so on)."""
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if child.name().startswith("cbc") and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def gone(pid: int, within: float = 10) -> bool:
    """Whether process `pid` ended (a zombie waiting for init has ended) within `within` seconds; if not,
    it is killed here so that it does not outlive the test."""
    waited_until = time.monotonic() + within
    try:
        child = psutil.Process(pid)
        while time.monotonic() < waited_until:
            if child.status() == psutil.STATUS_ZOMBIE:
                return True
            time.sleep(0.1)
        child.kill()
    except psutil.NoSuchProcess:
        return True
    return False


def kill_and_check(process: subprocess.Popen[Any], how: signal.Signals) -> None:
    """Kill `process` with `how` while its CBC runs: CBC, and every other process under it (the workers
    clearing parts), must end with it."""
    cbc_under(process)
    under = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(how)
    process.wait(30)
    left = [f"{child.pid} ({child.name()})" for child in under if not gone(child.pid)]
    assert not left, f"outlived their process killed by {how.name}: {', '.join(left)}"


def killed_mid_solve(arguments: list[str], how: signal.Signals, **environment: str) -> None:
    """Run `python ARGUMENTS...` from the repository root (with `environment`), kill it with `how` once its
    CBC runs, and check that nothing it started outlives it."""
    process = subprocess.Popen([sys.executable, *arguments], cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT), **environment},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        kill_and_check(process, how)
    finally:
        process.kill()
        process.wait(30)


@cache
def twin_busy_markets() -> str:
    """Two busy markets side by side, sharing no money, actor or tag: two parts, each cleared in a worker
    process (solver/parts.py) when clearing with workers=2."""
    from solver.generate import SIZES, generate
    size = SIZES["M"]
    return json.dumps(twins(generate(size.challenges, size.funders, size.actors, seed=1)))


def twins(doc: dict[str, Any]) -> dict[str, Any]:
    """Two copies of market `doc` side by side, sharing no money, actor or tag: two independent parts."""
    a, b = _prefixed(doc, "a-"), _prefixed(doc, "b-")
    return {**doc, "challenges": a["challenges"] + b["challenges"],
            "funders": a["funders"] + b["funders"], "actors": a["actors"] + b["actors"]}


def _prefixed(doc: dict[str, Any], prefix: str) -> dict[str, Any]:
    """`doc`'s challenges, funders and actors with `prefix` before every id, tag and component key (a
    pledge for any challenge: for any of these)."""
    def tags(entry: dict[str, Any]) -> dict[str, Any]:
        """A challenge's tags, or a scope's tags, challenges and components."""
        return {**entry, **{key: [prefix + x for x in entry[key]] for key in ("tags", "challenges", "components")
                            if key in entry}}
    return {
        "challenges": [{**c, "id": prefix + c["id"], "tags": [prefix + t for t in ["any", *c.get("tags", [])]]}
                       for c in doc["challenges"]],
        "funders": [{**f, "id": prefix + f["id"],
                     "pledges": [{**p, "id": prefix + p["id"], "scope": tags(p.get("scope", {"tags": ["any"]}))}
                                 for p in f["pledges"]]} for f in doc["funders"]],
        "actors": [{**a, "id": prefix + a["id"],
                    "bids": [{**b, "id": prefix + b["id"],
                              "items": [{**i, "component": prefix + i["component"]} for i in b["items"]]}
                             for b in a["bids"]]} for a in doc["actors"]],
    }
