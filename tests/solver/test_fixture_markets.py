"""The fixtures clear, verify and say what their notes say.

Every `fixtures/*.json` is cleared with every backend and re-checked by the
independent verifier; the didactic markets must give exactly the hand-computed
outcome stated in their `note`; the realistic water market must keep the
structure and variety it exists to show.
"""
from __future__ import annotations

import functools
import json
import re

import pytest

from solver import backends
from solver.clearing import ClearOptions, clear
from solver.loading import Problem, load_market
from solver.market import Market
from solver.verify import verify_allocation
from tests.paths import FIXTURES
from tests.solver.helpers import completed, flows, spent

FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))
DIDACTIC = ["didactic-bundle", "didactic-conditions", "didactic-matching", "didactic-max-share", "didactic-reliability",
            "didactic-requires"]
VERSION_1_1 = {"didactic-conditions"}        # the fixtures that need "swarm-market/1.1"
MONEY = re.compile(r"^\d+\.\d\d$")


def _need(backend: str) -> None:
    if not backends.available(backend):
        pytest.skip(f"the {backend} backend is not available here")


@functools.cache
def _market(name: str) -> Market:
    warnings: list[Problem] = []
    market = load_market(FIXTURES / f"{name}.json", warnings)
    assert warnings == [], f"{name}: loader warnings {warnings}"
    return market


@functools.cache
def _cleared(name: str, backend: str) -> str:
    """The allocation document as JSON text (so no test can alter another's copy)."""
    return json.dumps(clear(_market(name), ClearOptions(backend=backend)).to_document())


def solve(name: str, backend: str) -> dict:
    _need(backend)
    return json.loads(_cleared(name, backend))


def _raw(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def accepted(doc: dict) -> list[str]:
    return [a["bid"] for a in doc["awards"]]


def funded(doc: dict, challenge: str) -> dict[str, bool]:
    (result,) = [c for c in doc["challenges"] if c["id"] == challenge]
    return {k["id"]: k["funded"] for k in result["components"]}


def reasons(doc: dict) -> dict[str, list[str]]:
    return {u["challenge"]: u["reasons"] for u in doc["unfunded"]}


# -- every fixture, every backend ------------------------------------------------------

def test_the_fixtures_are_there():
    assert "water-sdg6" in FIXTURE_NAMES
    assert set(DIDACTIC) <= set(FIXTURE_NAMES)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_clears_optimally_and_verifies(name, backend):
    doc = solve(name, backend)
    assert doc["status"] == "optimal"
    assert doc["market"] == _market(name).name
    assert verify_allocation(_market(name), doc) == []
    assert len(doc["unfunded"]) == sum(not c["completed"] for c in doc["challenges"])
    assert all(entry["reasons"] for entry in doc["unfunded"])


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_cbc_and_highs_agree_on_value_and_cost(name):
    results = {backend: solve(name, backend) for backend in backends.BACKENDS}
    assert len({(doc["value"], doc["cost"]) for doc in results.values()}) == 1, {
        backend: (doc["value"], doc["cost"]) for backend, doc in results.items()}


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_has_a_name_a_note_and_two_digit_money(name):
    raw = _raw(name)
    assert raw["format"] == ("swarm-market/1.1" if name in VERSION_1_1 else "swarm-market/1")
    assert _market(name).uses_1_1 == (name in VERSION_1_1)
    assert raw["name"] == name
    assert raw.get("currency") == "USD"
    assert isinstance(raw.get("note"), str) and len(raw["note"]) > 80
    amounts = [p[key] for f in raw["funders"] for p in f["pledges"] for key in ("amount", "min_spend") if key in p]
    amounts += [c["min"] for f in raw["funders"] for p in f["pledges"] for c in p.get("conditions", [])]
    amounts += [i["price"] for a in raw["actors"] for b in a["bids"] for i in b["items"]]
    amounts += [a["capacity"]["budget"] for a in raw["actors"] if "budget" in a.get("capacity", {})]
    amounts += [k["max_unit_price"] for c in raw["challenges"] for k in c["components"] if "max_unit_price" in k]
    bad = [m for m in amounts if not (isinstance(m, str) and MONEY.match(m))]
    assert bad == []


@pytest.mark.parametrize("name", DIDACTIC)
def test_didactic_note_states_the_outcome_in_numbers(name):
    doc = solve(name, "cbc")
    note = _market(name).note or ""
    assert f"cost {doc['cost']}" in note
    assert f"value {doc['value']}" in note
    for bid in accepted(doc):
        assert bid in note


# -- the didactic markets: the hand-computed outcome, exactly ---------------------------

def test_matching_unlocks_only_next_to_non_matching_money(backend):
    doc = solve("didactic-matching", backend)
    assert accepted(doc) == ["drill-well"]
    assert completed(doc) == ["village-well"]
    assert (doc["value"], doc["cost"]) == (800, "10000.00")
    assert flows(doc) == {("diaspora-gift", "village-well/borehole"): "5000.00",
                          ("foundation-match", "village-well/borehole"): "5000.00"}
    assert spent(doc) == {"diaspora-gift": "5000.00", "foundation-match": "5000.00"}
    assert {p["id"]: p["returned"] for p in doc["pledges"]} == {"diaspora-gift": "0.00", "foundation-match": "3000.00"}
    # The latrine is in the matching pledge's scope and it has 3000.00 left, but nothing to match there.
    assert list(reasons(doc)) == ["school-latrine"]
    assert reasons(doc)["school-latrine"][0].startswith("pledge limits")


def test_reliability_target_buys_the_surer_actor(backend):
    doc = solve("didactic-reliability", backend)
    assert accepted(doc) == ["cheap-tap", "sure-clinic", "tank-clinic"]
    assert completed(doc) == ["clinic-water", "market-tap"]
    assert (doc["value"], doc["cost"]) == (1600, "17500.00")
    by_id = {c["id"]: c for c in doc["challenges"]}
    assert by_id["clinic-water"]["reliability"] == pytest.approx(0.95 * 0.97)
    assert by_id["clinic-water"]["cost"] == "11500.00"
    assert by_id["market-tap"]["reliability"] == pytest.approx(0.8)
    assert by_id["market-tap"]["cost"] == "6000.00"
    assert spent(doc) == {"donor-grant": "17500.00"}
    assert flows(doc) == {("donor-grant", "clinic-water/solar-pump"): "8500.00",
                          ("donor-grant", "clinic-water/tank"): "3000.00",
                          ("donor-grant", "market-tap/solar-pump"): "6000.00"}
    assert doc["unfunded"] == []


def test_bundle_beats_the_cheapest_singles(backend):
    doc = solve("didactic-bundle", backend)
    assert accepted(doc) == ["maji-bundle"]
    assert completed(doc) == ["kitui-wells"]
    assert (doc["value"], doc["cost"]) == (2000, "43000.00")
    assert spent(doc) == {"county-grant": "43000.00"}
    assert flows(doc) == {("county-grant", "kitui-wells/boreholes"): "41000.00",
                          ("county-grant", "kitui-wells/hand-pumps"): "2000.00"}
    # The singles would have been 40000.00 + 4800.00 = 44800.00.
    singles = {b.id: b.price for b in _market("didactic-bundle").bids}
    assert singles["rift-boreholes"] + singles["pump-singles"] == 4480000


def test_requires_buys_the_prerequisite_for_the_value_behind_it(backend):
    doc = solve("didactic-requires", backend)
    assert accepted(doc) == ["latrine-bid", "tank-bid", "handwashing-bid"]
    assert completed(doc) == ["school-wash"]
    assert funded(doc, "school-wash") == {"latrine-block": True, "rainwater-tank": True, "handwashing": True,
                                          "solar-lighting": False}
    assert (doc["value"], doc["cost"]) == (800, "9000.00")
    assert spent(doc) == {"school-fund": "9000.00"}
    assert flows(doc) == {("school-fund", "school-wash/latrine-block"): "5000.00",
                          ("school-fund", "school-wash/rainwater-tank"): "2500.00",
                          ("school-fund", "school-wash/handwashing"): "1500.00"}


def test_max_share_forces_co_funding(backend):
    doc = solve("didactic-max-share", backend)
    assert accepted(doc) == ["pipe-bid", "tank-bid"]
    assert completed(doc) == ["town-pipeline"]
    assert (doc["value"], doc["cost"]) == (3000, "80000.00")
    assert flows(doc) == {("foundation-grant", "town-pipeline/pipe"): "30000.00",
                          ("foundation-grant", "town-pipeline/tank"): "10000.00",
                          ("county-grant", "town-pipeline/pipe"): "30000.00",
                          ("county-grant", "town-pipeline/tank"): "10000.00"}
    assert spent(doc) == {"foundation-grant": "40000.00", "county-grant": "40000.00"}
    assert {p["id"]: p["returned"] for p in doc["pledges"]} == {"foundation-grant": "60000.00",
                                                                "county-grant": "0.00"}
    # The standpipes: only the half-paying foundation may pay, so they stay undone.
    assert list(reasons(doc)) == ["standpipes"]
    assert reasons(doc)["standpipes"][0].startswith("pledge limits")


def test_conditions_narrow_scopes_and_a_fixed_bid(backend):
    """Hand-computed (the note): Kisumu (40000.00) and Turkana (28000.00, the fixed contract) need 68000.00,
    and at most 20000.00 (foundation: half of Kisumu's one component, nothing elsewhere: its all_tags admit
    Kenyan sanitation only) + 24000.00 (ministry) + 24000.00 (bank) = 68000.00 may pay them, so every limit
    is tight. The bank pays at most half of each challenge, so at most 14000.00 of Turkana and the ministry
    the other 14000.00; the ministry's last 10000.00 go to Kisumu, exactly the foundation's condition; the
    bank's last 10000.00 and the foundation's 20000.00 pay the rest of Kisumu. Mandera is a conflict zone,
    which the ministry excludes, so the foundation's condition cannot hold there and the bank pays at most
    half. Gulu: the trust's min_spend (25000.00) is above all Gulu costs (20000.00), so it sits out, and
    the bank pays at most half. Without "fixed", lake-drillers' 25000.00 would win Turkana."""
    doc = solve("didactic-conditions", backend)
    assert doc["status"] == "optimal"
    assert accepted(doc) == ["kisumu-latrines", "turkana-contract"]
    assert completed(doc) == ["kisumu-sanitation", "turkana-water"]
    assert (doc["value"], doc["cost"]) == (3500, "68000.00")
    assert flows(doc) == {("foundation-grant", "kisumu-sanitation/latrines"): "20000.00",
                          ("ministry-budget", "kisumu-sanitation/latrines"): "10000.00",
                          ("bank-grant", "kisumu-sanitation/latrines"): "10000.00",
                          ("ministry-budget", "turkana-water/boreholes"): "14000.00",
                          ("bank-grant", "turkana-water/boreholes"): "14000.00"}
    assert {p["id"]: p["returned"] for p in doc["pledges"]} == {
        "foundation-grant": "30000.00", "ministry-budget": "0.00", "bank-grant": "0.00", "trust-grant": "30000.00"}
    assert sorted(reasons(doc)) == ["gulu-sanitation", "mandera-sanitation"]
    assert reasons(doc)["mandera-sanitation"][0].startswith("condition: pledge foundation-grant")
    assert any(r.startswith("min_spend: pledge trust-grant") for r in reasons(doc)["gulu-sanitation"])


# -- the realistic water market ------------------------------------------------------------

REASON_KINDS = [
    ("outcompeted", re.compile(r"^outcompeted")),
    ("money in scope", re.compile(r"^not enough money in scope")),
    ("pledge limits", re.compile(r"^pledge limits")),
    ("reliability", re.compile(r"^reliability target .* out of reach")),
    ("capacity", re.compile(r"^actor capacity")),
    ("no eligible bid", re.compile(r"^critical component \S+: no eligible bid")),
]


def reason_kind(text: str) -> str:
    for kind, pattern in REASON_KINDS:
        if pattern.search(text):
            return kind
    return text


def test_water_market_structure():
    raw = _raw("water-sdg6")
    market = _market("water-sdg6")
    assert market.name == "water-sdg6" and market.currency == "USD" and market.note
    assert len(market.challenges) >= 8
    assert all(3 <= len(c.components) <= 8 for c in market.challenges)
    regions = {t for c in market.challenges for t in c.tags if t.startswith("region:")}
    assert len(regions) >= 4
    assert all(c.value > 0 for c in market.challenges)
    assert sum(c.reliability is not None for c in market.challenges) >= 2
    components = market.components
    assert any(not k.critical and k.value > 0 for k in components)
    assert any(k.requires for k in components if not k.critical)
    assert any(k.min_reliability is not None for k in components)
    assert any(k.max_unit_price is not None for k in components)

    assert len(market.funders) >= 20
    pledges = market.pledges
    assert any(p.scope is None and p.match is None and p.max_share is None for p in pledges)   # unscoped
    assert any(p.scope is not None and p.scope.tags for p in pledges)
    assert any(p.scope is not None and p.scope.challenges for p in pledges)
    assert any(p.scope is not None and p.scope.components for p in pledges)
    assert any(p.max_share is not None for p in pledges)
    assert any(p.match is not None for p in pledges)
    crowd = max(market.funders, key=lambda f: len(f.pledges))
    assert len(crowd.pledges) >= 10 and len({p.amount for p in crowd.pledges}) == 1

    assert len(market.actors) >= 25
    bids = market.bids
    assert any(len(b.items) >= 2 for b in bids)                          # bundles
    assert any(b.exclusive_group is not None for b in bids)
    assert any(a.capacity is not None and a.capacity.budget is not None for a in market.actors)
    assert any(a.capacity is not None and a.capacity.load is not None for a in market.actors)
    assert any(b.reliability_given for b in bids)
    reliabilities = [a.reliability for a in market.actors]
    assert min(reliabilities) <= 0.82 and max(reliabilities) >= 0.97
    assert all(0.8 <= r <= 0.99 for r in reliabilities)
    pledged = sum(p.amount for p in pledges)
    assert raw["name"] == "water-sdg6"
    assert pledged < sum(b.price for b in bids) / 2                   # money is scarce


def test_water_market_outcome(backend):
    market = _market("water-sdg6")
    doc = solve("water-sdg6", backend)
    assert doc["status"] == "optimal"
    assert verify_allocation(market, doc) == []
    assert (doc["value"], doc["cost"]) == (112000, "1214310.00")        # as the note says
    done = completed(doc)
    assert 0 < len(done) < len(market.challenges)
    kinds = {cid: reason_kind(texts[0]) for cid, texts in reasons(doc).items()}
    assert len(set(kinds.values())) >= 3, kinds
    assert kinds == {"turkana-solar": "outcompeted", "dodoma-piped": "money in scope",
                     "afar-deep-wells": "reliability", "borana-boreholes": "capacity",
                     "machinga-schools": "no eligible bid"}
    assert any("above the reserve" in text for text in reasons(doc)["machinga-schools"])
    # Money is returned, yet not one funded challenge breaks its reliability target.
    assert sum(float(p["returned"]) for p in doc["pledges"]) > 0
    targets = {c.id: c.reliability for c in market.challenges}
    for result in doc["challenges"]:
        if result["completed"] and targets[result["id"]] is not None:
            assert result["reliability"] >= targets[result["id"]] - 1e-9
