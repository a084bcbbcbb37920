"""Reading market files: every validation error, with its JSON path, collected together."""
import copy
import json

import pytest

from tests.solver.helpers import changed_copy
from tests.solver.helpers import parse_problems as problems_of
from solver.loading import MarketError, Problem, load_market, parse_market, parse_market_text
from solver.money import MoneyError, format_money, parse_money

GOOD = {
    "format": "swarm-market/1",
    "name": "small",
    "currency": "KES",
    "challenges": [
        {"id": "kisumu", "value": 100, "tags": ["region:kenya"], "reliability": 0.8,
         "components": [
             {"id": "wells", "quantity": 3, "max_unit_price": "500.00"},
             {"id": "pumps", "requires": ["wells"], "min_reliability": 0.7},
             {"id": "training", "critical": False, "value": 5, "requires": ["pumps"]}]},
    ],
    "funders": [{"id": "f1", "name": "Fund", "pledges": [
        {"id": "p1", "amount": "1250.50", "scope": {"tags": ["region:kenya"]}, "max_share": 0.5},
        {"id": "p2", "amount": 300, "match": 1}]}],
    "actors": [{"id": "a1", "reliability": 0.9, "capacity": {"budget": "5000", "load": 3}, "bids": [
        {"id": "b1", "items": [{"component": "kisumu/wells", "price": "900.00"},
                               {"component": "kisumu/pumps", "quantity": 1, "price": "10"}],
         "load": 1.5, "exclusive_group": "g", "reliability": 0.95}]}],
}


def with_change(path, value):
    return changed_copy(GOOD, path, value)


def test_good_market_loads_into_cents_and_defaults():
    market = parse_market(GOOD)
    assert market.currency == "KES"
    wells, pumps, training = market.challenges[0].components
    assert wells.key == "kisumu/wells" and wells.max_unit_price == 50000 and wells.quantity == 3
    assert pumps.quantity == 1 and pumps.critical and pumps.requires == ("wells",)
    assert not training.critical and training.value == 5
    p1, p2 = market.pledges
    assert p1.amount == 125050 and p1.max_share == 0.5 and p2.amount == 30000 and p2.match == 1
    bid = market.bids[0]
    assert [i.quantity for i in bid.items] == [3, 1]          # quantity defaults to the component's
    assert bid.price == 91000 and bid.reliability == 0.95 and bid.load == 1.5
    assert market.actors[0].capacity.budget == 500000


def test_actor_reliability_is_the_default_of_its_bids():
    doc = with_change(["actors", 0, "bids", 0, "reliability"], KeyError)
    assert parse_market(doc).bids[0].reliability == 0.9


@pytest.mark.parametrize("raw, cents", [("1250.50", 125050), ("1250.5", 125050), ("7", 700), (7, 700),
                                        ("0.01", 1), ("10000000000000", 10**15)])
def test_money_parses_to_cents(raw, cents):
    assert parse_money(raw) == cents
    assert parse_money(format_money(cents)) == cents


@pytest.mark.parametrize("raw", [1.5, "-3", -3, "1.234", "abc", "1e9", "", True, None, [], "10000000000000.01",
                                 "\u0661\u0662.50", "12.\u0665", "\uff11\uff12"])   # digits only 0-9
def test_money_rejects_floats_negatives_and_junk(raw):
    with pytest.raises(MoneyError):
        parse_money(raw)


@pytest.mark.parametrize("path, value, expected", [
    (["challenges", 0, "id"], "kisumu wells", 'challenges[0].id: invalid id "kisumu wells"'),
    (["challenges", 0, "id"], "x" * 65, "challenges[0].id: invalid id"),
    (["challenges", 0, "id"], "kisumu\n", 'challenges[0].id: invalid id "kisumu\n"'),   # no newline before the end
    (["funders", 0, "pledges", 0, "amount"], "\u0661\u0662", "funders[0].pledges[0].amount: amount '١٢' is not a decimal"),
    (["challenges", 0, "reliability"], 1.5, "challenges[0].reliability: 1.5 is not in (0, 1]"),
    (["challenges", 0, "reliability"], 0, "challenges[0].reliability: 0 is not in (0, 1]"),
    (["challenges", 0, "value"], -1, "challenges[0].value: -1 is not >= 0"),
    (["challenges", 0, "value"], "100", "challenges[0].value: expected a number >= 0"),
    (["challenges", 0, "components"], [], "challenges[0].components: a challenge needs at least one component"),
    (["challenges", 0, "components", 0, "quantity"], 0, "challenges[0].components[0].quantity: 0 is not a whole number >= 1"),
    (["challenges", 0, "components", 0, "quantity"], 2.5, "challenges[0].components[0].quantity: expected a whole number"),
    (["challenges", 0, "components", 0, "quantity"], 10**9, "challenges[0].components[0].quantity: 1000000000 is above 999,999,999"),
    (["actors", 0, "bids", 0, "items", 0, "quantity"], 2**70, "actors[0].bids[0].items[0].quantity: 1180591620717411303424 is above 999,999,999"),
    (["challenges", 0, "components", 0, "value"], 3, "challenges[0].components[0].value: only a non-critical component"),
    (["challenges", 0, "components", 0, "critical"], "yes", "challenges[0].components[0].critical: expected true or false"),
    (["challenges", 0, "components", 0, "max_unit_price"], 12.5, "challenges[0].components[0].max_unit_price: amount 12.5 is a JSON float"),
    (["challenges", 0, "components", 1, "min_reliability"], 2, "challenges[0].components[1].min_reliability: 2 is not in (0, 1]"),
    (["challenges", 0, "components", 1, "requires"], ["drains"], 'challenges[0].components[1].requires[0]: unknown component "drains"'),
    (["challenges", 0, "components", 1, "requires"], ["pumps"], 'challenges[0].components[1].requires[0]: component "pumps" requires itself'),
    (["funders", 0, "pledges", 0, "amount"], "-3", "funders[0].pledges[0].amount: negative amount"),
    (["funders", 0, "pledges", 0, "amount"], "0", "funders[0].pledges[0].amount: must be greater than 0"),
    (["funders", 0, "pledges", 0, "amount"], 1250.5, "funders[0].pledges[0].amount: amount 1250.5 is a JSON float"),
    (["funders", 0, "pledges", 0, "amount"], "1.001", "funders[0].pledges[0].amount: amount '1.001' has more than two fraction digits"),
    (["funders", 0, "pledges", 0, "amount"], KeyError, 'funders[0].pledges[0]: missing required key "amount"'),
    (["funders", 0, "pledges", 0, "max_share"], 0, "funders[0].pledges[0].max_share: 0 is not in (0, 1]"),
    (["funders", 0, "pledges", 1, "match"], 0, "funders[0].pledges[1].match: 0 is not > 0"),
    (["funders", 0, "pledges", 0, "scope"], {"challenges": ["turkana"]}, 'funders[0].pledges[0].scope.challenges[0]: unknown challenge "turkana"'),
    (["funders", 0, "pledges", 0, "scope"], {"components": ["kisumu/wels"]}, 'funders[0].pledges[0].scope.components[0]: unknown component "kisumu/wels"'),
    (["funders", 0, "pledges", 0, "scope"], ["kisumu"], "funders[0].pledges[0].scope: expected a scope (a JSON object), got a list"),
    (["actors", 0, "reliability"], 0, "actors[0].reliability: 0 is not in (0, 1]"),
    (["actors", 0, "capacity", "budget"], "-1", "actors[0].capacity.budget: negative amount"),
    (["actors", 0, "capacity", "load"], -2, "actors[0].capacity.load: -2 is not >= 0"),
    (["actors", 0, "bids", 0, "items"], [], "actors[0].bids[0].items: a bid needs at least one item"),
    (["actors", 0, "bids", 0, "items", 0, "component"], "kisumu/wells2", 'actors[0].bids[0].items[0].component: unknown component "kisumu/wells2"'),
    (["actors", 0, "bids", 0, "items", 1, "component"], "kisumu/wells", 'actors[0].bids[0].items[1].component: component "kisumu/wells" repeats items[0] of the same bid'),
    (["actors", 0, "bids", 0, "items", 0, "quantity"], 0, "actors[0].bids[0].items[0].quantity: 0 is not a whole number >= 1"),
    (["actors", 0, "bids", 0, "items", 0, "price"], 900.0, "actors[0].bids[0].items[0].price: amount 900.0 is a JSON float"),
    (["actors", 0, "bids", 0, "reliability"], 1.01, "actors[0].bids[0].reliability: 1.01 is not in (0, 1]"),
    (["actors", 0, "bids", 0, "load"], -1, "actors[0].bids[0].load: -1 is not >= 0"),
    (["actors", 0, "bids", 0, "exclusive_group"], 3, "actors[0].bids[0].exclusive_group: expected a string"),
    (["currency"], "euro", 'currency: "euro" is not an ISO 4217 code'),
    (["currency"], "EUR\n", 'currency: "EUR\n" is not an ISO 4217 code'),
    (["challenges"], {}, "challenges: expected a list, got an object"),
    (["actors"], KeyError, 'missing required key "actors"'),
])
def test_each_validation_error_names_its_path(path, value, expected):
    found = problems_of(with_change(path, value))
    assert any(p.startswith(expected) for p in found), found


def test_duplicate_ids_of_every_kind():
    doc = copy.deepcopy(GOOD)
    doc["challenges"].append(copy.deepcopy(doc["challenges"][0]))
    doc["challenges"][0]["components"].append({"id": "wells"})
    doc["funders"].append({"id": "f1", "pledges": [{"id": "p1", "amount": "1"}]})
    doc["actors"].append({"id": "a1", "bids": [{"id": "b1", "items": [{"component": "kisumu/pumps", "price": "1"}]}]})
    found = problems_of(doc)
    for expected in ['challenges[1].id: duplicate challenge id "kisumu"',
                     'challenges[0].components[3].id: duplicate component id "wells" in challenge "kisumu"',
                     'funders[1].id: duplicate funder id "f1"',
                     'funders[1].pledges[0].id: duplicate pledge id "p1"',
                     'actors[1].id: duplicate actor id "a1"',
                     'actors[1].bids[0].id: duplicate bid id "b1"']:
        assert expected in found, found


def test_requires_cycle_is_reported_once():
    doc = copy.deepcopy(GOOD)
    doc["challenges"][0]["components"][0]["requires"] = ["training"]
    found = problems_of(doc)
    cycles = [p for p in found if "requires cycle" in p]
    assert len(cycles) == 1 and "wells" in cycles[0] and "pumps" in cycles[0] and "training" in cycles[0]


def test_a_challenge_needs_a_critical_component():
    doc = copy.deepcopy(GOOD)
    doc["challenges"][0]["components"] = [{"id": "x", "critical": False}]
    assert "challenges[0].components: at least one component must be critical" in problems_of(doc)


def test_all_errors_are_collected_not_just_the_first():
    doc = copy.deepcopy(GOOD)
    doc["funders"][0]["pledges"][0]["amount"] = 1.5
    doc["actors"][0]["bids"][0]["items"][0]["component"] = "kisumu/nope"
    doc["challenges"][0]["reliability"] = 7
    assert len(problems_of(doc)) == 3


@pytest.mark.parametrize("text, expected", [
    (b"", "the file is empty"),
    (b"   \n", "the file is empty"),
    (b"{\"format\": ", "not valid JSON: Expecting value at line 1, column 12"),
    (b"[1, 2]", "not a market: expected a JSON object"),
    (b"{\"hello\": 1}", 'not a market: no "format"'),
    (b"{\"format\": \"swarm-allocation/1\"}", "that is an allocation, not a market"),
    (b"{\"format\": \"swarm-market/2\", \"challenges\": [], \"funders\": [], \"actors\": []}", 'format: expected "swarm-market/1"'),
    (b"\xff\xfe", "not UTF-8 text"),
    (b"{\"format\": \"swarm-market/1\", \"challenges\": [], \"funders\": [], \"actors\": [], \"name\": NaN}", "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON: nested too deeply"),
    (b"{\"format\": \"swarm-market/1\", \"challenges\": [], \"funders\": [], \"actors\": [], \"funders\": []}",
     "funders: appears more than once in the same object"),
    (b"{\"format\": \"swarm-market/1\", \"challenges\": [{\"id\": \"a\", \"id\": \"b\"}], \"funders\": [], \"actors\": []}",
     "challenges[0].id: appears more than once in the same object"),
])
def test_files_that_are_not_markets(text, expected):
    with pytest.raises(MarketError) as caught:
        parse_market_text(text, "x.json")
    assert any(expected in str(p) for p in caught.value.problems), caught.value.problems


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(MarketError, match="no such file"):
        load_market(tmp_path / "nope.json")
    with pytest.raises(MarketError, match="is a directory"):
        load_market(tmp_path)


def test_reading_stops_at_the_size_limit(tmp_path, monkeypatch):
    """A file (or a device without end, such as /dev/zero) beyond MAX_FILE_BYTES is refused, naming the
    file, after reading that much: never read whole into memory."""
    from solver import loading
    monkeypatch.setattr(loading, "MAX_FILE_BYTES", 2**20, raising=False)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({**GOOD, "note": "x" * 2**20}))
    for path in (big, "/dev/zero"):
        with pytest.raises(MarketError) as caught:
            load_market(path)
        assert [str(p) for p in caught.value.problems] == ["larger than 1 MB, the most a market file may be"]
        assert caught.value.source == str(path)


def test_empty_market_is_valid():
    market = parse_market({"format": "swarm-market/1", "challenges": [], "funders": [], "actors": []})
    assert market.challenges == () and market.name == "" and market.currency == "USD"


def test_unknown_keys_are_warnings_not_errors():
    doc = copy.deepcopy(GOOD)
    doc["challenges"][0]["reliabilty"] = 0.9
    doc["note"] = "a didactic note is fine"
    warnings: list[Problem] = []
    parse_market(doc, warnings=warnings)
    assert [str(w) for w in warnings] == ['challenges[0].reliabilty: unknown key "reliabilty" (ignored)']


def test_loading_is_deterministic(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(GOOD))
    assert load_market(path) == load_market(path)
