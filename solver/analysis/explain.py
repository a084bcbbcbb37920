"""Why an allocation came out so, and what more money would buy.

- For each challenge not completed: the least extra money, as one unscoped pledge, that completes it while
  keeping the value already delivered. A MIP: the clearing model plus an unlimited unscoped pool whose
  payments are minimised, with done[challenge] = 1 and total value >= delivered value + the challenge's
  value. The amount is rounded up to the cent and checked by re-clearing the market with that pledge added.
- For each completed challenge: which pledges paid for it, and the slack of its reliability target.
- For each pledge with a version-1.1 limit (min_spend, max_challenge_share, conditions): what the limit did,
  whether each condition was met and where (pledge_notes.py). Only for such markets, so the explanation of a
  version-1 market is unchanged.
- For each pool of pledges: the marginal value of money, two ways. By re-solves (the pool's pledges scaled
  up by a step, the market re-cleared, value gained / money added): an exact finite difference of the MIP
  over that step. And the dual of the pool's amount row in the LP relaxation of the value phase (binaries
  relaxed to [0, 1]): an approximation, since completing a challenge is all or nothing.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import pulp

from .. import backends
from ..clearing import ClearOptions, clear
from ..eligibility import presolve
from ..market import Market, Pledge
from ..model import ClearingModel
from ..money import format_money, format_money_grouped
from ..outcome import Outcome
from ..pledge_notes import PledgeNote, pledge_notes
from ..pools import Pool, make_pools
from .common import QUIET, Progress, add_pledge, money_of

EXTRA_ID = "explain-extra"


@dataclass
class Extra:
    challenge: str
    value: float
    reason: str                           # the allocation's reason for not completing it
    cents: int | None = None              # None: no amount of unscoped money completes it
    pays_for: list[tuple[str, int]] = field(default_factory=list)   # component, cents of the extra money
    check: str = ""                       # what the re-clear with the extra pledge gave
    confirmed: bool = False


@dataclass
class Completed:
    challenge: str
    value: float
    cost: int
    paid_by: list[tuple[str, str, int]]   # pledge, funder, cents
    reliability: float
    target: float | None

    @property
    def slack(self) -> float | None:
        return None if self.target is None else self.reliability - self.target


@dataclass
class Marginal:
    pool: str
    pledges: list[str]
    amount: int
    step: int                             # cents added
    value_gain: float
    method: str
    lp_dual: float | None = None          # value per currency unit, LP relaxation (approximation)

    @property
    def per_unit(self) -> float:
        """Value per one currency unit added."""
        return self.value_gain / (self.step / 100) if self.step else 0.0


@dataclass
class Explanation:
    value: float
    extras: list[Extra]
    completed: list[Completed]
    marginals: list[Marginal]
    method: str
    pledges: tuple[PledgeNote, ...] = ()      # 1.1 markets only

    def to_document(self) -> dict[str, Any]:
        doc = {
            "value": self.value,
            "not_completed": [{"challenge": e.challenge, "value": e.value, "reason": e.reason,
                               "least_extra": None if e.cents is None else f"{e.cents / 100:.2f}",
                               "extra_pays_for": [{"component": k, "amount": f"{c / 100:.2f}"} for k, c in e.pays_for],
                               "check": e.check, "confirmed": e.confirmed} for e in self.extras],
            "completed": [{"challenge": c.challenge, "value": c.value, "cost": f"{c.cost / 100:.2f}",
                           "paid_by": [{"pledge": p, "funder": f, "amount": f"{a / 100:.2f}"} for p, f, a in c.paid_by],
                           "reliability": c.reliability, "target": c.target, "slack": c.slack}
                          for c in self.completed],
            "marginal_value_of_money": {
                "method": self.method,
                "pools": [{"pool": m.pool, "pledges": m.pledges, "amount": f"{m.amount / 100:.2f}",
                           "step": f"{m.step / 100:.2f}", "value_gain": m.value_gain,
                           "value_per_unit": m.per_unit, "lp_relaxation_dual_per_unit": m.lp_dual}
                          for m in self.marginals]},
        }
        if self.pledges:
            doc["pledges"] = [{"pledge": n.pledge, "funder": n.funder, "spent": format_money(n.spent),
                               "conditions": [{"funder": c.funder, "min": format_money(c.min),
                                               "met_in": list(c.met_in), "paid_into": list(c.paid_into)}
                                              for c in n.conditions],
                               "notes": list(n.notes)} for n in self.pledges]
        return doc


def least_extra(market: Market, challenge_id: str, keep_value: float, backend: str = "cbc"
                ) -> tuple[int | None, list[tuple[str, int]], float]:
    """Least unscoped money completing `challenge_id` with total value >= keep_value + its value.

    Returns (cents rounded up or None if impossible, components the extra money pays, model value)."""
    base = make_pools(market)
    extra = Pool(index=len(base), pledges=(Pledge(EXTRA_ID, EXTRA_ID, _enough(market)),), scope=None,
                 max_share=None, match=None)
    pools = base + (extra,)
    pre = presolve(market, pools)
    if challenge_id in pre.impossible_challenges:
        return None, [], 0.0
    model = ClearingModel(market, pools, pre)
    if challenge_id not in model.done:
        return None, [], 0.0
    challenge = next(c for c in market.challenges if c.id == challenge_id)
    integral = all(float(v).is_integer() for v in [c.value for c in market.challenges]
                   + [k.value for k in market.components])
    tolerance = 0.5 if integral else 1e-6
    model.prob += model.done[challenge_id] == 1, "explain_force_done"
    model.prob.addConstraint(pulp.LpConstraint(model.value, pulp.LpConstraintGE, "explain_keep_value",
                                               keep_value + challenge.value - tolerance))
    mine = {key: var for (p, key), var in model.pay.items() if p == extra.index}
    model.prob.sense = pulp.LpMinimize
    # Least extra money first; a tiny cost term picks the cheaper of equally cheap completions.
    model.prob.setObjective(pulp.lpSum(mine.values()) + 1e-7 * model.cost)
    report = backends.solve(model.prob, backend, time_limit=60)
    if not report.outcome.found:
        return None, [], 0.0
    paid = sum(max(v.varValue or 0.0, 0.0) for v in mine.values()) * model.money_unit
    cents = max(int(math.ceil(paid - 1e-4)), 0)
    per_component = model.component_pays(model.accepted())
    pays_for = sorted(((k, int(round(v))) for (p, k), v in per_component.items() if p == extra.index and v > 0.5),
                      key=lambda kv: (-kv[1], kv[0]))
    return cents, pays_for, float(pulp.value(model.value) or 0)


def _enough(market: Market) -> int:
    """Money enough to pay every bid: as good as unlimited, and small enough for the model's money unit.
    (An amount of 10^15 cents made the unit 10^11 cents, every price a coefficient under HiGHS's tolerance,
    and HiGHS then found the extra money needed to be 0.)"""
    return max(sum(b.price for b in market.bids), 1)


def _check(market: Market, challenge_id: str, cents: int, needed: float, backend: str) -> tuple[str, bool]:
    changed = add_pledge(market, max(cents, 1), None, EXTRA_ID, EXTRA_ID)
    again = clear(changed, ClearOptions(backend=backend, explain=False))
    done = {c.id for c in again.completed}
    if challenge_id in done:
        return (f"confirmed: re-clearing with an unscoped pledge of {format_money_grouped(cents)} completes it "
                f"(value {again.value:,})"), True
    if again.value >= needed - 1e-6:
        return (f"re-clearing with that pledge reaches value {again.value} (at least the {needed:g} it would "
                f"give) but prefers other challenges of equal or higher value: "
                f"{', '.join(sorted(done))}"), True
    return (f"not confirmed: re-clearing with that pledge gives value {again.value}, below {needed:g} "
            f"(rounding to cents or pledge limits)"), False


def lp_duals(market: Market, backend: str) -> dict[int, float | None]:
    """Per pool, the dual of its amount row in the LP relaxation of "most value": value per currency unit.

    An approximation (labelled so wherever shown): the relaxation may complete fractions of challenges."""
    pools = make_pools(market)
    model = ClearingModel(market, pools, presolve(market, pools))
    for var in model.prob.variables():
        if var.cat == pulp.LpInteger:
            var.cat = pulp.LpContinuous          # binaries keep their [0, 1] bounds
    model.prob.sense = pulp.LpMaximize
    model.prob.setObjective(model.value)
    report = backends.solve(model.prob, backend, time_limit=60)
    out: dict[int, float | None] = {}
    for pool in pools:
        row = model.prob.get_constraint_by_name(f"pledged_{pool.index}")
        if report.outcome != Outcome.OPTIMAL:
            out[pool.index] = None
        elif row is None:
            out[pool.index] = 0.0                # the pool can pay for nothing eligible
        else:
            # The row is in model money units of `money_unit` cents; a currency unit is 100 cents.
            pi = backends.dual(row)
            out[pool.index] = None if pi is None else abs(pi) * 100 / model.money_unit
    return out


def marginal_values(market: Market, base_value: float, step: float, backend: str,
                    progress: Progress = QUIET) -> list[Marginal]:
    pools = make_pools(market)
    progress.start("marginal value of money (re-solves)", len(pools))
    duals = lp_duals(market, backend)
    out = []
    for pool in pools:
        ids = {p.id for p in pool.pledges}
        added = 0
        funders = []
        for funder in market.funders:
            pledges = []
            for p in funder.pledges:
                if p.id in ids:
                    more = max(int(math.floor(p.amount * step + 0.5)), 1)
                    added += more
                    p = dataclasses.replace(p, amount=p.amount + more)
                pledges.append(p)
            funders.append(dataclasses.replace(funder, pledges=tuple(pledges)))
        again = clear(dataclasses.replace(market, funders=tuple(funders)), ClearOptions(backend=backend, explain=False))
        out.append(Marginal(pool.label(), [p.id for p in pool.pledges], pool.amount, added,
                            float(again.value) - base_value, f"re-solve, +{step:.0%}", duals.get(pool.index)))
        progress.advance()
    progress.stop()
    return out


def explain(market: Market, doc: dict[str, Any] | None = None, backend: str = "cbc", step: float = 0.10,
            progress: Progress = QUIET) -> Explanation:
    """`doc`: the allocation to explain (cleared here when None)."""
    progress.start("clearing", 1)
    cleared = clear(market, ClearOptions(backend=backend))
    progress.advance()
    progress.stop()
    if doc is None:
        doc = cleared.to_document()
    value = float(doc["value"])
    results = {c["id"]: c for c in doc["challenges"]}
    reasons = {u["challenge"]: "; ".join(u.get("reasons", [])) for u in doc.get("unfunded", [])}
    challenge_of = {k.key: c.id for c in market.challenges for k in c.components}
    todo = [c for c in market.challenges if not results[c.id]["completed"]]
    progress.start("least extra money per challenge", len(todo))
    extras = []
    for challenge in todo:
        entry = Extra(challenge.id, challenge.value, reasons.get(challenge.id, ""))
        cents, pays_for, _ = least_extra(market, challenge.id, value, backend)
        if cents is None:
            entry.check = "no amount of unscoped money completes it while keeping the value delivered"
        else:
            entry.cents, entry.pays_for = cents, pays_for
            entry.check, entry.confirmed = _check(market, challenge.id, cents, value + challenge.value, backend)
        extras.append(entry)
        progress.advance()
    progress.stop()
    completed = []
    targets = {c.id: c.reliability for c in market.challenges}
    for challenge in market.challenges:
        result = results[challenge.id]
        if not result["completed"]:
            continue
        paid: dict[tuple[str, str], int] = {}
        for flow in doc["flows"]:
            if challenge_of.get(flow["component"]) == challenge.id:
                key = (flow["pledge"], flow["funder"])
                paid[key] = paid.get(key, 0) + money_of(flow["amount"])
        completed.append(Completed(challenge.id, result["value"], money_of(result["cost"]),
                                   sorted(((p, f, a) for (p, f), a in paid.items()), key=lambda t: (-t[2], t[0])),
                                   float(result["reliability"]), targets[challenge.id]))
    marginals = marginal_values(market, float(cleared.value), step, backend, progress)
    method = (f"re-solve: each pool's pledges raised by {step:.0%} and the market re-cleared, value gained per "
              f"currency unit added (exact over that step); LP dual: the pool's amount row in the LP relaxation "
              f"(approximation)")
    return Explanation(value, extras, completed, marginals, method, pledge_notes(market, doc))
