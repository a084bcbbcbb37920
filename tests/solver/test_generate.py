"""`swarm generate`: deterministic, valid, every feature of the format, and not falling apart."""
import json

import pytest
from click.testing import CliRunner

from solver import generate as generator
from solver.clearing import ClearOptions, clear
from solver.loading import Problem, parse_market, parse_market_text
from solver.pools import make_pools
from solver.verify import verify_allocation


def run(*args):
    return CliRunner().invoke(__import__("web.cli", fromlist=["main"]).main, [str(a) for a in args])


@pytest.fixture(scope="module")
def small():
    return generator.generate(60, 180, 90, seed=7)


def test_same_seed_same_bytes_other_seed_other_market():
    first = generator.to_json(generator.generate(30, 90, 45, seed=3))
    again = generator.to_json(generator.generate(30, 90, 45, seed=3))
    other = generator.to_json(generator.generate(30, 90, 45, seed=4))
    assert first == again
    assert first != other


def test_generated_market_is_valid_without_warnings(small):
    warnings: list[Problem] = []
    market = parse_market_text(generator.to_json(small), "generated", warnings)
    assert warnings == []
    assert len(market.challenges) == 60 and len(market.funders) == 180
    assert 0 < len(market.actors) <= 90          # actors without a bid are left out


def test_every_feature_of_the_format_is_used(small):
    challenges, funders, actors = small["challenges"], small["funders"], small["actors"]
    components = [k for c in challenges for k in c["components"]]
    pledges = [p for f in funders for p in f["pledges"]]
    bids = [b for a in actors for b in a["bids"]]
    quantity = {f"{c['id']}/{k['id']}": k["quantity"] for c in challenges for k in c["components"]}
    assert any("reliability" in c for c in challenges)
    assert any(k.get("critical") is False and k.get("value") for k in components)
    assert any(k.get("requires") for k in components)
    assert any("min_reliability" in k for k in components)
    assert any("max_unit_price" in k for k in components)
    assert any("scope" not in p for p in pledges)                                     # unscoped money
    assert any("tags" in p.get("scope", {}) for p in pledges)
    assert any("challenges" in p.get("scope", {}) for p in pledges)
    assert any("components" in p.get("scope", {}) for p in pledges)
    assert any("max_share" in p for p in pledges)
    assert any("match" in p for p in pledges)
    assert any(len(b["items"]) > 1 for b in bids)                                     # bundles
    assert any(len({i["component"].split("/")[0] for i in b["items"]}) > 1 for b in bids)  # across challenges
    assert any(i["quantity"] < quantity[i["component"]] for b in bids for i in b["items"])  # partial offers
    assert any("exclusive_group" in b for b in bids)
    assert any("reliability" in b for b in bids)
    assert any("load" in a.get("capacity", {}) for a in actors)
    assert any("budget" in a.get("capacity", {}) for a in actors)
    # Crowd pledges: many equal pledges with one scope, which pool into one.
    market = parse_market(small)
    assert any(pool.size >= 3 for pool in make_pools(market))


def test_money_is_scarce_and_scopes_overlap(small):
    market = parse_market(small)
    pledged = sum(p.amount for p in market.pledges)
    cheapest = 0
    for challenge in market.challenges:
        for component in challenge.components:
            if component.critical:
                offers = [item.price * component.quantity / item.quantity for b in market.bids for item in b.items
                          if item.component == component.key]
                cheapest += min(offers, default=0)
    assert pledged < 0.8 * cheapest
    # Tags chain the market together: a region's challenges share a region tag, a country tag, a
    # sector tag; pledges on each of these levels exist.
    levels = {t.split(":")[0] for p in market.pledges if p.scope for t in p.scope.tags}
    assert {"region", "country", "sector"} <= levels


def test_a_small_generated_market_clears_to_a_valid_allocation():
    market = parse_market(generator.generate(12, 36, 18, seed=2))
    allocation = clear(market, ClearOptions(backend="highs", explain=False))
    assert verify_allocation(market, allocation.to_document()) == []
    assert 0 < sum(c.completed for c in allocation.challenges) < len(market.challenges)


def test_cli_writes_a_named_size(tmp_path):
    out = tmp_path / "s.json"
    result = run("generate", "--size", "S", "--seed", "5", "-o", out)
    assert result.exit_code == 0, result.output
    assert "20 challenges, 60 funders" in result.output and str(out) in result.output
    assert json.loads(out.read_text())["format"] == "swarm-market/1"
    assert run("validate", out).exit_code == 0


def test_cli_counts_override_the_size_and_go_to_stdout():
    result = run("generate", "--challenges", "4", "--funders", "5", "--actors", "6", "--seed", "1")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert len(doc["challenges"]) == 4 and len(doc["funders"]) == 5


def test_cli_needs_a_size_or_counts():
    result = run("generate", "--challenges", "4")
    assert result.exit_code == 2
    assert "give --funders or --size" in result.output
    assert run("generate", "--size", "XXL").exit_code == 2
    assert run("generate", "--size", "S", "--competition", "0").exit_code == 2


def test_the_market_does_not_fall_apart(small):
    from solver.decompose import independent_parts
    from solver.eligibility import presolve
    market = parse_market(small)
    pools = make_pools(market)
    parts = independent_parts(market, pools, presolve(market, pools))
    assert len(parts) == 1                        # unscoped money and overlapping tags chain it together
