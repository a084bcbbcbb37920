"""Benchmark: what each version-1.1 feature costs the MIP (issue 16's speed target), one table.

Takes a 1.1 market (by default `swarm generate --format 1.1 --size m --seed 1`), builds the value phase's
model (solver/model.py) for the market as it is and for copies with one feature taken out, and solves each
with HiGHS on one thread, gap 0, straight from the model (no greedy start, no relaxation start: the MIP alone).
Then two more rows for the whole market: its root LP alone (the first bound the search has), and the MIP
again started at the optimum the first row found (what the search costs when only the proof is left).

Rows:
  as is                       the market
  no conditions               every pledge's `conditions` removed (named funders pool again)
  no min_spend / no shares / no fixed bids
  conditions on chain ends    only the conditions that name a funder with no condition of its own
  conditions in chains        only the conditions that name a funder whose own pledge is conditional
  root LP                     the relaxation of "as is"
  as is, from its optimum     "as is" with the optimum of the first row as HiGHS's start

    .venv/bin/python bench/conditions_cost.py                       # M (about 8 minutes)
    .venv/bin/python bench/conditions_cost.py --size l --only "as is,root LP,no conditions" --time-limit 120
    .venv/bin/python bench/conditions_cost.py --market some-1.1-market.json

Timings are one run each: HiGHS's branch and bound varies by a factor of about 2 on the same model when
anything about it changes (rows' order, a seed), so read ratios of 5 or more, not of 1.5.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import pulp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solver import generate as generator  # noqa: E402
from solver.eligibility import presolve  # noqa: E402
from solver.loading import parse_market  # noqa: E402
from solver.model import ClearingModel  # noqa: E402
from solver.pools import make_pools  # noqa: E402

Doc = dict[str, Any]


def _pledges(doc: Doc) -> list[dict[str, Any]]:
    return [p for f in doc["funders"] for p in f.get("pledges", [])]


def _without(key: str) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        for pledge in _pledges(doc):
            pledge.pop(key, None)
    return change


def _without_fixed(doc: Doc) -> None:
    for actor in doc["actors"]:
        for bid in actor.get("bids", []):
            bid.pop("fixed", None)


def _conditions_where(chain: bool) -> Callable[[Doc], None]:
    """Keep only the conditions naming a funder that has (chain) or has not a conditional pledge itself."""
    def change(doc: Doc) -> None:
        conditioned = {f["id"] for f in doc["funders"] for p in f.get("pledges", []) if p.get("conditions")}
        for pledge in _pledges(doc):
            kept = [c for c in pledge.get("conditions", []) if (c["funder"] in conditioned) == chain]
            if kept:
                pledge["conditions"] = kept
            else:
                pledge.pop("conditions", None)
    return change


VARIANTS: dict[str, Callable[[Doc], None] | None] = {
    "as is": None,
    "no conditions": _without("conditions"),
    "no min_spend": _without("min_spend"),
    "no shares": _without("max_challenge_share"),
    "no fixed bids": _without_fixed,
    "conditions on chain ends": _conditions_where(chain=False),
    "conditions in chains": _conditions_where(chain=True),
}


def write_mps(doc: Doc, path: Path) -> dict[str, int]:
    """The value phase's model of the market, as an MPS file; its size."""
    market = parse_market(doc)
    pools = make_pools(market)
    model = ClearingModel(market, pools, presolve(market, pools))
    model.prob.sense = pulp.LpMaximize
    model.prob.setObjective(model.value)
    model.prob.writeMPS(str(path))
    return {**model.size(), "gates": len(model.gates), "engaged": len(model.engaged)}


def run_highs(path: Path, time_limit: float, relaxation: bool = False,
              start: list[float] | None = None) -> tuple[float, str, float, list[float]]:
    """HiGHS on one thread, gap 0: (seconds, status, objective, column values)."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(path))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)     # PuLP's MPS carries no sense HiGHS reads
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("time_limit", time_limit)
    if relaxation:
        h.setOptionValue("solve_relaxation", True)
    if start is not None:
        n = h.getNumCol()
        h.setSolution(n, np.arange(n, dtype=np.int32), np.array(start))
    began = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - began
    status = h.modelStatusToString(h.getModelStatus())
    return seconds, status, h.getInfo().objective_function_value, list(h.getSolution().col_value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--market", type=Path, help="a version-1.1 market file (default: a generated one)")
    parser.add_argument("--size", default="m", choices=["s", "m", "l"], help="generated size (default m)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per row (default 300)")
    parser.add_argument("--only", help="comma-separated row names")
    args = parser.parse_args(argv)
    if args.market is not None:
        doc = json.loads(args.market.read_text())
        name = args.market.name
    else:
        named = generator.size_named(args.size)
        doc = generator.generate(named.challenges, named.funders, named.actors, args.seed, None, named.competition,
                                 "1.1")
        name = f"generated {args.size.upper()}-1.1, seed {args.seed}"
    wanted = None if args.only is None else {w.strip() for w in args.only.split(",")}
    rows = [*VARIANTS, "root LP", "as is, from its optimum"]
    print(f"market: {name}; HiGHS {highspy.Highs().version()}, one thread, gap 0, "
          f"limit {args.time_limit:g} s per row\n")
    print("| row | variables | binaries | gates | engaged | seconds | status | value |")
    print("|---|---:|---:|---:|---:|---:|---|---:|")
    optimum: list[float] | None = None
    with tempfile.TemporaryDirectory() as folder:
        for row in rows:
            if wanted is not None and row not in wanted and not (row.startswith("as is") and "as is" in wanted):
                continue
            change = VARIANTS.get(row)
            variant = copy.deepcopy(doc)
            if change is not None:
                change(variant)
            path = Path(folder) / "model.mps"
            size = write_mps(variant, path)
            if row == "as is, from its optimum":
                if optimum is None:
                    continue                    # the first row did not run or did not finish
                seconds, status, value, _ = run_highs(path, args.time_limit, start=optimum)
            else:
                seconds, status, value, values = run_highs(path, args.time_limit, relaxation=row == "root LP")
                if row == "as is" and status == "Optimal":
                    optimum = values
            print(f"| {row} | {size['variables']:,} | {size['binaries']:,} | {size['gates']:,} | "
                  f"{size['engaged']:,} | {seconds:.1f} | {status} | {value:,.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
