"""Independent parts (solver/decompose.py) and clearing them apart (solver/parts.py).

The rules that put two challenges in one part, one test each; clearing in parts gives the value and
cost of one model over the whole market (hypothesis, both backends); and parts cleared in worker
processes give the same allocation, byte for byte, as parts cleared in this process.
"""
from __future__ import annotations

import copy
import json
import logging
import math
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver import parts
from solver.clearing import ClearOptions, clear
from solver.decompose import independent_parts
from solver.eligibility import presolve
from solver.loading import parse_market
from solver.pools import make_pools
from solver.verify import verify_allocation
from tests.paths import FIXTURES
from tests.property.strategies import markets
from tests.solver.helpers import without_solver



def parts_of(doc: dict[str, Any]) -> list[list[str]]:
    market = parse_market(doc)
    pools = make_pools(market)
    return [list(p) for p in independent_parts(market, pools, presolve(market, pools))]


def challenge(cid: str, **extra: Any) -> dict[str, Any]:
    return {"id": cid, "value": 1, "components": [{"id": "k"}], **extra}


def pledge(pid: str, *scoped: str, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": pid, "amount": "100.00", **extra}
    if scoped:
        out["scope"] = {"challenges": list(scoped)}
    return out


def bid(bid_id: str, *components: str, price: str = "10.00", **extra: Any) -> dict[str, Any]:
    return {"id": bid_id, "items": [{"component": f"{c}/k", "price": price} for c in components], **extra}


def doc(challenges: list[dict[str, Any]], pledges: list[dict[str, Any]],
        actors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format": "swarm-market/1", "challenges": challenges,
            "funders": [{"id": "F", "pledges": pledges}], "actors": actors}


def two(pledges: list[dict[str, Any]] | None = None, actors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Challenges A and B, each with its own scoped money and its own actor: two parts by default."""
    return doc([challenge("A"), challenge("B")],
               [pledge("pA", "A"), pledge("pB", "B")] + (pledges or []),
               actors if actors is not None else [{"id": "X", "bids": [bid("x", "A")]},
                                                  {"id": "Y", "bids": [bid("y", "B")]}])


# -- the rules ---------------------------------------------------------------------------------------

def test_separate_money_and_actors_make_separate_parts():
    assert parts_of(two()) == [["A"], ["B"]]


def test_a_pool_that_can_pay_both_connects_them():
    assert parts_of(two([pledge("both")])) == [["A", "B"]]                  # unscoped
    assert parts_of(two([pledge("both", "A", "B")])) == [["A", "B"]]        # scoped to both


def test_a_pool_that_can_pay_one_challenge_connects_nothing():
    assert parts_of(two([pledge("onlyA", "A"), pledge("m", "B", match=1)])) == [["A"], ["B"]]


def test_a_pool_connects_only_components_someone_asks_money_for():
    """B's only bid is free: no pay variable on B, so the unscoped pool's row does not hold B."""
    actors = [{"id": "X", "bids": [bid("x", "A")]}, {"id": "Y", "bids": [bid("y", "B", price="0.00")]}]
    assert parts_of(two([pledge("both")], actors)) == [["A"], ["B"]]


def test_a_matching_pool_connects_like_any_pool():
    assert parts_of(two([pledge("m", "A", "B", match=1)])) == [["A", "B"]]


def test_a_bid_on_both_connects_them():
    actors = [{"id": "X", "bids": [bid("x", "A")]}, {"id": "Y", "bids": [bid("y", "B"), bid("xy", "A", "B")]}]
    assert parts_of(two(actors=actors)) == [["A", "B"]]


@pytest.mark.parametrize("capacity", [{"budget": "15.00"}, {"load": 1}])
def test_an_actor_with_a_capacity_connects_its_bids(capacity):
    actors = [{"id": "X", "capacity": capacity, "bids": [bid("x", "A", load=1), bid("y", "B", load=1)]}]
    assert parts_of(two(actors=actors)) == [["A", "B"]]


def test_an_actor_without_capacity_or_groups_connects_nothing():
    actors = [{"id": "X", "bids": [bid("x", "A"), bid("y", "B")]}]
    assert parts_of(two(actors=actors)) == [["A"], ["B"]]


def test_an_exclusive_group_connects_its_bids_and_only_its_own():
    same = [{"id": "X", "bids": [bid("x", "A", exclusive_group="g"), bid("y", "B", exclusive_group="g")]}]
    other = [{"id": "X", "bids": [bid("x", "A", exclusive_group="g"), bid("y", "B", exclusive_group="h")]}]
    actors = [{"id": "X", "bids": [bid("x", "A", exclusive_group="g")]},
              {"id": "Y", "bids": [bid("y", "B", exclusive_group="g")]}]
    assert parts_of(two(actors=same)) == [["A", "B"]]
    assert parts_of(two(actors=other)) == [["A"], ["B"]]
    assert parts_of(two(actors=actors)) == [["A"], ["B"]]                  # a group is an actor's own


def test_what_cannot_be_completed_is_in_no_part_and_connects_nothing():
    """C has no bid; the bid on B and C and the pool over A and C die with it."""
    market = doc([challenge("A"), challenge("B"), challenge("C")],
                 [pledge("pA", "A"), pledge("pB", "B"), pledge("pAC", "A", "C")],
                 [{"id": "X", "bids": [bid("x", "A"), bid("y", "B"), bid("bc", "B", "C")]}])
    market["challenges"][2]["components"].append({"id": "nobody"})
    assert parts_of(market) == [["A"], ["B"]]


def test_parts_come_in_market_order_and_so_do_their_challenges():
    """C0-C3 joined by a bid listing C3's item first, C1 and C2 alone: the union's root is no guide."""
    market = doc([challenge(f"C{n}") for n in range(4)],
                 [pledge(f"p{n}", f"C{n}") for n in range(4)],
                 [{"id": "X", "bids": [bid("b1", "C1"), bid("b2", "C2"), bid("b30", "C3", "C0")]}])
    assert parts_of(market) == [["C0", "C3"], ["C1"], ["C2"]]
    assert parts_of(copy.deepcopy(market)) == parts_of(market)


def test_no_live_challenge_no_part():
    assert parts_of(doc([challenge("A")], [], [])) == []


# -- clearing in parts gives the optimum of one model ------------------------------------------------

def renamed(market: dict[str, Any], prefix: str) -> dict[str, Any]:
    """A copy of a market doc with every id and tag prefixed, and unscoped money scoped to its own
    challenges, so that copies side by side share nothing."""
    out = copy.deepcopy(market)
    own = [prefix + c["id"] for c in out["challenges"]]
    for c in out["challenges"]:
        c["id"] = prefix + c["id"]
        c["tags"] = [prefix + t for t in c.get("tags", [])]
    for f in out["funders"]:
        f["id"] = prefix + f["id"]
        for p in f["pledges"]:
            p["id"] = prefix + p["id"]
            scope = p.get("scope")              # new lists: equal pledges may share one scope object
            p["scope"] = {"challenges": own} if scope is None else {k: [prefix + x for x in v]
                                                                     for k, v in scope.items()}
    for a in out["actors"]:
        a["id"] = prefix + a["id"]
        for b in a["bids"]:
            b["id"] = prefix + b["id"]
            for item in b["items"]:
                item["component"] = prefix + item["component"]
    return out


def side_by_side(*docs: dict[str, Any]) -> dict[str, Any]:
    copies = [renamed(d, f"m{n}-") for n, d in enumerate(docs)]
    return {"format": "swarm-market/1", "name": "side by side",
            "challenges": [c for d in copies for c in d["challenges"]],
            "funders": [f for d in copies for f in d["funders"]],
            "actors": [a for d in copies for a in d["actors"]]}


@st.composite
def tangled(draw: st.DrawFn) -> dict[str, Any]:
    """Challenges that each rule may or may not tie together, money and capacity short enough to bind:
    half the challenges with a pledge of their own, up to two pledges over two challenges, actors with
    budgets, loads and exclusive groups, now and then a bid across challenges. A rule missed lets two
    parts spend the same money or capacity, or drops a bid."""
    ids = [f"C{n}" for n in range(draw(st.integers(2, 5)))]
    challenges = [{"id": cid, "value": draw(st.integers(1, 9)),
                   "components": [{"id": "k"}] + ([{"id": "extra", "critical": False, "value": 1}]
                                                  if draw(st.booleans()) else [])} for cid in ids]
    keys = {cid: [f"{c['id']}/{k['id']}" for k in c["components"]] for cid, c in zip(ids, challenges)}
    pledges = [{"id": f"p{cid}", "amount": f"{draw(st.integers(1, 9))}.00", "scope": {"challenges": [cid]}}
               for cid in ids if draw(st.booleans())]
    for n in range(draw(st.integers(0, 2))):
        pledges.append({"id": f"shared{n}", "amount": f"{draw(st.integers(1, 12))}.00",
                        "scope": {"challenges": draw(st.lists(st.sampled_from(ids), min_size=2, max_size=2,
                                                              unique=True))}})
        if not draw(st.integers(0, 3)):
            pledges[-1]["match"] = 1
    actors, b = [], 0
    for a in range(draw(st.integers(1, 4))):
        actor_doc: dict[str, Any] = {"id": f"A{a}", "bids": []}
        if not draw(st.integers(0, 2)):
            actor_doc["capacity"] = draw(st.sampled_from([{"budget": "8.00"}, {"load": 1}]))
        for _ in range(draw(st.integers(1, 3))):
            on = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=1 if draw(st.integers(0, 5)) else 2,
                               unique=True))
            items = [key for cid in on for key in keys[cid] if key.endswith("/k") or draw(st.booleans())]
            bid_doc: dict[str, Any] = {"id": f"b{b}", "load": 1, "items": [
                {"component": key, "price": f"{draw(st.integers(0, 9))}.00"} for key in items]}
            if not draw(st.integers(0, 3)):
                bid_doc["exclusive_group"] = draw(st.sampled_from(["g1", "g2"]))
            actor_doc["bids"].append(bid_doc)
            b += 1
        actors.append(actor_doc)
    return doc(challenges, pledges, actors)


# Markets side by side share nothing: their parts, and those each has inside.
SEVERAL_PARTS = st.one_of(tangled(), st.lists(st.one_of(markets(max_bids=6), tangled()), min_size=2, max_size=3)
                          .map(lambda ds: side_by_side(*ds)))


# CBC runs as a subprocess, some 20 ms a solve: fewer examples keep this file fast.
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(PROPERTY, max_examples=20)
@given(doc=SEVERAL_PARTS)
def test_clearing_in_parts_gives_the_value_and_cost_of_one_model_cbc(doc):
    same_value_and_cost_in_parts(doc, "cbc")


@settings(PROPERTY, max_examples=80)
@given(doc=SEVERAL_PARTS)
def test_clearing_in_parts_gives_the_value_and_cost_of_one_model_highs(doc):
    same_value_and_cost_in_parts(doc, "highs")


def same_value_and_cost_in_parts(doc: dict[str, Any], backend: str) -> None:
    market = parse_market(doc)
    whole = clear(market, ClearOptions(backend=backend, explain=False, decompose=False)).to_document()
    with mock.patch.object(parts, "BATCH_BIDS", 1):          # one model per part, however small
        split = clear(market, ClearOptions(backend=backend, explain=False, workers=1)).to_document()
    assert verify_allocation(market, split) == []
    assert (split["status"], whole["status"]) == ("optimal", "optimal")
    assert math.isclose(split["value"], whole["value"], rel_tol=1e-9, abs_tol=1e-9)
    assert split["cost"] == whole["cost"]
    assert split["solver"]["size"]["models"] == max(split["solver"]["size"]["parts"], 1)


def test_a_single_part_takes_the_single_model_path():
    market = parse_market(json.loads((FIXTURES / "water-sdg6.json").read_text()))
    allocation = clear(market, ClearOptions(explain=False))
    assert (allocation.solver["size"]["parts"], allocation.solver["size"]["models"]) == (1, 1)
    assert "largest_model" not in allocation.solver["size"]


def test_small_parts_share_models():
    doc = side_by_side(*(json.loads((FIXTURES / name).read_text())
                         for name in ("didactic-reliability.json", "didactic-max-share.json", "didactic-bundle.json")))
    allocation = clear(parse_market(doc), ClearOptions(explain=False))
    assert (allocation.solver["size"]["parts"], allocation.solver["size"]["models"]) == (3, 1)


# -- worker processes change nothing ------------------------------------------------------------------

def test_parts_in_worker_processes_give_the_same_allocation(backend, caplog):
    """Two water markets (73 live bids each, a model apiece) and the didactic ones (sharing a model)."""
    docs = [json.loads((FIXTURES / name).read_text()) for name in
            ("water-sdg6.json", "didactic-reliability.json", "water-sdg6.json", "didactic-max-share.json")]
    market = parse_market(side_by_side(*docs))
    here = clear(market, ClearOptions(backend=backend, explain=False, workers=1))
    shipped: list[int] = []
    real = parts._run_in_workers

    def spy(*args: Any, **kwargs: Any) -> None:
        shipped.append(len(args[3]))
        real(*args, **kwargs)

    with mock.patch.object(parts, "_run_in_workers", spy), caplog.at_level(logging.WARNING, "solver.parts"):
        there = clear(market, ClearOptions(backend=backend, explain=False, workers=2))
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    assert shipped == [3]
    assert (here.solver["size"]["parts"], here.solver["size"]["models"]) == (4, 3)
    assert without_solver(here.to_document()) == without_solver(there.to_document())
    assert here.status == "optimal" and verify_allocation(market, there.to_document()) == []


def test_without_worker_processes_the_parts_are_cleared_here(caplog):
    """Where no process can be started, the engine says so and clears every part itself."""
    docs = [json.loads((FIXTURES / name).read_text()) for name in ("didactic-reliability.json", "didactic-bundle.json")]
    market = parse_market(side_by_side(*docs))
    with mock.patch.object(parts, "BATCH_BIDS", 1):
        here = clear(market, ClearOptions(backend="highs", explain=False, workers=1))
        with mock.patch.object(parts, "ProcessPoolExecutor", side_effect=OSError("no processes here")), \
                caplog.at_level(logging.WARNING, "solver.parts"):
            there = clear(market, ClearOptions(backend="highs", explain=False, workers=2))
    assert "no processes here" in caplog.text
    assert there.solver["size"]["models"] == 2
    assert without_solver(here.to_document()) == without_solver(there.to_document())


@pytest.mark.parametrize("workers, cores, bids, parallel", [
    (None, 4, [1000, 200], False),     # what the largest model leaves is too little to start processes for
    (None, 4, [1000, 200, 60], True),
    (None, 1, [1000, 1000], False),    # one core
    (1, 4, [1000, 1000], False),
    (2, 1, [5, 5], True),              # asked for
])
def test_when_worker_processes_are_worth_it(workers, cores, bids, parallel):
    models = [((f"C{n}",), count) for n, count in enumerate(bids)]
    with mock.patch.object(parts, "_free_cores", return_value=cores):
        assert parts._in_parallel(models, ClearOptions(workers=workers)) is parallel
