"""Builders and shortcuts shared by the solver tests (no tests here): market documents from short specs,
readers of an allocation document, a clearing model, the small markets of the analysis tests, and the CLI."""
from __future__ import annotations

import copy
import json
import pathlib
from typing import Any


from solver.eligibility import presolve
from solver.loading import MarketError, parse_market
from solver.market import Market
from solver.model import ClearingModel, Restrictions
from solver.pools import make_pools
from tests.paths import FIXTURES
from tests.swarm import run

WATER = FIXTURES / "water-sdg6.json"
DIDACTIC = sorted(FIXTURES.glob("didactic-*.json"))

# Two challenges; one unscoped pledge of 150 pays for kisumu (120) but not also gulu (80).
SMALL = {
    "format": "swarm-market/1", "name": "small",
    "challenges": [
        {"id": "kisumu", "value": 100, "tags": ["region:kenya"], "reliability": 0.8,
         "components": [{"id": "wells", "quantity": 2}]},
        {"id": "gulu", "value": 50, "tags": ["region:uganda"], "components": [{"id": "latrines"}]}],
    "funders": [{"id": "f", "pledges": [{"id": "p", "amount": "150.00"}]}],
    "actors": [
        {"id": "a", "reliability": 0.9, "bids": [
            {"id": "b1", "items": [{"component": "kisumu/wells", "price": "120.00"}]}]},
        {"id": "c", "reliability": 0.5, "bids": [
            {"id": "b2", "items": [{"component": "gulu/latrines", "price": "80.00"}]}]}],
}

# Pooling matters: two scoped pledges of 60 each cannot pay a 100 challenge alone, together they can.
POOLING = {
    "format": "swarm-market/1", "name": "pooling",
    "challenges": [{"id": "well", "value": 10, "components": [{"id": "drill"}]}],
    "funders": [{"id": "f1", "pledges": [{"id": "p1", "amount": "60.00"}]},
                {"id": "f2", "pledges": [{"id": "p2", "amount": "60.00", "scope": {"challenges": ["well"]}}]}],
    "actors": [{"id": "a", "bids": [{"id": "b", "items": [{"component": "well/drill", "price": "100.00"}]}]}],
}


# -- market documents from short specs -----------------------------------------------------------------

def market(challenges: list[dict[str, Any]], pledges: list[dict[str, Any]],
           actors: list[dict[str, Any]]) -> dict[str, Any]:
    """A market document from short specs: pledges and actors each get their own funder/actor."""
    return {
        "format": "swarm-market/1", "name": "rules",
        "challenges": challenges,
        "funders": [{"id": f"F{n}", "pledges": [p]} for n, p in enumerate(pledges)],
        "actors": actors,
    }


def actor(aid: str, *bids: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": aid, "bids": list(bids), **extra}


def bid(bid_id: str, *items: tuple[Any, ...], **extra: Any) -> dict[str, Any]:
    """Items as (component, price) or (component, price, quantity)."""
    return {"id": bid_id, "items": [dict(zip(("component", "price", "quantity"), item)) for item in items], **extra}


# -- reading an allocation document --------------------------------------------------------------------

def completed(allocation: dict[str, Any]) -> list[str]:
    return [c["id"] for c in allocation["challenges"] if c["completed"]]


def spent(allocation: dict[str, Any]) -> dict[str, str]:
    return {p["id"]: p["spent"] for p in allocation["pledges"]}


def flows(allocation: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(f["pledge"], f["component"]): f["amount"] for f in allocation["flows"]}


def without_solver(allocation: dict[str, Any]) -> str:
    """The allocation as canonical JSON without its solver block (timings differ from run to run)."""
    return json.dumps({k: v for k, v in allocation.items() if k != "solver"}, sort_keys=True)


# -- a clearing model ----------------------------------------------------------------------------------

def model_of(doc: Market | dict[str, Any], restrictions: Restrictions | None = None) -> ClearingModel:
    parsed = doc if not isinstance(doc, dict) else parse_market(doc)
    pools = make_pools(parsed)
    return ClearingModel(parsed, pools, presolve(parsed, pools), restrictions or Restrictions())


# -- the command line ----------------------------------------------------------------------------------

def write(tmp_path: pathlib.Path, doc: dict[str, Any], name: str = "market.json") -> pathlib.Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def solve(tmp_path: pathlib.Path, market_file: pathlib.Path, name: str = "alloc.json") -> pathlib.Path:
    """`swarm solve` without reasons, into tmp_path/name; that path."""
    out = tmp_path / name
    result = run("solve", market_file, "-o", out, "--no-explain")
    assert result.exit_code == 0, result.output
    return out


def parse_problems(doc: dict[str, Any]) -> list[str]:
    """The problems loading reports for a market document that must fail to load."""
    try:
        parse_market(doc)
    except MarketError as error:
        return [str(p) for p in error.problems]
    raise AssertionError("the market loaded, but problems were expected")


def changed_copy(doc: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    """A deep copy of `doc` with the value at `path` replaced (KeyError as the value: removed)."""
    out = copy.deepcopy(doc)
    target = out
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out
