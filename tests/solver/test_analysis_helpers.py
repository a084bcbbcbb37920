"""Small markets and a CliRunner helper shared by the analysis tests (no tests here)."""
from __future__ import annotations

import json
import pathlib

from click.testing import CliRunner

from web.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
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


def write(tmp_path: pathlib.Path, doc: dict, name: str = "market.json") -> pathlib.Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def solve(tmp_path: pathlib.Path, market: pathlib.Path, name: str = "alloc.json") -> pathlib.Path:
    out = tmp_path / name
    result = run("solve", market, "-o", out, "--no-explain")
    assert result.exit_code == 0, result.output
    return out
