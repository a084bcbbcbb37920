"""`swarm generate`: deterministic, valid, every feature of the format, and not falling apart."""
import json
import re

import pytest

from solver import generate as generator
from solver.clearing import ClearOptions, clear
from solver.loading import Problem, parse_market, parse_market_text
from solver.pools import make_pools
from solver.verify import verify_allocation
from tests.solver.helpers import run


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


# -- version 1.1 (`--format 1.1`) ----------------------------------------------------------------------

# sha256 of `swarm generate`'s text for these arguments, computed with the generator of main at cf8d2fe
# (before version 1.1): the default output must stay byte for byte what it was.
VERSION_1_BYTES = {
    (20, 60, 30, 1, None, 1.0): "58c321d019ce33406e868a52ef818a190341176ae077cc10891db82fa6909641",
    (7, 9, 11, 8, "x", 2.5): "0cc450744f7f3cc84ff5bf4538a854791061525df4951abab5e2d51dacbfe2ad",
}


@pytest.mark.parametrize("args", list(VERSION_1_BYTES))
def test_version_1_output_is_what_it_was_before_1_1(args):
    import hashlib
    text = generator.to_json(generator.generate(*args))
    assert hashlib.sha256(text.encode()).hexdigest() == VERSION_1_BYTES[args]
    assert generator.to_json(generator.generate(*args, version="1")) == text


@pytest.fixture(scope="module")
def small_1_1():
    return generator.generate(60, 180, 90, seed=7, version="1.1")


def test_1_1_same_seed_same_bytes_other_seed_other_market():
    first = generator.to_json(generator.generate(30, 90, 45, seed=3, version="1.1"))
    assert first == generator.to_json(generator.generate(30, 90, 45, seed=3, version="1.1"))
    assert first != generator.to_json(generator.generate(30, 90, 45, seed=4, version="1.1"))
    assert json.loads(first)["format"] == "swarm-market/1.1"
    assert json.loads(first)["name"] == "generated-c30-f90-a45-s3-v1.1"


def test_1_1_is_the_version_1_market_of_the_seed_with_1_1_features(small, small_1_1):
    """Only 1.1 features differ, so the benchmark compares like with like: the same challenges (a conflict
    tag aside), the same bids (fixed aside), the same money per funder (a conditional part split off)."""
    old, new = parse_market(small), parse_market(small_1_1)
    assert [(c.id, c.components, c.value) for c in old.challenges] == [(c.id, c.components, c.value)
                                                                      for c in new.challenges]
    assert [tuple(t for t in c.tags if t != "risk:conflict") for c in new.challenges] == [c.tags for c in old.challenges]
    assert [(b.id, b.items, b.reliability, b.exclusive_group) for b in old.bids] == [
        (b.id, b.items, b.reliability, b.exclusive_group) for b in new.bids]
    assert [(f.id, sum(p.amount for p in f.pledges)) for f in old.funders] == [
        (f.id, sum(p.amount for p in f.pledges)) for f in new.funders]


def uses(market):
    """How many of each version 1.1 feature a market uses."""
    pledges = market.pledges
    return {"min_spend": sum(p.min_spend is not None for p in pledges),
            "max_challenge_share": sum(p.max_challenge_share is not None for p in pledges),
            "conditions": sum(len(p.conditions) for p in pledges),
            "all_tags": sum(bool(p.scope and p.scope.all_tags) for p in pledges),
            "exclude_tags": sum(bool(p.scope and p.scope.exclude_tags) for p in pledges),
            "fixed": sum(b.fixed for b in market.bids)}


def test_1_1_market_loads_without_warnings_and_uses_every_1_1_feature(small_1_1):
    warnings: list[Problem] = []
    market = parse_market_text(generator.to_json(small_1_1), "generated", warnings)
    assert warnings == []
    assert market.uses_1_1
    assert all(count > 0 for count in uses(market).values()), uses(market)
    pledges = market.pledges
    scopes = [p.scope for p in pledges if p.scope is not None]
    # all_tags both beside entries and alone; exclude_tags alone (starting from every component)
    assert any(s.all_tags and s.tags for s in scopes) and any(s.all_tags and not s.tags for s in scopes)
    assert any(s.exclude_tags and not (s.tags or s.challenges or s.components) for s in scopes)
    conflict = [c for c in market.challenges if "risk:conflict" in c.tags]
    assert 0 < len(conflict) < len(market.challenges) / 2
    # exclude_tags leaves out a conflict zone that the rest of the scope would admit
    assert any(not s.admits(c, c.components[0]) and _without_exclude(s).admits(c, c.components[0])
               for s in scopes if s.exclude_tags for c in conflict)
    assert any(p.min_spend is not None and p.min_spend < p.amount for p in pledges)


def _without_exclude(scope):
    from dataclasses import replace
    wider = replace(scope, exclude_tags=())
    return wider if wider.challenges or wider.components or wider.tags or wider.all_tags else replace(
        wider, exclude_tags=("no such tag",))          # a scope of exclude_tags alone started from everything


def test_conditions_block_some_flows_and_force_co_funding(small_1_1):
    """Each condition names a funder whose money reaches some, not all, of what the pledge may fund:
    where it cannot pay the pledge is blocked; where it can, it must co-fund. One condition chains to a
    pledge that is itself conditional."""
    market = parse_market(small_1_1)
    by_funder = {f.id: f for f in market.funders}
    parts = [(c, k) for c in market.challenges for k in c.components]
    conditioned = [p for p in market.pledges if p.conditions]
    assert conditioned
    for pledge in conditioned:
        for condition in pledge.conditions:
            named = by_funder[condition.funder_id]
            assert condition.min <= sum(p.amount for p in named.pledges)
            mine = {c.id for c, k in parts if pledge.admits(c, k)}
            theirs = {c.id for c, k in parts if any(p.admits(c, k) for p in named.pledges)}
            assert mine & theirs, pledge.id                       # co-funding is possible somewhere
    blocked = [p for p in conditioned for cond in p.conditions
               if {c.id for c, k in parts if p.admits(c, k)} - {c.id for c, k in parts if any(
                   q.admits(c, k) for q in by_funder[cond.funder_id].pledges)}]
    assert blocked
    assert any(any(q.conditions for q in by_funder[cond.funder_id].pledges) for p in conditioned for cond in p.conditions)


def test_fixed_bids_are_eligible_each_on_its_own_clearly_fundable_challenge(small_1_1):
    from solver.eligibility import bid_ineligibility
    market = parse_market(small_1_1)
    components = {k.key: k for k in market.components}
    fixed = [b for b in market.bids if b.fixed]
    assert len(fixed) == 60 // 20
    assert all(bid_ineligibility(b, components) == [] for b in fixed)
    challenges = [b.items[0].component.split("/")[0] for b in fixed]
    assert all(len(b.items) == 1 for b in fixed) and len(set(challenges)) == len(challenges)


def test_a_generated_1_1_market_round_trips(small_1_1):
    from solver.writing import market_json
    market = parse_market(small_1_1)
    assert parse_market(json.loads(market_json(market))) == market


def test_cli_writes_format_1_1():
    result = run("generate", "--size", "S", "--seed", "5", "--format", "1.1")
    assert result.exit_code == 0, result.output
    assert re.search(r"\d+ bids, [1-9]\d* conditions?, [1-9]\d* fixed bids?$", result.stderr.strip()), result.stderr
    assert json.loads(result.stdout)["format"] == "swarm-market/1.1"
    assert run("generate", "--size", "S", "--format", "2").exit_code == 2
    assert run("generate", "--size", "S", "--seed", "5", "--format", "1").stdout == run(
        "generate", "--size", "S", "--seed", "5").stdout


@pytest.mark.parametrize("counts, seed", [((60, 180, 90), 7), ((20, 60, 30), 1), ((200, 600, 300), 1)])
def test_fixed_bids_come_with_an_allocation_the_checker_accepts(counts, seed):
    """The generator keeps 1.1 markets feasible: the allocation it built to choose the fixed bids (their
    challenges' covers, paid by unconditional money) accepts every fixed bid and meets every rule."""
    import dataclasses

    from solver.allocation import Unfunded, from_awards
    from solver.generate_1_1 import _Layer
    layer = _Layer(generator.generate(*counts, seed=seed), seed)
    market = parse_market(layer.document())
    proof = layer.proof
    assert proof is not None
    accepted = [b for b in market.bids if b.id in proof.accepted]
    assert {b.id for b in market.bids if b.fixed} <= {b.id for b in accepted}
    allocation = from_awards(market, accepted, proof.flows, "feasible")
    allocation = dataclasses.replace(
        allocation, solver={"backend": "generator", "seconds": 0},
        unfunded=tuple(Unfunded(c.id, ("not in the generator's proof",)) for c in allocation.challenges
                       if not c.completed))
    assert verify_allocation(market, allocation.to_document()) == []


@pytest.mark.parametrize("backend", ["highs", "cbc"])
def test_a_small_generated_1_1_market_clears_with_its_conditions_met(backend):
    """Cleared by the engine: optimal, every rule (1-9) met by the checker, the fixed bids accepted, and
    conditional pledges paying, so that the funders they name co-fund those challenges."""
    market = parse_market(generator.generate(20, 60, 30, seed=2, version="1.1"))
    doc = clear(market, ClearOptions(backend=backend, explain=False)).to_document()
    assert doc["status"] == "optimal"
    assert verify_allocation(market, doc) == []
    assert {b.id for b in market.bids if b.fixed} <= {a["bid"] for a in doc["awards"]}
    conditional = {p.id: p for p in market.pledges if p.conditions}
    paying = {(f["pledge"], f["component"].split("/")[0]) for f in doc["flows"] if f["pledge"] in conditional}
    assert len(paying) >= 2
    for pledge_id, challenge in paying:
        for condition in conditional[pledge_id].conditions:
            assert any(f["funder"] == condition.funder_id and f["component"].startswith(challenge + "/")
                       for f in doc["flows"])
