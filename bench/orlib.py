"""Benchmark: `swarm solve` end to end on the OR-Library markets and the fixtures.

For each market and backend, runs the real command line (`swarm solve MARKET -o
FILE`), times it from start to written file, reads the model-building and
solving seconds from the allocation's solver block, and compares the cost with
the published optimum. Prints one table; nothing here is a test.

    .venv/bin/python bench/orlib.py                     # everything, both backends
    .venv/bin/python bench/orlib.py --only scp4 --backend highs
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORLIB = ROOT.parent / "shared" / "benchmarks" / "orlib"
SWARM = [sys.executable, "-m", "web.cli"]


def markets(only: str | None) -> list[tuple[str, Path, dict | None]]:
    found: list[tuple[str, Path, dict | None]] = []
    for path in sorted((ROOT / "fixtures").glob("*.json")):
        found.append((path.stem, path, None))
    optima = json.loads((ORLIB / "optima.json").read_text()) if (ORLIB / "optima.json").exists() else {}
    for name, entry in optima.items():
        found.append((name, ORLIB / entry["market"], entry))
    return [m for m in found if only is None or any(part in m[0] for part in only.split(","))]


def run(path: Path, backend: str, time_limit: float | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "allocation.json"
        command = SWARM + ["solve", str(path), "-o", str(out), "--solver", backend, "--no-explain"]
        if time_limit:
            command += ["--time-limit", str(time_limit)]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            return {"error": (done.stderr.strip().splitlines() or ["?"])[-1], "wall": wall}
        doc = json.loads(out.read_text())
    solver = doc["solver"]
    return {"status": doc["status"], "cost": doc["cost"], "value": doc["value"], "wall": wall,
            "build": solver["build_seconds"], "solve": solver["solve_seconds"],
            "vars": solver["size"]["variables"], "rows": solver["size"]["constraints"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="cbc,highs", help="comma-separated: cbc,highs")
    parser.add_argument("--only", help="comma-separated substrings of market names")
    parser.add_argument("--time-limit", type=float, default=60.0,
                        help="seconds per solve (the hard GAP type D instances need it); default 60")
    args = parser.parse_args()
    header = (f"{'market':<22} {'backend':<6} {'optimum':>10} {'our cost':>12} {'status':<9} {'ok':<3} "
              f"{'vars':>6} {'rows':>6} {'build s':>8} {'solve s':>8} {'total s':>8}")
    print(header)
    print("-" * len(header))
    for name, path, entry in markets(args.only):
        for backend in args.backend.split(","):
            r = run(path, backend, args.time_limit)
            if "error" in r:
                print(f"{name:<22} {backend:<6} error: {r['error']}")
                continue
            optimum = entry["optimal_cost"] if entry else None
            ours = float(r["cost"])
            if optimum is None:
                ok = "-"
            elif r["status"] == "optimal":
                ok = "yes" if abs(ours - optimum) < 0.005 else "NO"
            else:
                ok = "ub" if ours >= optimum - 0.005 else "NO"   # a time-limited answer is an upper bound
            print(f"{name:<22} {backend:<6} {'' if optimum is None else optimum:>10} {r['cost']:>12} "
                  f"{r['status']:<9} {ok:<3} {r['vars']:>6} {r['rows']:>6} {r['build']:>8.2f} {r['solve']:>8.2f} "
                  f"{r['wall']:>8.2f}", flush=True)
    print(f"\nmachine: {os.cpu_count()} cores; time limit {args.time_limit:g} s per solve; "
          "total s = `swarm solve` start to written file")


if __name__ == "__main__":
    main()
