"""explain_unfunded's limits: max_explained (deterministic) and the call's budget (the monotonic clock).

Structural reasons and a value of 0 need no solve and are always given; the other challenges not
completed are tested in detail in market order until a limit is reached, then get the plain reason
saying why the detailed tests were skipped, or not explained for the time limit.
"""
from __future__ import annotations

import functools

import pytest

from solver import backends, budget as budgets, reasons
from solver.budget import Budget
from solver.clearing import ClearOptions, clear
from solver.eligibility import presolve
from solver.loading import load_market, parse_market
from solver.outcome import Outcome
from solver.pools import make_pools
from tests.paths import FIXTURES

BACKEND = "highs" if backends.available("highs") else "cbc"


@functools.cache
def _cleared(name: str):
    market = load_market(FIXTURES / f"{name}.json")
    allocation = clear(market, ClearOptions(backend=BACKEND, explain=False))
    pools = make_pools(market)
    return market, pools, presolve(market, pools), allocation


def _explain(name: str, **limits):
    market, pools, pre, allocation = _cleared(name)
    return reasons.explain_unfunded(market, pools, pre, allocation, BACKEND, **limits)


def _tested_ids(name: str) -> list[str]:
    """The challenges not completed that need a detailed test (no structural or value-0 reason), market order."""
    market, _, pre, allocation = _cleared(name)
    done = {c.id for c in allocation.challenges if c.completed}
    return [c.id for c in market.challenges if c.id not in done and c.id not in pre.impossible_challenges
            and not reasons._free(c)]


def test_no_limit_is_todays_behaviour():
    full = _explain("water-sdg6")
    assert full == _explain("water-sdg6", budget=Budget(None), max_explained=None)
    assert not any("skipped" in r or "not explained" in r for u in full for r in u.reasons)


def test_water_market_has_challenges_to_test():
    assert len(_tested_ids("water-sdg6")) >= 2


@pytest.mark.parametrize("cap", [0, 1, 2])
def test_max_explained_tests_the_first_ones_in_market_order(cap):
    full = {u.challenge: u.reasons for u in _explain("water-sdg6")}
    capped = _explain("water-sdg6", max_explained=cap)
    assert [u.challenge for u in capped] == list(full)                 # every one, same order
    tested = _tested_ids("water-sdg6")
    for u in capped:
        if u.challenge in tested[:cap]:
            assert u.reasons == full[u.challenge]
        elif u.challenge in tested:
            assert u.reasons == (f"not chosen by the clearing; detailed tests skipped: only the first {cap} "
                                 f"challenges not chosen are tested in detail",)
        else:                                                          # structural: no solve, always given
            assert u.reasons == full[u.challenge]


def test_max_explained_is_deterministic():
    assert _explain("water-sdg6", max_explained=1) == _explain("water-sdg6", max_explained=1)


def test_max_explained_above_the_count_changes_nothing():
    assert _explain("water-sdg6", max_explained=1000) == _explain("water-sdg6")


OUT_OF_TIME = "not chosen by the clearing; not explained: time limit (the {:g} s for the whole clearing ran out " \
              "before its detailed tests)"


def test_a_spent_budget_skips_every_detailed_test_but_keeps_structural_reasons(monkeypatch):
    full = {u.challenge: u.reasons for u in _explain("water-sdg6")}
    calls = []
    monkeypatch.setattr(reasons, "_tested", lambda *a, **k: calls.append(a) or ["tested"])
    got = _explain("water-sdg6", budget=Budget(5, started=budgets.time.monotonic() - 5))
    assert calls == []
    tested = _tested_ids("water-sdg6")
    for u in got:
        if u.challenge in tested:
            assert u.reasons == (OUT_OF_TIME.format(5),)
        else:
            assert u.reasons == full[u.challenge]


def test_the_budget_stops_the_tests_once_it_is_spent(monkeypatch):
    """The clock is read before each test: a test under way finishes, the following ones are not run."""
    now = [0.0]
    monkeypatch.setattr(budgets.time, "monotonic", lambda: now[0])

    def slow_test(index, challenge, solver):
        now[0] += 1.0                                  # each detailed test takes 1 s
        return ["tested"]

    monkeypatch.setattr(reasons, "_tested", slow_test)
    got = {u.challenge: u.reasons for u in _explain("water-sdg6", budget=Budget(1.5))}
    tested = _tested_ids("water-sdg6")
    assert [got[c] for c in tested[:2]] == [("tested",), ("tested",)]
    assert all(got[c] == (OUT_OF_TIME.format(1.5),) for c in tested[2:])


def test_no_extra_solve_is_given_more_than_the_budget_has_left(monkeypatch):
    """Each extra solve's own time limit is what is left of the call's budget (at most SOLVE_SECONDS), and
    one the budget stops before it proves anything makes the challenge "not explained", never a reason
    read from a search cut short."""
    now = [0.0]
    monkeypatch.setattr(budgets.time, "monotonic", lambda: now[0])
    limits = []

    def solve(prob, backend, *, time_limit=None, **options):
        limits.append(time_limit)
        now[0] += 2.0                                  # each extra solve takes 2 s and then stops at its limit
        return backends.SolveReport(Outcome.NONE if time_limit <= 2.0 else Outcome.OPTIMAL, None, None, 2.0)

    monkeypatch.setattr(reasons.backends, "solve", solve)
    got = {u.challenge: u.reasons for u in _explain("water-sdg6", budget=Budget(7))}
    assert limits[:4] == [7, 5, 3, 1]
    assert len(limits) == 4
    assert all(got[c] == (OUT_OF_TIME.format(7),) for c in _tested_ids("water-sdg6"))


def test_a_large_budget_changes_nothing():
    assert _explain("water-sdg6", budget=Budget(3600)) == _explain("water-sdg6")


def test_both_limits_the_count_first(monkeypatch):
    monkeypatch.setattr(reasons, "_tested", lambda *a, **k: ["tested"])
    got = _explain("water-sdg6", budget=Budget(3600), max_explained=1)
    texts = [u.reasons for u in got if u.challenge in _tested_ids("water-sdg6")]
    assert texts[0] == ("tested",)
    assert all("only the first 1 challenges" in t[0] for t in texts[1:])


def test_value_zero_is_given_without_a_test_even_past_the_limit():
    market = parse_market({
        "format": "swarm-market/1", "name": "zero",
        "challenges": [{"id": "A", "value": 0, "components": [{"id": "x"}]},
                       {"id": "B", "value": 5, "components": [{"id": "y"}]}],
        "funders": [{"id": "f", "pledges": [{"id": "p", "amount": "1.00"}]}],
        "actors": [{"id": "a", "bids": [{"id": "bA", "items": [{"component": "A/x", "price": "1.00"}]},
                                        {"id": "bB", "items": [{"component": "B/y", "price": "2.00"}]}]}],
    })
    allocation = clear(market, ClearOptions(backend=BACKEND, explain=False))
    pools = make_pools(market)
    got = reasons.explain_unfunded(market, pools, presolve(market, pools), allocation, BACKEND, max_explained=0)
    by = {u.challenge: u.reasons for u in got}
    assert by["A"] == ("its value is 0, so completing it would only add cost",)
    assert "detailed tests skipped" in by["B"][0]
