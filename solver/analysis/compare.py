"""The market against what funders would do without it: pooled optimum, a greedy pooled heuristic, and
funders acting alone.

Both baselines are built from restricted clearings by the same engine, so every allocation they give is
a real `swarm-allocation/1` document that `verify_allocation` accepts:

- greedy: each challenge's cheapest complete cover is priced alone (unlimited money); challenges are
  taken in order of value per cost, each cleared on its own with the money, bids and actor capacity the
  earlier ones left, and kept when it completes. Within a step the money comes from the most narrowly
  scoped pledges first (a pledge that may pay for fewer components is used before a broader one), as a
  careful fund manager would; the step keeps the cheapest eligible bids.
- alone: pledge by pledge in market order, a market holding only that pledge and the challenges in its
  scope (minus those already done, bids already taken, actor capacity already used) is cleared optimally,
  as a separate grant programme would; there is no pooling across pledges.

Version 1.1, literally: each partial clearing keeps every rule, so a pledge's min_spend is met in the one
clearing it pays in, and its max_challenge_share and conditions in each challenge. Acting alone, a pledge
whose condition names another funder pays nothing (no other funder's money is in its programme: a funder
may not name itself); in the greedy baseline, where each challenge's step has every pledge's money left, a
condition holds when the named funder pays enough in that step. Fixed bids are contracted whatever funders
do: both baselines first clear the challenges the fixed bids touch, with all the money (as the contracts
were paid), then go on as above; when that cannot be done the baseline is infeasible, as the market is.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pulp

from .. import backends
import dataclasses

from ..allocation import Allocation, Unfunded, from_awards
from ..clearing import ClearOptions, assemble, clear
from ..eligibility import presolve
from ..market import Funder, Market, Pledge
from ..model import ClearingModel
from ..outcome import Outcome as SolverOutcome     # Outcome here is a baseline's
from ..pools import make_pools
from ..reasons import INFEASIBLE
from ..solution import read_solution
from .common import QUIET, Progress, Usage, build_allocation, submarket



@dataclass(frozen=True)
class Outcome:
    name: str
    allocation: Allocation
    pledged: int

    def metrics(self) -> dict[str, Any]:
        done = self.allocation.completed
        mean = sum(c.reliability for c in done) / len(done) if done else None
        return {"value": self.allocation.value, "completed": len(done), "challenges": len(self.allocation.challenges),
                "spent": self.allocation.spent, "idle": self.pledged - self.allocation.spent,
                "pledged": self.pledged, "mean_reliability": None if mean is None else round(mean, 6),
                "completed_ids": [c.id for c in done]}


def pooled(market: Market, backend: str = "cbc") -> Allocation:
    return clear(market, ClearOptions(backend=backend))


def cheapest_cover(market: Market, challenge_id: str, backend: str = "cbc") -> Allocation | None:
    """The challenge cleared alone with unlimited unscoped money and full actor capacity, or None."""
    sub = submarket(market, [challenge_id], [], Usage())
    # Enough to pay every bid here, so as good as unlimited; a huge amount would make the model's money unit
    # so large that HiGHS reads every price as 0 (see explain._enough).
    enough = max(sum(b.price for b in sub.bids), 1)
    rich = Market(challenges=sub.challenges, actors=sub.actors, name=market.name, currency=market.currency,
                  funders=(Funder("baseline-unlimited", (Pledge("baseline-unlimited", "baseline-unlimited",
                                                                enough),)),))
    part = clear(rich, ClearOptions(backend=backend, explain=False))
    return part if any(c.completed for c in part.challenges) else None


def _contracted(market: Market, backend: str, usage: Usage) -> bool:
    """Clear the challenges the fixed bids touch first, with all the money (1.1), paid by the most narrowly
    scoped pledges first as in the greedy steps (so the same on every backend); False when that is
    infeasible. Nothing to do, and True, without fixed bids."""
    fixed = [b for b in market.bids if b.fixed]
    if not fixed:
        return True
    challenge_of = {k.key: k.challenge_id for k in market.components}
    touched = {challenge_of[i.component] for b in fixed for i in b.items}
    sub = submarket(market, touched, market.pledges, usage)
    part = clear(sub, ClearOptions(backend=backend, explain=False))
    if part.status == "infeasible":
        return False
    usage.take(market, _narrow_money_first(sub, part, _breadth(market), backend))
    return True


def _breadth(market: Market) -> dict[str, int]:
    """Pledge id -> how many components it may pay for."""
    return {p.id: sum(1 for c in market.challenges for k in c.components if p.admits(c, k)) for p in market.pledges}


def _infeasible(market: Market, name: str, started: float) -> Allocation:
    built = from_awards(market, [], {}, "infeasible")
    return dataclasses.replace(built, unfunded=tuple(Unfunded(c.id, (INFEASIBLE,)) for c in market.challenges),
                               solver={"backend": name, "seconds": round(time.perf_counter() - started, 3)})


def greedy(market: Market, backend: str = "cbc", progress: Progress = QUIET) -> Allocation:
    started = time.perf_counter()
    usage = Usage()
    if not _contracted(market, backend, usage):
        return _infeasible(market, f"greedy baseline ({backend})", started)
    pre = presolve(market, make_pools(market))
    candidates = [c for c in market.challenges if c.id not in pre.impossible_challenges and c.id not in usage.done]
    progress.start("greedy pooled heuristic", 2 * len(candidates))
    ranked = []
    for n, challenge in enumerate(candidates):
        cover = cheapest_cover(market, challenge.id, backend)
        progress.advance()
        if cover is None or not cover.value:
            progress.advance()
            continue
        ratio = float("inf") if cover.cost == 0 else float(cover.value) / cover.cost
        ranked.append((-ratio, n, challenge.id))
    ranked.sort()
    breadth = _breadth(market)
    for _, _, cid in ranked:
        sub = submarket(market, [cid], market.pledges, usage)
        part = clear(sub, ClearOptions(backend=backend, explain=False))
        if any(c.completed for c in part.challenges):
            usage.take(market, _narrow_money_first(sub, part, breadth, backend))
        progress.advance()
    progress.stop()
    return build_allocation(
        market, usage.bids, usage.flows, status="feasible",
        solver={"backend": f"greedy baseline ({backend})", "seconds": round(time.perf_counter() - started, 3),
                "order": [cid for _, _, cid in ranked]},
        why_not="greedy baseline: when its turn came (by value per cost) the money, bids and actor capacity "
                "left could not complete it")


def _narrow_money_first(sub: Market, part: Allocation, breadth: dict[str, int], backend: str) -> Allocation:
    """The same bids as `part`, paid preferably by the pledges admitting the fewest components."""
    pools = make_pools(sub)
    pre = presolve(sub, pools)
    model = ClearingModel(sub, pools, pre)
    accepted = {a.bid for a in part.awards}
    for n, (bid_id, var) in enumerate(model.accept.items()):
        model.prob += var == (1 if bid_id in accepted else 0), f"greedy_fix_{n}"
    weight = {pool.index: max(breadth.get(pl.id, 1) for pl in pool.pledges) for pool in pools}
    model.prob.sense = pulp.LpMinimize
    model.prob.setObjective(pulp.lpSum(weight[p] * var for (p, _), var in model.pay.items()))
    report = backends.solve(model.prob, backend, time_limit=30)
    if not report.outcome.found:
        return part
    return assemble(sub, pools, pre, read_solution(model), SolverOutcome.OPTIMAL)


def alone(market: Market, backend: str = "cbc", progress: Progress = QUIET) -> Allocation:
    started = time.perf_counter()
    usage = Usage()
    if not _contracted(market, backend, usage):
        return _infeasible(market, f"alone baseline ({backend})", started)
    pledges = market.pledges
    progress.start("alone: one grant programme per pledge", len(pledges))
    for pledge in pledges:
        scope = [c.id for c in market.challenges if any(pledge.admits(c, k) for k in c.components)]
        sub = submarket(market, scope, [pledge], usage)
        if sub.challenges and sub.funders:
            part = clear(sub, ClearOptions(backend=backend, explain=False))
            usage.take(market, part)
        progress.advance()
    progress.stop()
    return build_allocation(
        market, usage.bids, usage.flows, status="feasible",
        solver={"backend": f"alone baseline ({backend})", "seconds": round(time.perf_counter() - started, 3)},
        why_not="funders alone: no single pledge could complete it within its scope with the bids and actor "
                "capacity the earlier pledges left")


def compare(market: Market, backend: str = "cbc", progress: Progress = QUIET) -> dict[str, Outcome]:
    pledged = sum(p.amount for p in market.pledges)
    progress.start("pooled optimum", 1)
    first = pooled(market, backend)
    progress.advance()
    progress.stop()
    return {"pooled": Outcome("pooled", first, pledged),
            "greedy": Outcome("greedy", greedy(market, backend, progress), pledged),
            "alone": Outcome("alone", alone(market, backend, progress), pledged)}
