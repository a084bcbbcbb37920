"""Version 1.1 market files: every new key read and checked with its JSON path, the narrower scopes'
meaning, version-1 files refusing 1.1 keys, and load -> write -> load round trips."""
import copy
import json

import pytest

from solver import generate as generator
from tests.solver.helpers import changed_copy
from tests.solver.helpers import parse_problems as problems_of
from solver.loading import Problem, load_market, parse_market
from solver.market import Condition, Scope
from solver.writing import market_document, market_json
from tests.paths import FIXTURES

GOOD = {
    "format": "swarm-market/1.1",
    "name": "conditions",
    "challenges": [
        {"id": "kisumu-san", "tags": ["region:kenya", "sector:sanitation"], "value": 100,
         "components": [{"id": "latrines", "quantity": 4}]},
        {"id": "kisumu-water", "tags": ["region:kenya", "sector:water"], "value": 50,
         "components": [{"id": "wells"}]},
        {"id": "gulu-san", "tags": ["region:uganda", "sector:sanitation", "risk:conflict"], "value": 80,
         "components": [{"id": "latrines"}]},
    ],
    "funders": [
        {"id": "foundation", "pledges": [
            {"id": "f1", "amount": "50000.00", "scope": {"all_tags": ["region:kenya", "sector:sanitation"]},
             "max_share": 0.5, "min_spend": "10000.00", "max_challenge_share": 0.75,
             "conditions": [{"funder": "ministry", "min": "5000.00"}]}]},
        # Named by the foundation's condition before it is defined: conditions are checked at the end.
        {"id": "ministry", "pledges": [
            {"id": "m1", "amount": "80000", "scope": {"tags": ["sector:sanitation"], "exclude_tags": ["risk:conflict"]}}]},
    ],
    "actors": [{"id": "a1", "bids": [
        {"id": "b1", "items": [{"component": "kisumu-san/latrines", "price": "20000"}], "fixed": True},
        {"id": "b2", "items": [{"component": "kisumu-water/wells", "price": "900"}], "fixed": False}]}],
}


def changed(path, value):
    return changed_copy(GOOD, path, value)


PLEDGE = ["funders", 0, "pledges", 0]
BID = ["actors", 0, "bids", 0]


def test_every_1_1_key_loads_into_the_market():
    warnings: list[Problem] = []
    market = parse_market(GOOD, warnings=warnings)
    assert warnings == []
    f1, m1 = market.pledges
    assert f1.min_spend == 1_000_000 and f1.max_challenge_share == 0.75 and f1.max_share == 0.5
    assert f1.conditions == (Condition(funder_id="ministry", min=500_000),)
    assert f1.scope == Scope(all_tags=("region:kenya", "sector:sanitation"))
    assert m1.scope == Scope(tags=("sector:sanitation",), exclude_tags=("risk:conflict",))
    assert m1.min_spend is None and m1.max_challenge_share is None and m1.conditions == ()
    assert [b.fixed for b in market.bids] == [True, False]
    assert market.uses_1_1


@pytest.mark.parametrize("path, value, expected", [
    (PLEDGE + ["min_spend"], "50000.01",
     "funders[0].pledges[0].min_spend: 50000.01 is more than the pledge's amount 50000.00"),
    (PLEDGE + ["min_spend"], "0", "funders[0].pledges[0].min_spend: must be greater than 0"),
    (PLEDGE + ["min_spend"], 1.5, "funders[0].pledges[0].min_spend: amount 1.5 is a JSON float"),
    (PLEDGE + ["max_challenge_share"], 0, "funders[0].pledges[0].max_challenge_share: 0 is not in (0, 1]"),
    (PLEDGE + ["max_challenge_share"], 1.25, "funders[0].pledges[0].max_challenge_share: 1.25 is not in (0, 1]"),
    (PLEDGE + ["max_challenge_share"], "0.5",
     "funders[0].pledges[0].max_challenge_share: expected a number in (0, 1], got the string"),
    (PLEDGE + ["max_challenge_share"], 0.0001,
     "funders[0].pledges[0].max_challenge_share: 0.0001 must be at least 0.001: the engine's bound for "
     "max_challenge_share"),
    (PLEDGE + ["conditions"], [], "funders[0].pledges[0].conditions: list at least one condition"),
    (PLEDGE + ["conditions"], {"funder": "ministry", "min": "1"}, "funders[0].pledges[0].conditions: expected a list"),
    (PLEDGE + ["conditions", 0, "funder"], "treasury", 'funders[0].pledges[0].conditions[0].funder: unknown funder "treasury"'),
    (PLEDGE + ["conditions", 0, "funder"], "foundation",
     'funders[0].pledges[0].conditions[0].funder: a pledge of funder "foundation" may not name its own funder'),
    (PLEDGE + ["conditions", 0, "funder"], 7, "funders[0].pledges[0].conditions[0].funder: expected an id string"),
    (PLEDGE + ["conditions", 0, "funder"], KeyError, 'funders[0].pledges[0].conditions[0]: missing required key "funder"'),
    (PLEDGE + ["conditions", 0, "min"], "0", "funders[0].pledges[0].conditions[0].min: must be greater than 0"),
    (PLEDGE + ["conditions", 0, "min"], "-5", "funders[0].pledges[0].conditions[0].min: negative amount"),
    (PLEDGE + ["conditions", 0, "min"], KeyError, 'funders[0].pledges[0].conditions[0]: missing required key "min"'),
    (PLEDGE + ["conditions", 0], "ministry", "funders[0].pledges[0].conditions[0]: expected a condition"),
    (PLEDGE + ["scope", "all_tags"], "region:kenya", "funders[0].pledges[0].scope.all_tags: expected a list"),
    (PLEDGE + ["scope", "exclude_tags"], [3], "funders[0].pledges[0].scope.exclude_tags[0]: expected a string"),
    (BID + ["fixed"], "yes", 'actors[0].bids[0].fixed: expected true or false, got the string "yes"'),
    (BID + ["fixed"], 1, "actors[0].bids[0].fixed: expected true or false, got the number 1"),
    (BID + ["fixed"], None, "actors[0].bids[0].fixed: expected true or false, got null"),
])
def test_each_bad_1_1_value_is_an_error_at_its_path(path, value, expected):
    problems = problems_of(changed(path, value))
    assert any(p.startswith(expected) for p in problems), problems


def test_a_funder_named_twice_is_an_error_at_the_second():
    doc = changed(PLEDGE + ["conditions"], [{"funder": "ministry", "min": "1"}, {"funder": "ministry", "min": "2"}])
    assert problems_of(doc) == ['funders[0].pledges[0].conditions[1].funder: funder "ministry" is named twice: '
                                "conditions[0] names it already"]


def test_problems_are_collected_together():
    doc = changed(PLEDGE + ["min_spend"], "99999")
    doc["funders"][0]["pledges"][0]["conditions"] = [{"funder": "nobody", "min": "0"}]
    doc["actors"][0]["bids"][1]["fixed"] = "no"
    assert problems_of(doc) == [
        "funders[0].pledges[0].min_spend: 99999.00 is more than the pledge's amount 50000.00",
        "funders[0].pledges[0].conditions[0].min: must be greater than 0",
        'funders[0].pledges[0].conditions[0].funder: unknown funder "nobody"',
        "actors[0].bids[1].fixed: expected true or false, got the string \"no\""]


def test_unknown_keys_in_a_condition_are_warnings():
    doc = changed(PLEDGE + ["conditions", 0, "mni"], "3")
    warnings: list[Problem] = []
    parse_market(doc, warnings=warnings)
    assert [str(w) for w in warnings] == ['funders[0].pledges[0].conditions[0].mni: unknown key "mni" (ignored)']


@pytest.mark.parametrize("path, key", [
    (PLEDGE, "min_spend"), (PLEDGE, "max_challenge_share"), (PLEDGE, "conditions"),
    (PLEDGE + ["scope"], "all_tags"), (["funders", 1, "pledges", 0, "scope"], "exclude_tags"), (BID, "fixed"),
])
def test_a_version_1_file_may_not_use_a_1_1_key(path, key):
    doc = changed(["format"], "swarm-market/1")
    problems = problems_of(doc)
    where = ".".join(f"[{p}]" if isinstance(p, int) else p for p in path + [key]).replace(".[", "[")
    assert f'{where}: "{key}" is a version 1.1 key: say "format": "swarm-market/1.1"' in problems


def test_a_version_1_file_names_even_an_empty_or_false_1_1_key():
    doc = {"format": "swarm-market/1", "challenges": [], "funders": [{"id": "f", "pledges": [
        {"id": "p", "amount": 5, "scope": {"tags": ["x"], "all_tags": []}}]}], "actors": []}
    assert problems_of(doc) == ['funders[0].pledges[0].scope.all_tags: "all_tags" is a version 1.1 key: say '
                                '"format": "swarm-market/1.1"']


def test_other_formats_are_refused_naming_both_versions():
    assert problems_of(changed(["format"], "swarm-market/1.2")) == [
        'format: expected "swarm-market/1" or "swarm-market/1.1", got "swarm-market/1.2"']


# -- scopes: all_tags and exclude_tags ------------------------------------------------------------

TAGS = {"ke-san": ["region:kenya", "sector:sanitation"], "ke-water": ["region:kenya", "sector:water"],
        "ug-san": ["region:uganda", "sector:sanitation"], "ke-san-war": ["region:kenya", "sector:sanitation", "risk:conflict"]}


def admitted(scope: dict) -> list[str]:
    doc = {"format": "swarm-market/1.1",
           "challenges": [{"id": cid, "tags": tags, "components": [{"id": "k"}]} for cid, tags in TAGS.items()],
           "funders": [{"id": "f", "pledges": [{"id": "p", "amount": 5, "scope": scope}]}], "actors": []}
    market = parse_market(doc)
    (pledge,) = market.pledges
    return [c.id for c in market.challenges if pledge.admits(c, c.components[0])]


@pytest.mark.parametrize("scope, expected", [
    # version 1: any entry matches, so two tags widen
    ({"tags": ["region:kenya", "sector:sanitation"]}, ["ke-san", "ke-water", "ug-san", "ke-san-war"]),
    # all_tags alone starts from every component: Kenya *and* sanitation
    ({"all_tags": ["region:kenya", "sector:sanitation"]}, ["ke-san", "ke-san-war"]),
    # all_tags besides the entries: a challenge listed by id must still carry every tag
    ({"challenges": ["ke-water", "ug-san"], "all_tags": ["sector:sanitation"]}, ["ug-san"]),
    # exclude_tags wins over whatever else matches, a component entry included
    ({"tags": ["region:kenya"], "components": ["ke-san-war/k"], "exclude_tags": ["risk:conflict"]},
     ["ke-san", "ke-water"]),
    # exclude_tags alone: everything but conflict zones
    ({"exclude_tags": ["risk:conflict"]}, ["ke-san", "ke-water", "ug-san"]),
    ({"all_tags": ["region:kenya", "sector:sanitation"], "exclude_tags": ["risk:conflict"]}, ["ke-san"]),
    # empty lists change nothing
    ({"tags": ["region:uganda"], "all_tags": [], "exclude_tags": []}, ["ug-san"]),
    # a tag no challenge has: all_tags admits nothing, exclude_tags excludes nothing
    ({"all_tags": ["region:mars"]}, []),
    ({"exclude_tags": ["region:mars"]}, ["ke-san", "ke-water", "ug-san", "ke-san-war"]),
])
def test_narrower_scopes_admit_what_the_spec_says(scope, expected):
    assert admitted(scope) == expected


@pytest.mark.parametrize("scope, warned", [
    ({}, True), ({"all_tags": []}, True), ({"all_tags": [], "exclude_tags": []}, True),
    ({"all_tags": ["region:kenya"]}, False), ({"exclude_tags": ["risk:conflict"]}, False),
])
def test_a_scope_that_lists_nothing_is_warned_of_unless_it_narrows_every_component(scope, warned):
    doc = changed(PLEDGE + ["scope"], scope)
    warnings: list[Problem] = []
    market = parse_market(doc, warnings=warnings)
    texts = [str(w) for w in warnings]
    assert texts == (["funders[0].pledges[0].scope: the scope lists nothing, so the pledge can pay for nothing "
                      "(leave out scope to admit every component)"] if warned else [])
    assert (admitted(scope) == []) == warned
    assert market.pledges[0].scope is not None


# -- writing back: load -> write -> load ------------------------------------------------------------

def round_trip(market):
    return parse_market(json.loads(market_json(market)))


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_every_fixture_round_trips(path):
    market = load_market(path)
    again = round_trip(market)
    assert again == market and again.note == market.note
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert market_document(market)["format"] == raw["format"]


def test_a_version_1_market_is_written_as_version_1_without_1_1_keys():
    doc = generator.generate(10, 30, 15, seed=4)
    market = parse_market(doc)
    written = market_document(market)
    assert not market.uses_1_1 and written["format"] == "swarm-market/1"
    text = json.dumps(written)
    for key in ("min_spend", "max_challenge_share", "conditions", "all_tags", "exclude_tags", "fixed"):
        assert f'"{key}"' not in text
    assert round_trip(market) == market


def test_a_1_1_market_round_trips_with_every_key():
    market = parse_market(GOOD)
    written = market_document(market)
    assert written["format"] == "swarm-market/1.1"
    pledge = written["funders"][0]["pledges"][0]
    assert pledge["min_spend"] == "10000.00" and pledge["max_challenge_share"] == 0.75
    assert pledge["conditions"] == [{"funder": "ministry", "min": "5000.00"}]
    assert [b.get("fixed") for b in written["actors"][0]["bids"]] == [True, None]
    assert round_trip(market) == market


def test_a_1_1_file_that_uses_no_1_1_feature_is_written_as_version_1():
    doc = copy.deepcopy(GOOD)
    doc["funders"] = [{"id": "f", "pledges": [{"id": "p", "amount": "5", "scope": {"tags": ["x"], "all_tags": []}}]}]
    doc["actors"][0]["bids"][0]["fixed"] = False
    market = parse_market(doc)
    assert not market.uses_1_1
    assert market_document(market)["format"] == "swarm-market/1"
    assert round_trip(market) == market

