"""Benchmark: clearing at scale (issue 7), one table.

Runs generated markets of the named sizes (S, M, L, XL; `swarm generate --size
X --seed 1`), their version-1.1 variants S-1.1, M-1.1, L-1.1 (`swarm generate
--format 1.1 --size X --seed 1`: the same market with funders' conditions,
narrower scopes and fixed bids), and the OR-Library set-covering markets
scp41-scp410, and prints one row per run: market, variables, constraints,
build s, solve s, total s, peak MB, status, gap, backend. After the table, each
1.1 variant's total time as a multiple of its version-1 twin's (same backend
and limit), for the issue's target: M-1.1 proven optimal within 2x of M's time.

- Generated markets run through `clear()` exactly as `swarm solve` does, in a
  child process of their own, so that "peak MB" is that run's peak resident
  memory (the larger of the child and the processes it started: CBC, parallel
  part workers). "total s" is the child's wall time from loading the file to
  the allocation in memory; build and solve are the engine's own split.
- scp41-scp410 run the real command line, `swarm solve MARKET -o FILE`, and
  "total s" is the wall time from start to written file.
- gap is (best bound - value) / best bound of the value phase ("-" when proven).

    .venv/bin/python bench/scale.py                        # everything (about 40 minutes)
    .venv/bin/python bench/scale.py --only S,M,scp         # a subset
    .venv/bin/python bench/scale.py --only m,m-1.1         # M beside its 1.1 variant (any case)
    .venv/bin/python bench/scale.py --only 1.1             # every 1.1 variant
    .venv/bin/python bench/scale.py --only L --time-limit 60
    .venv/bin/python bench/scale.py --build                # model building alone, per size

Nothing here is a test: the big sizes never run in the test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORLIB = ROOT.parent / "shared" / "benchmarks" / "orlib" / "market"
SEED = 1

# (market, backend, time limit s): the runs the targets name.
PLAN = [
    ("S", "highs", None), ("S", "cbc", None),
    ("S-1.1", "highs", None), ("S-1.1", "cbc", None),
    ("M", "highs", None), ("M", "cbc", 600),
    ("M-1.1", "highs", None), ("M-1.1", "cbc", 600),
    ("L", "highs", 60), ("L", "highs", 600, 1e-4),
    ("L-1.1", "highs", 60), ("L-1.1", "highs", 600, 1e-4),
    ("XL", "highs", 560),          # 40 s kept for loading, building and writing: 10 minutes in all
] + [(f"scp4{n}", "cbc", None) for n in range(1, 11)] + [(f"scp4{n}", "highs", None) for n in range(1, 11)]

COLUMNS = ("market", "variables", "constraints", "build s", "solve s", "total s", "peak MB", "status", "gap",
           "backend", "value", "cost phase")


def child() -> None:
    """Runs in its own process: load, clear, print one JSON line of figures."""
    from solver.clearing import ClearOptions, clear
    from solver.loading import load_market
    path, backend, limit, gap = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
    started = time.perf_counter()
    market = load_market(path)
    allocation = clear(market, ClearOptions(backend=backend, time_limit=float(limit) if limit != "-" else None,
                                            gap=float(gap) if gap != "-" else None))
    total = time.perf_counter() - started
    solver = allocation.solver
    print(json.dumps({"variables": solver["size"]["variables"], "constraints": solver["size"]["constraints"],
                      "build": solver["build_seconds"], "solve": solver["solve_seconds"], "total": total,
                      "status": allocation.status, "gap": solver.get("gap"), "value": allocation.value,
                      "bound": solver.get("bound"), "phases": solver["phases"],
                      "children_peak": peak_mb(resource.getrusage(resource.RUSAGE_CHILDREN))}))


def build_table(folder: Path, sizes: list[str]) -> None:
    """Model building alone, per size: it should grow linearly with the model's nonzeros."""
    from solver.eligibility import presolve
    from solver.loading import load_market
    from solver.model import ClearingModel
    from solver.pools import make_pools
    print("| market | bids | variables | constraints | nonzeros | presolve s | build s | build us per nonzero |")
    print("|---|---|---|---|---|---|---|---|")
    for size in sizes:
        market = load_market(generated(size, folder))
        started = time.perf_counter()
        pools = make_pools(market)
        pre = presolve(market, pools)
        built = time.perf_counter()
        model = ClearingModel(market, pools, pre)
        done = time.perf_counter()
        nonzeros = sum(len(row) for row in model.prob.constraints())
        shape = model.size()
        print(f"| {size} | {len(market.bids):,} | {shape['variables']:,} | {shape['constraints']:,} | {nonzeros:,} | "
              f"{built - started:.2f} | {done - built:.2f} | {(done - built) / nonzeros * 1e6:.2f} |", flush=True)


def peak_mb(usage: resource.struct_rusage) -> float:
    return usage.ru_maxrss / 1024            # Linux reports kilobytes


def generated(market: str, folder: Path) -> Path:
    """The market file of a name: a size ("M"), or a size and a format version ("M-1.1")."""
    size, _, version = market.upper().partition("-")
    path = folder / f"{size}{'-' + version if version else ''}-seed{SEED}.json"
    if not path.exists():
        subprocess.run([sys.executable, "-m", "web.cli", "generate", "--size", size, "--seed", str(SEED),
                        *(["--format", version] if version else []), "-o", str(path)],
                       check=True, cwd=ROOT, capture_output=True)
    return path


def selected(market: str, wanted: list[str] | None) -> bool:
    """--only: exact names in any case ("m" is M alone, "m-1.1" its variant), "scp" and "1.1" for groups."""
    if not wanted:
        return True
    return any(market.upper() == w.upper() or (w == "scp" and market.startswith("scp"))
               or (w == "1.1" and market.endswith("-1.1")) for w in wanted)


def ratios(results: dict[tuple[str, str, float | None, float | None], dict]) -> list[str]:
    """Each 1.1 variant's total time as a multiple of its version-1 twin's, run alike."""
    lines = []
    for (market, backend, limit, gap), figures in results.items():
        twin = results.get((market.removesuffix("-1.1"), backend, limit, gap))
        if market.endswith("-1.1") and twin and "error" not in figures and "error" not in twin:
            times = figures["total"] / twin["total"]
            lines.append(f"{market} / {market.removesuffix('-1.1')} ({backend}): {times:.2f}x total time "
                         f"({figures['status']} vs {twin['status']})")
    return lines


def run_generated(path: Path, backend: str, limit: float | None, gap: float | None) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(path), backend,
               "-" if limit is None else str(limit), "-" if gap is None else str(gap)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        pid = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err).pid
        _, status, usage = os.wait4(pid, 0)
        out.seek(0)
        err.seek(0)
        if status != 0:
            return {"error": (err.read().strip().splitlines() or ["?"])[-1]}
        figures = json.loads(out.read().strip().splitlines()[-1])
    figures["peak"] = max(peak_mb(usage), figures.pop("children_peak"))
    return figures


def run_cli(path: Path, backend: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "allocation.json"
        command = [sys.executable, "-m", "web.cli", "solve", str(path), "-o", str(out), "--solver", backend]
        started = time.perf_counter()
        pid = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).pid
        _, status, usage = os.wait4(pid, 0)
        total = time.perf_counter() - started
        if status != 0:
            return {"error": f"exit status {status}"}
        doc = json.loads(out.read_text())
    solver = doc["solver"]
    return {"variables": solver["size"]["variables"], "constraints": solver["size"]["constraints"],
            "build": solver["build_seconds"], "solve": solver["solve_seconds"], "total": total,
            "status": doc["status"], "gap": solver.get("gap"), "peak": peak_mb(usage), "value": doc["value"],
            "phases": solver["phases"]}


def row(market: str, backend: str, figures: dict) -> list[str]:
    if "error" in figures:
        return [market, "-", "-", "-", "-", "-", "-", "error: " + figures["error"][:60], "-", backend]
    gap = figures.get("gap")
    return [market, f"{figures['variables']:,}", f"{figures['constraints']:,}", f"{figures['build']:.2f}",
            f"{figures['solve']:.2f}", f"{figures['total']:.2f}", f"{figures['peak']:,.0f}", figures["status"],
            "-" if not gap else f"{gap:.2e}", backend, f"{figures['value']:,}", cost_phase(figures["phases"])]


def cost_phase(phases: list[dict]) -> str:
    """How the second phase (least cost at that value) ended, with its gap when it has one."""
    cost = next((p for p in phases if p.get("phase") == "cost"), None)
    if cost is None:
        return "-"
    outcome = str(cost["outcome"])
    objective, bound = cost.get("objective"), cost.get("bound")
    if outcome == "feasible" and objective and bound is not None:
        outcome += f", gap {abs(objective - bound) / abs(objective):.1e}"
    return outcome


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated names: S,M,L,XL, S-1.1,M-1.1,L-1.1, scp, 1.1 (any case)")
    parser.add_argument("--backend", choices=("cbc", "highs"), help="only this backend")
    parser.add_argument("--time-limit", type=float, help="override the time limit of generated runs")
    parser.add_argument("--folder", default=str(ROOT / "bench" / "markets"),
                        help="where generated markets are kept (made once)")
    parser.add_argument("--build", action="store_true", help="only time model building, per size")
    args = parser.parse_args()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    if args.build:
        build_table(folder, args.only.split(",") if args.only else ["S", "M", "L", "XL", "S-1.1", "M-1.1", "L-1.1"])
        return
    wanted = None if not args.only else args.only.split(",")
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    results = {}
    for market, backend, limit, *rest in PLAN:
        gap = rest[0] if rest else None
        if not selected(market, wanted):
            continue
        if args.backend and backend != args.backend:
            continue
        if market.startswith("scp"):
            figures = run_cli(ORLIB / f"{market}.json", backend)
            label = market
        else:
            limit = args.time_limit or limit
            figures = run_generated(generated(market, folder), backend, limit, gap)
            label = f"{market} ({limit:g} s limit{f', gap {gap:g}' if gap else ''})" if limit else market
            results[(market, backend, limit, gap)] = figures
        print("| " + " | ".join(row(label, backend, figures)) + " |", flush=True)
    for line in ratios(results):
        print(line)


if __name__ == "__main__":
    main()
