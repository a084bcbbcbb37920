"""Rounding pool payments to whole cents when money is scarce, and splitting pools to pledges.

With many pools spent to the cent, largest-remainder rounding per component pushes some pools a cent
over and the single-cent repair finds no pool with room on the same component; the rounding then goes
through the transportation program (whole by total unimodularity) or, with matching, the integer program
in HiGHS, before the PuLP/CBC program of last resort.
"""
from __future__ import annotations

import math
import random

import pytest

from solver import backends, flows
from solver.market import Pledge
from solver.pools import Pool

pytestmark = pytest.mark.skipif(not backends.available("highs"), reason="needs highspy")


def _pool(i: int, amount: int, match: float | None = None, max_share: float | None = None) -> Pool:
    return Pool(index=i, pledges=(Pledge(id=f"p{i}", funder_id="f", amount=amount, match=match,
                                         max_share=max_share),), scope=None, max_share=max_share, match=match)


def _tight_market(seed: int, matching: bool = False):
    """Every pool spent to the cent by fractional payments: whole payments moved around cycles
    (+f on (p1, k1) and (p2, k2), -f on (p1, k2) and (p2, k1)) keep every row and column total whole."""
    rng = random.Random(seed)
    # Pools in a row, each pair of neighbours sharing three components: a cent can only move along the row.
    n_pools = rng.randint(4, 9)
    keys = [f"C{j}/k{j}{side}" for j in range(n_pools - 1) for side in "abc"]
    admits = {key: (j // 3, j // 3 + 1) for j, key in enumerate(keys)}
    real: dict[tuple[int, str], float] = {(p, key): float(rng.randint(100, 900)) for key in keys for p in admits[key]}
    for _ in range(4 * len(keys)):
        k1, k2 = rng.sample(keys, 2)
        both = sorted(set(admits[k1]) & set(admits[k2]))
        if len(both) < 2:
            continue
        p1, p2 = rng.sample(both, 2)
        f = rng.random() * 50
        real[p1, k1] += f
        real[p2, k2] += f
        real[p1, k2] -= f
        real[p2, k1] -= f
    costs = {key: round(sum(real[p, key] for p in admits[key])) for key in keys}
    spend: dict[int, float] = {}
    for (p, _), v in real.items():
        spend[p] = spend.get(p, 0.0) + v
    match_pool = n_pools - 1 if matching else None
    pools = tuple(_pool(p, round(spend[p]), match=0.5 if p == match_pool else None) for p in range(n_pools))
    challenge_of = {key: key.split("/")[0] for key in keys}
    return pools, costs, real, admits, challenge_of


def _check(pools, costs, real, admits, out):
    total: dict[str, int] = {}
    spent: dict[int, int] = {}
    for (p, key), cents in out.items():
        assert cents > 0 and p in admits[key]
        total[key] = total.get(key, 0) + cents
        spent[p] = spent.get(p, 0) + cents
    assert total == {k: c for k, c in costs.items() if c > 0}
    for pool in pools:
        assert spent.get(pool.index, 0) <= pool.amount


def test_scarce_money_rounds_without_the_cbc_program(monkeypatch):
    used = {"transport": 0, "program": 0}
    real_transport = flows._transport_rounding

    def spy(*a, **k):
        used["transport"] += 1
        return real_transport(*a, **k)

    def no_program(*a, **k):
        used["program"] += 1
        raise AssertionError("the CBC rounding program should not be needed")

    monkeypatch.setattr(flows, "_transport_rounding", spy)
    monkeypatch.setattr(flows, "_rounding_program", no_program)
    for seed in range(200):
        pools, costs, real, admits, challenge_of = _tight_market(seed)
        out = flows.round_pool_flows(pools, costs, real, admits, challenge_of)
        _check(pools, costs, real, admits, out)
    assert used["transport"] > 0           # the fast path failed on some of these markets
    assert used["program"] == 0


def test_transport_rounding_stays_within_floor_and_ceiling_and_is_deterministic():
    for seed in range(30):
        pools, costs, real, admits, challenge_of = _tight_market(seed)
        exact = dict(real)
        out = flows._transport_rounding(pools, costs, exact)
        if out is None:
            continue
        _check(pools, costs, real, admits, out)
        for pk, v in exact.items():
            assert math.floor(v + 1e-9) <= out.get(pk, 0) <= math.ceil(v - 1e-9)
        assert out == flows._transport_rounding(pools, costs, exact)


def _matching_excess(pools, challenge_of, out) -> float:
    into: dict[tuple[int, str], int] = {}
    base: dict[str, int] = {}
    for (p, key), cents in out.items():
        cid = challenge_of[key]
        into[p, cid] = into.get((p, cid), 0) + cents
        if pools[p].match is None:
            base[cid] = base.get(cid, 0) + cents
    return sum(max(0.0, cents - pools[p].match_ratio * base.get(cid, 0))
               for (p, cid), cents in into.items() if pools[p].match is not None)


def test_matching_goes_to_the_integer_program_in_highs_as_good_as_cbc():
    """The HiGHS integer program minimises the same matching slack as the CBC one it stands in for."""
    went = 0
    for seed in range(30):
        pools, costs, real, admits, challenge_of = _tight_market(seed, matching=True)
        out = flows.round_pool_flows(pools, costs, real, admits, challenge_of)
        _check(pools, costs, real, admits, out)
        if flows._pool_rules_hold(pools, costs, out, challenge_of) and seed % 3:
            continue
        went += 1
        exact = dict(real)
        highs = flows._transport_rounding(pools, costs, exact, challenge_of)
        cbc = flows._rounding_program(pools, costs, exact, admits, challenge_of)
        assert highs is not None
        _check(pools, costs, real, admits, highs)
        assert _matching_excess(pools, challenge_of, highs) == pytest.approx(
            _matching_excess(pools, challenge_of, cbc), abs=1e-6)
    assert went > 0


def _split_reference(pool, pool_flows):
    """split_pool as first written: the spare cent to the pledge furthest behind, by a linear scan."""
    pledges = pool.pledges
    if len(pledges) == 1:
        return [(pledges[0].id, key, cents) for key, cents in pool_flows if cents > 0]
    total = sum(c for _, c in pool_flows)
    targets = flows.largest_remainder(total, [p.amount for p in pledges])
    done = [0] * len(pledges)
    ideal = [0.0] * len(pledges)
    out = []
    for key, cents in pool_flows:
        parts = [0] * len(pledges)
        for i, target in enumerate(targets):
            share = cents * target / total if total else 0.0
            ideal[i] += share
            parts[i] = min(math.floor(share), target - done[i])
        left = cents - sum(parts)
        while left > 0:
            i = min((i for i in range(len(pledges)) if done[i] + parts[i] < targets[i]),
                    key=lambda i: (done[i] + parts[i] - ideal[i], i))
            parts[i] += 1
            left -= 1
        for i, part in enumerate(parts):
            done[i] += part
            if part:
                out.append((pledges[i].id, key, part))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_split_pool_matches_the_linear_scan(seed):
    rng = random.Random(seed)
    n = rng.randint(2, 40)
    amounts = [rng.choice([100, 100, 250, rng.randint(1, 10_000)]) for _ in range(n)]
    pledges = tuple(Pledge(id=f"p{i}", funder_id="f", amount=a) for i, a in enumerate(amounts))
    pool = Pool(index=0, pledges=pledges, scope=None, max_share=None, match=None)
    budget = sum(amounts)
    pool_flows = []
    for j in range(rng.randint(1, 15)):
        cents = rng.randint(1, max(1, budget // 8))
        if sum(c for _, c in pool_flows) + cents > budget:
            break
        pool_flows.append((f"C/k{j}", cents))
    assert flows.split_pool(pool, pool_flows) == _split_reference(pool, pool_flows)
