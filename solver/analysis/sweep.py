"""Many independent clearings of one market, run in parallel with Dask distributed.

Scenarios: pledges scaled by each factor of a range, a challenge's reliability target set to each value of
a range, and each actor dropped in turn. Each scenario is one task on a worker process (a local cluster
by default, or an existing scheduler); tasks only import `solver`, so remote workers need the project
installed. Rows come back in scenario order whatever order the workers finish in.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from ..clearing import ClearOptions, clear
from ..market import Market
from .common import QUIET, AnalysisError, Progress, drop_actor, scale_pledges, set_target

QUIET_LOGGERS = ("distributed", "distributed.scheduler", "distributed.nanny", "distributed.core",
                 "distributed.worker", "distributed.http.proxy")


@dataclass(frozen=True)
class Scenario:
    kind: str               # "scale-pledges", "target", "drop-actor", "base"
    parameter: str          # factor, "challenge=R" or actor id
    number: float | None = None

    @property
    def label(self) -> str:
        return self.kind if self.kind == "base" else f"{self.kind} {self.parameter}"


def scenarios(market: Market, scales: list[float], targets: list[tuple[str, list[float]]],
              drop_each_actor: bool) -> list[Scenario]:
    out = [Scenario("scale-pledges", f"{f:g}", f) for f in scales]
    ids = {c.id for c in market.challenges}
    for cid, values in targets:
        if cid not in ids:
            raise AnalysisError(f"--target-range: unknown challenge {cid!r}")
        for value in values:
            if not (0 < value <= 1):
                raise AnalysisError(f"--target-range {cid}: reliability {value:g} is not in (0, 1]")
            out.append(Scenario("target", f"{cid}={value:g}", value))
    if drop_each_actor:
        out.extend(Scenario("drop-actor", a.id) for a in market.actors)
    for s in out:
        if s.kind == "scale-pledges" and (s.number is None or s.number <= 0):
            raise AnalysisError(f"--scale-pledges: factor {s.parameter} must be above 0")
    if not out:
        raise AnalysisError("no scenario: give --scale-pledges, --target-range or --drop-each-actor")
    return out


def run_scenario(market: Market, scenario: Scenario, backend: str = "cbc") -> dict[str, Any]:
    """One clearing; runs on a Dask worker (module-level, so it pickles by reference)."""
    started = time.perf_counter()
    if scenario.kind == "scale-pledges":
        changed = scale_pledges(market, float(scenario.number or 0))
    elif scenario.kind == "target":
        cid = scenario.parameter.rsplit("=", 1)[0]
        changed = set_target(market, cid, scenario.number)
    elif scenario.kind == "drop-actor":
        changed = drop_actor(market, scenario.parameter)
    else:
        changed = market
    allocation = clear(changed, ClearOptions(backend=backend, explain=False))
    pledged = sum(p.amount for p in changed.pledges)
    return {"scenario": scenario.label, "kind": scenario.kind, "parameter": scenario.parameter,
            "pledged": pledged, "value": allocation.value, "completed": len(allocation.completed),
            "completed_ids": [c.id for c in allocation.completed], "spent": allocation.spent,
            "idle": pledged - allocation.spent, "status": allocation.status,
            "seconds": round(time.perf_counter() - started, 3)}


def run_local(market: Market, todo: list[Scenario], backend: str = "cbc",
              progress: Progress = QUIET) -> list[dict[str, Any]]:
    """The same clearings in this process, one after another (for tests and small sweeps)."""
    progress.start("sweep (in process)", len(todo))
    rows = []
    for scenario in todo:
        rows.append(run_scenario(market, scenario, backend))
        progress.advance()
    progress.stop()
    return rows


def run_dask(market: Market, todo: list[Scenario], backend: str = "cbc", workers: int = 2,
             scheduler: str | None = None, progress: Progress = QUIET) -> list[dict[str, Any]]:
    """The clearings as Dask tasks: on a new local cluster of `workers` processes (one thread each), or on
    the cluster whose scheduler is at `scheduler`. Client and cluster are closed in that order."""
    from dask.distributed import as_completed

    with _connect(workers, scheduler) as client:
        shared = client.scatter(market, broadcast=True)
        futures = [client.submit(run_scenario, shared, s, backend, key=f"swarm-sweep-{n}", pure=False)
                   for n, s in enumerate(todo)]
        index = {f.key: n for n, f in enumerate(futures)}
        rows: list[dict[str, Any] | None] = [None] * len(todo)
        progress.start(f"sweep on {_where(client)}", len(todo))
        try:
            for future in as_completed(futures):
                rows[index[future.key]] = future.result()
                progress.advance()
        finally:
            progress.stop()
            client.cancel(futures)
    return [r for r in rows if r is not None]


def _where(client: Any) -> str:
    return f"{len(client.scheduler_info().get('workers', {}))} Dask worker(s)"


class _connect:
    """A Client on a new LocalCluster (closed afterwards: client first, then cluster) or an existing one."""

    def __init__(self, workers: int, scheduler: str | None) -> None:
        self.workers, self.scheduler = workers, scheduler
        self.cluster: Any = None
        self.client: Any = None

    def __enter__(self) -> Any:
        from dask.distributed import Client, LocalCluster
        # Dask's scheduler and nannies log every step at INFO; keep the analyst's terminal to the table.
        self.saved_levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        if self.scheduler:
            try:
                self.client = Client(self.scheduler, timeout="5s")
            except (OSError, TimeoutError) as exc:
                raise AnalysisError(f"cannot reach the Dask scheduler at {self.scheduler}: {exc}") from None
            return self.client
        self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                    host="127.0.0.1", scheduler_port=0, dashboard_address="127.0.0.1:0",
                                    silence_logs=logging.WARNING)
        self.client = Client(self.cluster)
        return self.client

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        for name, level in getattr(self, "saved_levels", {}).items():
            logging.getLogger(name).setLevel(level)

