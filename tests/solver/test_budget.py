"""One time limit for the whole clearing call (solver/budget.py): the main solve and the reasons' extra
solves draw on one deadline, the main solve on at most MAIN_SHARE of it when reasons are asked for; the
reasons the time left no room for say so. The API's and the commands' are in tests/api/test_endpoints.py,
tests/solver/test_cli.py and tests/market/test_cli.py."""
from __future__ import annotations

import pytest

from solver import backends
from solver.budget import MAIN_SHARE, Budget
from solver.clearing import ClearOptions, clear
from solver.loading import load_market
from tests.paths import FIXTURES
from tests.slow_solves import OUT_OF_TIME, SlowSolves

BACKENDS = [b for b in backends.BACKENDS if backends.available(b)]


def _reasons(allocation):
    return [r for u in allocation.unfunded for r in u.reasons]


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_solve_of_the_call_ends_by_its_one_deadline(monkeypatch, backend):
    market = load_market(FIXTURES / "water-sdg6.json")
    slow = SlowSolves(monkeypatch, seconds=4)
    allocation = clear(market, ClearOptions(backend=backend, time_limit=20))
    slow.assert_within(20)
    assert any(OUT_OF_TIME in r for r in _reasons(allocation))      # the reasons ran out of time, said so


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_main_solve_leaves_the_reasons_a_share(monkeypatch, backend):
    """A main solve stopped by its limit still leaves the reasons (1 - MAIN_SHARE) of the time."""
    market = load_market(FIXTURES / "water-sdg6.json")
    slow = SlowSolves(monkeypatch, seconds=0)
    clear(market, ClearOptions(backend=backend, time_limit=20, explain=False))
    main_solves = len(slow.calls)
    slow.calls.clear()
    clear(market, ClearOptions(backend=backend, time_limit=20))
    assert [limit for _, limit in slow.calls[:main_solves]] == [pytest.approx(20 * MAIN_SHARE)] * main_solves
    assert len(slow.calls) > main_solves and all(limit == pytest.approx(20)
                                                 for _, limit in slow.calls[main_solves:])


def test_a_budget_spent_before_the_call_leaves_only_reasons_without_solves(monkeypatch):
    """A caller's budget (the API's, begun with the request) counts what came before the clearing."""
    market = load_market(FIXTURES / "water-sdg6.json")
    slow = SlowSolves(monkeypatch, seconds=0)
    slow.now = 30.0
    allocation = clear(market, ClearOptions(time_limit=20), Budget(20, started=0.0))
    assert allocation.status == "feasible"                       # the greedy allocation: no time to search
    assert [limit for _, limit in slow.calls if limit != 0] == []
    assert any(OUT_OF_TIME in r for r in _reasons(allocation))


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_ample_budget_changes_no_allocation(backend):
    market = load_market(FIXTURES / "water-sdg6.json")
    limited = clear(market, ClearOptions(backend=backend, time_limit=3600)).to_document()
    unlimited = clear(market, ClearOptions(backend=backend)).to_document()
    limited.pop("solver")
    unlimited.pop("solver")
    assert limited == unlimited
