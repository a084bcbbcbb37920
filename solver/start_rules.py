"""Whether a start (the greedy's or the relaxation's) keeps version 1.1's rules 8 and 9.

A start is handed to the solver as a warm start and kept as the answer when a time limit stops the
search before anything better: a start that breaks a rule would be an allocation that breaks it. The
greedy start keeps rules 1-7 by construction (greedy.py, tests/solver/test_greedy.py) and the
relaxation's is the model's own solution; this checks the 1.1 rules again, on the start's money per
(pool, component), counted from the market rather than from the model's rows:

- rule 8, `min_spend`: a pledge's pools pay nothing or at least `min_spend` in total;
- rule 8, `max_challenge_share`: into each challenge, at most share x the accepted prices on its
  components (the challenge's cost);
- rule 8, conditions: into each challenge the pledge pays, the named funder's pledges pay at least
  `min`; a pool of several funders' pledges counts for each in proportion to its amount (the split
  of flows.py); a pool's pledges split its money in proportion to their amounts;
- rule 9: every bid the model fixes (the market's fixed bids, or a "what if"'s: model.fixed) with an
  item on the model's challenges is accepted.

`tolerance` is in cents: 0 for the greedy's whole cents (conditions then count only pools whose every
pledge is the named funder's, which pay exactly that after the split), more for real-valued flows.
A pledge with a 1.1 limit is never pooled (pools.py), so its pool is the pledge.
"""
from __future__ import annotations

from .market import Pledge
from .model import ClearingModel
from .solution import Solution


def start_problems(model: ClearingModel, solution: Solution, tolerance: float = 0.0) -> list[str]:
    """What in `solution` breaks rule 8 or 9 (empty when nothing does)."""
    problems: list[str] = []
    accepted = {b.id for b in solution.accepted}
    scope = model.restrictions.challenges
    for bid in model.market.bids:
        if bid.id in model.fixed and bid.id not in accepted and (
                scope is None or any(item.component.partition("/")[0] in scope for item in bid.items)):
            problems.append(f"fixed bid {bid.id} not accepted")
    limited = [pool for pool in model.pools if pool.pledges[0].conditional]
    if not limited:
        return problems
    challenge_of = model.challenge_of
    cost: dict[str, int] = {}
    for bid in solution.accepted:
        for item in bid.items:
            cid = item.component.partition("/")[0]
            cost[cid] = cost.get(cid, 0) + item.price
    pool_in: dict[tuple[int, str], float] = {}
    for (p, key), cents in solution.pays.items():
        cid = challenge_of.get(key, key.partition("/")[0])
        pool_in[p, cid] = pool_in.get((p, cid), 0.0) + cents
    funder_in = _funders_in(model, pool_in, exact=tolerance == 0)
    for pool in limited:
        pledge = pool.pledges[0]
        paid = {cid: x for (p, cid), x in pool_in.items() if p == pool.index and x > tolerance}
        total = sum(paid.values())
        if pledge.min_spend is not None and total > tolerance and total < pledge.min_spend - tolerance:
            problems.append(f"pledge {pledge.id} pays {total:g}, below its min_spend {pledge.min_spend}")
        for cid, x in paid.items():
            problems.extend(_in_challenge(pledge, cid, x, cost.get(cid, 0), funder_in, tolerance))
    return problems


def _in_challenge(pledge: Pledge, cid: str, paid: float, cost: int, funder_in: dict[tuple[str, str], float],
                  tolerance: float) -> list[str]:
    out = []
    share = pledge.max_challenge_share
    if share is not None and paid > share * cost + tolerance:
        out.append(f"pledge {pledge.id} pays {paid:g} into {cid}, above {share:g} of its cost {cost}")
    for condition in pledge.conditions:
        if funder_in.get((condition.funder_id, cid), 0.0) < condition.min - tolerance:
            out.append(f"pledge {pledge.id} pays into {cid} but funder {condition.funder_id} pays less than "
                       f"{condition.min} there")
    return out


def _funders_in(model: ClearingModel, pool_in: dict[tuple[int, str], float], exact: bool
                ) -> dict[tuple[str, str], float]:
    """What each funder's pledges pay into each challenge. `exact`: only pools of one funder count (their
    whole-cent money is the funder's to the cent); else every pool, in proportion to amounts."""
    funder_of = {pledge.id: funder.id for funder in model.market.funders for pledge in funder.pledges}
    out: dict[tuple[str, str], float] = {}
    for (p, cid), x in pool_in.items():
        pool = model.pools[p]
        owners = {funder_of[pledge.id] for pledge in pool.pledges}
        if exact and len(owners) > 1:
            continue
        amount = pool.amount
        for pledge in pool.pledges:
            part = x if len(pool.pledges) == 1 else (x * pledge.amount / amount if amount else 0.0)
            key = (funder_of[pledge.id], cid)
            out[key] = out.get(key, 0.0) + part
    return out
