"""Monte-Carlo delivery: draw which accepted bids deliver (independently, each with its reliability, as the
spec's reliability rule assumes) and count what each challenge then delivers.

A component is delivered when the accepted quantity of its delivering bids covers its need; a challenge is
completed when all its critical components are delivered, and then delivers its value plus the values of
its delivered non-critical components. Seeded: the same market, allocation, runs and seed give the same
figures.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from ..market import Market
from .common import QUIET, AnalysisError, Progress
from .repair import Repairer

CHUNK = 500


@dataclass
class ChallengeOdds:
    challenge: str
    planned_value: float
    target: float | None
    reliability: float                 # product of the accepted bids' reliabilities (the spec's measure)
    completed: int                     # runs in which it was completed
    values: list[float]                # delivered value per run, sorted

    def probability(self, runs: int) -> float:
        return self.completed / runs if runs else 0.0

    def quantile(self, q: float) -> float:
        if not self.values:
            return 0.0
        return self.values[min(int(q * len(self.values)), len(self.values) - 1)]

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values) if self.values else 0.0


@dataclass
class Simulation:
    runs: int
    seed: int
    planned: float
    totals: list[float]                # total delivered value per run, sorted
    challenges: list[ChallengeOdds]

    def quantile(self, q: float) -> float:
        return self.totals[min(int(q * len(self.totals)), len(self.totals) - 1)] if self.totals else 0.0

    def to_document(self) -> dict[str, Any]:
        n = self.runs
        return {
            "runs": n, "seed": self.seed, "planned_value": self.planned,
            "total": {"mean": sum(self.totals) / n if n else 0.0, "p5": self.quantile(0.05),
                      "p50": self.quantile(0.5), "p95": self.quantile(0.95),
                      "all_delivered": sum(1 for t in self.totals if t >= self.planned - 1e-9) / n if n else 0.0},
            "challenges": [{"challenge": c.challenge, "target": c.target, "reliability": c.reliability,
                            "p_completed": c.probability(n),
                            "stderr": math.sqrt(c.probability(n) * (1 - c.probability(n)) / n) if n else 0.0,
                            "planned_value": c.planned_value, "mean_value": c.mean,
                            "p5": c.quantile(0.05), "p50": c.quantile(0.5), "p95": c.quantile(0.95)}
                           for c in self.challenges],
        }


def simulate(market: Market, doc: dict[str, Any], runs: int = 10000, seed: int = 0,
             progress: Progress = QUIET, repair: bool = False,
             reliabilities: dict[str, float] | None = None, standby_percent: int = 100) -> Simulation:
    """`repair`: a failed accepted bid is replaced by re-clearing the challenges it touches with the losing bids
    standing by (solver/analysis/repair.py), whose own delivery is drawn in turn. `reliabilities`: per actor id,
    the reliability its bids fail by (a track record, `swarm repair records --json`) instead of the market's.
    `standby_percent`: standby bids stand by at this share of their own prices (a standby price)."""
    if runs < 1:
        raise AnalysisError(f"--runs {runs}: must be at least 1")
    bids = {b.id: b for b in market.bids}
    accepted = [bids[a["bid"]] for a in doc.get("awards", [])]
    given = reliabilities or {}

    def odds_of(bid: Any) -> float:
        return float(given.get(bid.actor_id, bid.reliability))

    repairer = Repairer(market, doc, standby_percent=standby_percent) if repair else None
    standby_rng = random.Random(seed + 1_000_003)      # its own draws: the same runs fail with or without repair
    results = {r["id"]: r for r in doc["challenges"]}
    done = [c for c in market.challenges if results[c.id].get("completed")]
    # Per completed challenge: its components with the accepted (bid index, quantity) on each.
    plans = []
    for challenge in done:
        parts = []
        for k in challenge.components:
            supply = [(n, item.quantity) for n, bid in enumerate(accepted) for item in bid.items
                      if item.component == k.key]
            parts.append((k, supply))
        reliability = float(results[challenge.id].get("reliability", 1.0))
        planned = challenge.value + sum(k.value for k, supply in parts
                                        if not k.critical and sum(q for _, q in supply) >= k.quantity)
        plans.append((challenge, parts, reliability, planned))
    rng = random.Random(seed)
    odds = [ChallengeOdds(c.id, planned, c.reliability, rel, 0, []) for c, _, rel, planned in plans]
    totals: list[float] = []
    draws = [odds_of(b) for b in accepted]
    done_ids = {c.id for c in done}
    touches = [sorted({item.component.split("/", 1)[0] for item in b.items} & done_ids) for b in accepted]
    progress.start(f"simulating {runs} runs" + (" with repairs" if repair else ""), runs)
    for start in range(0, runs, CHUNK):
        for _ in range(start, min(start + CHUNK, runs)):
            delivered = [rng.random() < r for r in draws]
            extra: dict[str, int] = {}
            if repairer is not None and not all(delivered):
                for challenges, failed in _groups([(accepted[n].id, touches[n])
                                                   for n, ok in enumerate(delivered) if not ok]):
                    repaired = repairer.repair(challenges, failed)
                    for bid_id in () if repaired is None else repaired.called:
                        if standby_rng.random() < odds_of(bids[bid_id]):
                            for item in bids[bid_id].items:
                                extra[item.component] = extra.get(item.component, 0) + item.quantity
            total: float = 0
            for entry, (challenge, parts, _, _) in zip(odds, plans):
                got = {k.key: sum(q for n, q in supply if delivered[n]) + extra.get(k.key, 0) >= k.quantity
                       for k, supply in parts}
                value: float = 0
                if all(got[k.key] for k, _ in parts if k.critical):
                    entry.completed += 1
                    value = challenge.value + sum(k.value for k, _ in parts if not k.critical and got[k.key])
                entry.values.append(value)
                total += value
            totals.append(total)
        progress.advance(min(CHUNK, runs - start))
    progress.stop()
    for entry in odds:
        entry.values.sort()
    totals.sort()
    return Simulation(runs, seed, sum(p for *_, p in plans), totals, odds)


def _groups(failed: list[tuple[str, list[str]]]) -> list[tuple[frozenset[str], frozenset[str]]]:
    """The failed bids' completed challenges, joined where one bid touches several: each group is repaired as one
    market (its challenges, the failed bids on them), in a fixed order."""
    groups: list[tuple[set[str], set[str]]] = []
    for bid, challenges in failed:
        if not challenges:
            continue
        joined = ({*challenges}, {bid})
        for group in [g for g in groups if g[0] & joined[0]]:
            groups.remove(group)
            joined[0].update(group[0])
            joined[1].update(group[1])
        groups.append(joined)
    return sorted(((frozenset(c), frozenset(b)) for c, b in groups), key=lambda g: sorted(g[0]))
