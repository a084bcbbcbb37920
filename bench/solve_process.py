"""Benchmark: what running `/solve` in a child process (solver/bounded.py) costs per request.

Clears one small market (fixtures/didactic-bundle.json, about 10 ms of solving) many times: in this process,
then in a child started by each multiprocessing start method, and prints the median and 90th percentile wall
time of each and the median's excess over in-process. The first forkserver request also starts the server
(its preload imports the solver): printed apart.

    .venv/bin/python bench/solve_process.py [--repeat 30] [--market fixtures/didactic-bundle.json]

Nothing here is a test.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--market", default=str(ROOT / "fixtures" / "didactic-bundle.json"))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from solver import bounded
    from solver.clearing import ClearOptions, clear
    from solver.loading import parse_market

    raw = Path(args.market).read_bytes()

    def in_process() -> None:
        clear(parse_market(json.loads(raw)), ClearOptions(time_limit=20, explain=True))

    def child(method: str) -> None:
        bounded.clear_in_child(raw, 20, True, 60, start_method=method)

    rows: list[tuple[str, list[float]]] = []
    in_process()                                # warm: imports, HiGHS's banner
    rows.append(("in process", timed(in_process, args.repeat)))
    first = time.perf_counter()
    child("forkserver")
    print(f"first forkserver request (starts the server): {1000 * (time.perf_counter() - first):.0f} ms")
    for method in ("forkserver", "spawn", "fork"):
        rows.append((method, timed(lambda m=method: child(m), args.repeat)))
    base = statistics.median(rows[0][1])
    print(f"{'how':>12} {'median ms':>9} {'p90 ms':>7} {'over ms':>7}   "
          f"({args.repeat} requests, {Path(args.market).name})")
    for name, times in rows:
        median = statistics.median(times)
        p90 = sorted(times)[int(0.9 * (len(times) - 1))]
        print(f"{name:>12} {median:9.1f} {p90:7.1f} {median - base:7.1f}")


def timed(call, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - started))
    return times


if __name__ == "__main__":
    main()
