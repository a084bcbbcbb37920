"""Clearing independent parts (decompose.py) apart, in this process or in worker processes.

Parts share no row, so the whole optimum is the parts' optima side by side; small
parts share a model, and big ones go to worker processes when cores are free.

A clearing followed by a progress listener (progress.py) says which part it is at; in worker processes
the listener cannot follow the solves, so it hears as parts finish, and a cancel reaches the workers'
solves through an event they share (then the workers are ended, and their CBC with them).
"""
from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.synchronize
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from . import backends, parent_death, progress
from .budget import Budget
from .eligibility import Presolve
from .market import Market
from .model import ClearingModel, Restrictions
from .outcome import Outcome
from .phases import Phase, merged
from .pools import Pool
from .solution import Solution
from .solving import ClearingError, ClearOptions, SolveResult, solve_lexicographic

logger = logging.getLogger(__name__)


# With workers None, worker processes only when the models other than the largest have this many live
# bids: that is all the work they can overlap, and a worker (a fresh interpreter importing PuLP and
# HiGHS) takes about 0.5 s to start, about what 250 bids take to clear (the water market's 73: 0.15 s).
PARALLEL_BIDS = 250
# Parts below BATCH_BIDS live bids share a model with the next ones, up to that many bids: every solve
# costs milliseconds however small (CBC is a subprocess). 300 parts of 5 bids with CBC: 2.9 s one by
# one, 0.6 s in models of 50 bids, 0.4 s as one model; but ten 73-bid water markets: 0.8 s apart,
# 1.1 s in models of 100 bids, 30 s as one model. Parts side by side in one model keep their optima.
BATCH_BIDS = 50
# Followed: how often the wait for the workers asks the listener whether to stop; once cancelled, how long
# the workers' solves get to stop (a CBC within a fraction of a second, HiGHS at its next check) before the
# workers are killed (their CBC dies with them: parent_death.py).
FOLLOW_SECONDS = 0.2
STOP_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class _PartResult:
    """One model's clearing as plain data, so it crosses from a worker process as is."""
    accepted: tuple[str, ...]                   # bid ids
    pays: dict[tuple[int, str], float]
    status: Outcome
    phases: tuple[Phase, ...]
    size: dict[str, int]                        # the model's size(), its challenges and eligible bids
    build_seconds: float
    solve_seconds: float


def batches(market: Market, pre: Presolve, parts: tuple[tuple[str, ...], ...]
             ) -> list[tuple[tuple[str, ...], int]]:
    """The models to clear, as (challenge ids, live bids): each part of BATCH_BIDS live bids or more
    alone, the smaller ones in their order filled into shared models of about BATCH_BIDS bids."""
    part_of = {cid: n for n, part in enumerate(parts) for cid in part}
    challenge_of = {k.key: k.challenge_id for k in market.components}
    counts = [0] * len(parts)
    for bid in pre.live_bids:                   # a live bid lies inside one part
        counts[part_of[challenge_of[bid.items[0].component]]] += 1
    out: list[tuple[tuple[str, ...], int]] = []
    batch: list[str] = []
    held = 0
    for part, count in zip(parts, counts):
        if count >= BATCH_BIDS:
            out.append((part, count))
            continue
        batch.extend(part)
        held += count
        if held >= BATCH_BIDS:
            out.append((tuple(batch), held))
            batch, held = [], 0
    if batch:
        out.append((tuple(batch), held))
    return out


@dataclass(frozen=True, slots=True)
class PartsResult(SolveResult):
    """The models' results merged: the whole market's solution, the worst status, each phase merged over
    the models that ran it; their size, and build and solve seconds summed over models (so above the
    wall time when models run in parallel)."""
    size: dict[str, Any]
    build_seconds: float                # with the time to split the market into parts
    solve_seconds: float


def solve_parts(market: Market, pools: tuple[Pool, ...], pre: Presolve,
                models: list[tuple[tuple[str, ...], int]], options: ClearOptions, started: float, budget: Budget
                ) -> PartsResult:
    """Clear each model alone, each within what is left of `budget`, and merge."""
    split_seconds = time.perf_counter() - started
    results = _run_parts(market, pools, pre, models, options, budget)
    accepted = {bid_id for r in results for bid_id in r.accepted}
    pays: dict[tuple[int, str], float] = {}
    for r in results:
        pays.update(r.pays)                     # each pool and component is in one model only
    solution = Solution([b for b in pre.live_bids if b.id in accepted], pays)
    status = Outcome.OPTIMAL if all(r.status == Outcome.OPTIMAL for r in results) else Outcome.FEASIBLE
    size: dict[str, Any] = {k: sum(r.size[k] for r in results) for k in ("variables", "constraints", "binaries")}
    size["eligible_bids"] = sum(r.size["bids"] for r in results)
    size["models"] = len(results)
    size["largest_model"] = max((r.size for r in results), key=lambda s: s["variables"])
    logger.info("model: %(models)d models, %(variables)d variables, %(constraints)d constraints", size)
    return PartsResult(solution, status, _merge_phases(results), size,
                       split_seconds + sum(r.build_seconds for r in results), sum(r.solve_seconds for r in results))


def _merge_phases(results: list[_PartResult]) -> tuple[Phase, ...]:
    """Each phase merged over the models that ran it (phases.merged), in the order they ran: a phase
    only some models run keeps its place among the others."""
    runs: dict[str, list[Phase]] = {}
    order: list[str] = []
    for r in results:
        names = [phase.name for phase in r.phases]
        for i, phase in enumerate(r.phases):
            if phase.name not in runs:
                later = [order.index(n) for n in names[i + 1:] if n in runs]
                order.insert(later[0] if later else len(order), phase.name)
                runs[phase.name] = []
            runs[phase.name].append(phase)
    return tuple(merged(runs[name]) for name in order)


def _run_parts(market: Market, pools: tuple[Pool, ...], pre: Presolve, models: list[tuple[tuple[str, ...], int]],
               options: ClearOptions, budget: Budget) -> list[_PartResult]:
    """Each model's result, in order, whichever process cleared it: the same either way."""
    results: dict[int, _PartResult] = {}
    if _in_parallel(models, options):
        try:
            _run_in_workers(market, pools, pre, models, options, budget, results)
        except (BrokenProcessPool, OSError) as exc:
            logger.warning("worker processes failed (%s); clearing the remaining parts in this process", exc)
    for n, (challenges, _) in enumerate(models):
        if n not in results:
            with progress.within(f"part {n + 1} of {len(models)}"):
                results[n] = _solve_part(market, pools, pre, challenges, options, budget)
    return [results[n] for n in range(len(models))]


def _in_parallel(models: list[tuple[tuple[str, ...], int]], options: ClearOptions) -> bool:
    """Whether to clear the models in worker processes: with `workers` given, whenever it is above 1;
    with None, when cores are free and the models besides the largest have PARALLEL_BIDS bids."""
    workers = options.workers if options.workers is not None else _free_cores()
    if workers < 2 or multiprocessing.current_process().daemon:
        return False                            # a daemonic process (a Dask or pool worker) may not fork
    bids = [count for _, count in models]
    return options.workers is not None or sum(bids) - max(bids) >= PARALLEL_BIDS


def _free_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))     # the cores this process may run on (Linux)
    except AttributeError:
        return os.cpu_count() or 1


def _run_in_workers(market: Market, pools: tuple[Pool, ...], pre: Presolve,
                    models: list[tuple[tuple[str, ...], int]], options: ClearOptions, budget: Budget,
                    results: dict[int, _PartResult]) -> None:
    """Clear the models in worker processes, the largest first (the last to start are short), into `results`.

    "spawn", not fork: HiGHS keeps a thread scheduler per process, unsafe to copy once started. The
    market, its pools and presolve cross once per worker (its initializer); each model crosses as its
    challenge ids and a deadline on the wall clock, the one clock that processes share.
    """
    workers = min(options.workers or _free_cores(), len(models))
    deadline = budget.deadline()
    listener = progress.current()
    context = multiprocessing.get_context("spawn")
    stop = context.Event() if listener is not None else None
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                                   initargs=(market, pools, pre, options, os.getpid(), stop))
    try:
        progress.stage(progress.VALUE, f"{len(models)} parts in {workers} worker processes")
        futures: dict[Future[_PartResult], int] = {
            executor.submit(_solve_part_in_worker, models[n][0], deadline): n
            for n in sorted(range(len(models)), key=lambda n: -models[n][1])}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, None if listener is None else FOLLOW_SECONDS, FIRST_COMPLETED)
            for future in sorted(done, key=futures.__getitem__):
                results[futures[future]] = future.result()
            if done:
                progress.stage(progress.VALUE, f"{len(results)} of {len(models)} parts done")
            progress.check(listener)
    except progress.Cancelled:
        if stop is not None:
            _stop_workers(executor, stop)
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _stop_workers(executor: ProcessPoolExecutor, stop: multiprocessing.synchronize.Event) -> None:
    """Stop the workers' solves, and then the workers: those still running after STOP_SECONDS are killed."""
    processes = list((executor._processes or {}).values())  # no public way to end them before Python 3.14
    stop.set()
    executor.shutdown(wait=False, cancel_futures=True)
    waited_until = time.monotonic() + STOP_SECONDS
    for process in processes:
        process.join(max(waited_until - time.monotonic(), 0.0))
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join()


def _solve_part(market: Market, pools: tuple[Pool, ...], pre: Presolve, part: tuple[str, ...],
                options: ClearOptions, budget: Budget) -> _PartResult:
    """One model over some parts (Restrictions keeps only their challenges, bids, pay and rows)."""
    begun = time.perf_counter()
    model = ClearingModel(market, pools, pre, Restrictions(challenges=frozenset(part)))
    size = {**model.size(), "challenges": len(model.challenges), "bids": len(model.bids)}
    built = time.perf_counter()
    try:
        solved = solve_lexicographic(model, options, budget)
    except backends.BackendError as exc:
        raise ClearingError(str(exc)) from None
    return _PartResult(tuple(b.id for b in solved.solution.accepted), solved.solution.pays, solved.status,
                       solved.phases, size, built - begun, time.perf_counter() - built)


_worker_market: tuple[Market, tuple[Pool, ...], Presolve, ClearOptions] | None = None
_worker_stop: _StopWhenSet | None = None


class _StopWhenSet:
    """A worker's progress listener: it hears nothing, and asks the solves to stop once the clearing is
    cancelled (the event set by the process clearing the market)."""

    def __init__(self, stop: multiprocessing.synchronize.Event) -> None:
        self.stop = stop

    def stage(self, name: str, detail: str | None) -> None:
        pass

    def search(self, incumbent: float | None, bound: float | None) -> None:
        pass

    def stop_requested(self) -> bool:
        return self.stop.is_set()


def _start_worker(market: Market, pools: tuple[Pool, ...], pre: Presolve, options: ClearOptions,
                  parent: int, stop: multiprocessing.synchronize.Event | None = None) -> None:
    """Runs once in each worker process: what every model there starts from. The worker dies with the
    process clearing the market (parent_death.py): killed, it would leave the worker waiting for work,
    and solving, for ever. `stop` is set when a followed clearing is cancelled."""
    parent_death.die_with_parent(parent)
    global _worker_market, _worker_stop
    _worker_market = (market, pools, pre, options)
    _worker_stop = _StopWhenSet(stop) if stop is not None else None
    backends.use_one_thread()                   # the other workers have the other cores


def _solve_part_in_worker(part: tuple[str, ...], deadline: float | None) -> _PartResult:
    assert _worker_market is not None, "worker started without its market"
    market, pools, pre, options = _worker_market
    with progress.following(_worker_stop):
        return _solve_part(market, pools, pre, part, options, Budget.until(deadline))
