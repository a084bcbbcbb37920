"""Market files in and out of the database: import, export, and the round trip."""
from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver.loading import parse_market
from solver.money import format_money, parse_money

from market import services
from market.errors import InvalidInput
from market.models import Round

from tests.small_market import market_doc

from .helpers import import_round

# Text as people type it: any unicode but control characters and lone surrogates (refused on import, see below).
TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=12)
IDS = st.from_regex(r"\A[A-Za-z0-9_.:\-]{1,8}\Z")
PROBABILITY = st.one_of(st.just(1), st.floats(0.01, 1.0))
# Values and loads within the engine's bounds (solver/bounds.py): 0, or thousandths up to 10^6.
NUMBER = st.one_of(st.integers(0, 10**6), st.floats(0, 1e6, allow_nan=False).map(lambda v: round(v, 3)))
MONEY = st.integers(0, 10**9).map(format_money) | st.integers(0, 10**6)


def maybe(draw: st.DrawFn, target: dict[str, Any], key: str, strategy: st.SearchStrategy[Any]) -> None:
    if draw(st.booleans()):
        target[key] = draw(strategy)


@st.composite
def markets(draw: st.DrawFn, v1_1: bool = False) -> dict[str, Any]:
    """Small markets that exercise what storage could lose: optional keys left out or given
    (defaults), floats and integers, unicode names, scopes, capacities, orders; with `v1_1`, every key of
    version 1.1 too (min_spend, max_challenge_share, conditions, all_tags, exclude_tags, fixed)."""
    challenges = []
    for i in range(draw(st.integers(0, 3))):
        challenge: dict[str, Any] = {"id": f"c{i}-{draw(IDS)}"}
        maybe(draw, challenge, "title", TEXT)
        maybe(draw, challenge, "tags", st.lists(TEXT, max_size=3))
        maybe(draw, challenge, "value", NUMBER)
        maybe(draw, challenge, "reliability", PROBABILITY)
        components = []
        for j in range(draw(st.integers(1, 3))):
            component: dict[str, Any] = {"id": f"k{j}"}
            maybe(draw, component, "title", TEXT)
            maybe(draw, component, "unit", TEXT)
            maybe(draw, component, "quantity", st.integers(1, 1000))
            if j > 0 and draw(st.booleans()):
                component["critical"] = False
                maybe(draw, component, "value", NUMBER)
            elif draw(st.booleans()):
                component["critical"] = True
            if j > 0 and draw(st.booleans()):
                component["requires"] = [f"k{r}" for r in draw(st.lists(st.integers(0, j - 1), min_size=1,
                                                                          max_size=2, unique=True))]
            maybe(draw, component, "min_reliability", PROBABILITY)
            maybe(draw, component, "max_unit_price", MONEY)
            components.append(component)
        challenge["components"] = components
        challenges.append(challenge)
    keys = [f"{c['id']}/{k['id']}" for c in challenges for k in c["components"]]
    funders, pledge_no = [], 0
    funder_count = draw(st.integers(0, 3))
    for f in range(funder_count):
        funder: dict[str, Any] = {"id": f"f{f}"}
        maybe(draw, funder, "name", TEXT)
        pledges = []
        for _ in range(draw(st.integers(0, 3))):
            pledge: dict[str, Any] = {"id": f"p{pledge_no}", "amount": draw(MONEY.filter(lambda m: m not in (0, "0.00")))}
            pledge_no += 1
            if draw(st.booleans()):
                scope: dict[str, Any] = {}
                if challenges:
                    maybe(draw, scope, "challenges", st.lists(st.sampled_from([c["id"] for c in challenges]),
                                                              min_size=1, max_size=2))
                    maybe(draw, scope, "components", st.lists(st.sampled_from(keys), min_size=1, max_size=2))
                maybe(draw, scope, "tags", st.lists(TEXT, min_size=1, max_size=2))
                if v1_1:
                    maybe(draw, scope, "all_tags", st.lists(TEXT, max_size=2))
                    maybe(draw, scope, "exclude_tags", st.lists(TEXT, max_size=2))
                pledge["scope"] = scope
            maybe(draw, pledge, "max_share", PROBABILITY)
            maybe(draw, pledge, "match", st.one_of(st.integers(1, 5), st.floats(0.01, 10)))
            if v1_1:
                amount = parse_money(pledge["amount"])
                # Money as a string, or a JSON integer of whole units when it is one.
                maybe(draw, pledge, "min_spend", st.integers(1, amount).flatmap(lambda c: st.sampled_from(
                    [format_money(c)] + ([c // 100] if c % 100 == 0 else []))))
                maybe(draw, pledge, "max_challenge_share", PROBABILITY)
                others = [f"f{o}" for o in range(funder_count) if o != f]
                if others and draw(st.booleans()):
                    named = draw(st.lists(st.sampled_from(others), min_size=1, unique=True))
                    pledge["conditions"] = [{"funder": o, "min": draw(MONEY.filter(lambda m: m not in (0, "0.00")))}
                                            for o in named]
            pledges.append(pledge)
        funder["pledges"] = pledges
        funders.append(funder)
    actors, bid_no = [], 0
    for a in range(draw(st.integers(0, 3))):
        actor: dict[str, Any] = {"id": f"a{a}"}
        maybe(draw, actor, "name", TEXT)
        maybe(draw, actor, "reliability", PROBABILITY)
        if draw(st.booleans()):
            capacity: dict[str, Any] = {}
            maybe(draw, capacity, "budget", MONEY)
            maybe(draw, capacity, "load", NUMBER)
            actor["capacity"] = capacity
        bids = []
        for _ in range(draw(st.integers(0, 3)) if keys else 0):
            chosen = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True))
            items = []
            for key in chosen:
                item: dict[str, Any] = {"component": key, "price": draw(MONEY)}
                maybe(draw, item, "quantity", st.integers(1, 50))
                items.append(item)
            bid: dict[str, Any] = {"id": f"b{bid_no}", "items": items}
            bid_no += 1
            maybe(draw, bid, "reliability", PROBABILITY)
            maybe(draw, bid, "load", NUMBER)
            maybe(draw, bid, "exclusive_group", TEXT)
            if v1_1:
                maybe(draw, bid, "fixed", st.booleans())
            bids.append(bid)
        actor["bids"] = bids
        actors.append(actor)
    doc: dict[str, Any] = {"format": "swarm-market/1.1" if v1_1 else "swarm-market/1", "challenges": challenges,
                           "funders": funders, "actors": actors}
    maybe(draw, doc, "name", TEXT)
    maybe(draw, doc, "currency", st.sampled_from(["USD", "KES", "EUR"]))
    return doc


def round_trip(db, doc: dict[str, Any]) -> None:
    market = parse_market(doc)
    with db.sessions.begin() as session:
        round_id = services.import_market(session, None, market).id
    with db.sessions.begin() as session:
        exported = services.export_round(session, None, round_id)
    assert parse_market(json.loads(json.dumps(exported))) == market
    again = import_round(db, exported)
    with db.sessions.begin() as session:
        assert services.export_round(session, None, again) == exported


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(doc=markets())
def test_export_of_an_import_is_the_same_market(db, doc):
    round_trip(db, doc)


@SETTINGS
@given(doc=markets(v1_1=True))
def test_export_of_an_import_is_the_same_market_with_every_1_1_key(db, doc):
    round_trip(db, doc)


def test_a_1_1_file_with_every_key_round_trips_and_exports_as_1_1(db):
    doc = market_doc()
    doc["format"] = "swarm-market/1.1"
    doc["funders"][0]["pledges"][0].update({
        "scope": {"tags": ["sdg:6.1"], "all_tags": ["sdg:6.1"], "exclude_tags": ["conflict"]},
        "min_spend": "100.01", "max_challenge_share": 0.75, "conditions": [{"funder": "f2", "min": "50"}]})
    doc["funders"][1]["pledges"][0]["scope"] = {"exclude_tags": ["sdg:6.1"]}
    doc["actors"][1]["bids"][0]["fixed"] = True
    round_trip(db, doc)
    round_id = import_round(db, doc)
    with db.sessions.begin() as session:
        exported = services.export_round(session, None, round_id)
    assert exported["format"] == "swarm-market/1.1"
    assert exported["funders"][0]["pledges"][0] == {
        "id": "p1", "amount": "9000.00",
        "scope": {"tags": ["sdg:6.1"], "all_tags": ["sdg:6.1"], "exclude_tags": ["conflict"]},
        "min_spend": "100.01", "max_challenge_share": 0.75, "conditions": [{"funder": "f2", "min": "50.00"}]}
    assert exported["funders"][1]["pledges"][0]["scope"] == {"exclude_tags": ["sdg:6.1"]}
    assert [b.get("fixed") for a in exported["actors"] for b in a["bids"]] == [None, None, True]


def test_a_1_1_file_that_uses_no_1_1_key_exports_as_version_1_byte_for_byte(db):
    doc = market_doc()
    with db.sessions.begin() as session:
        version_1 = services.export_round(session, None, import_round(db, doc))
    doc["format"] = "swarm-market/1.1"
    doc["funders"][0]["pledges"][0]["scope"]["all_tags"] = []          # an empty list changes nothing
    with db.sessions.begin() as session:
        exported = services.export_round(session, None, import_round(db, doc))
    assert json.dumps(exported) == json.dumps(version_1) and exported["format"] == "swarm-market/1"


def test_export_of_an_import_is_the_same_market_for_the_shared_strategy(db):
    strategies = pytest.importorskip("tests.property.strategies", reason="tests/property/strategies.py not there")

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(doc=strategies.markets())
    def check(doc):
        round_trip(db, doc)

    check()


def test_import_keeps_orders_and_defaults_and_starts_open(db):
    doc = market_doc()
    round_id = import_round(db, doc)
    with db.sessions.begin() as session:
        rnd = session.get(Round, round_id)
        assert rnd.status == "open" and rnd.name == "small water"
        exported = services.export_round(session, None, round_id)
    assert [c["id"] for c in exported["challenges"]] == ["wells", "latrines"]
    assert [k["id"] for k in exported["challenges"][0]["components"]] == ["drill", "pump", "training"]
    b1 = exported["actors"][0]["bids"][0]
    assert b1["items"] == [{"component": "wells/drill", "price": "8000.00"},     # no quantity: the whole component
                           {"component": "wells/pump", "price": "1500.25"}]
    assert "reliability" not in b1                                                 # the actor's, not copied
    assert exported["actors"][1]["bids"][0]["reliability"] == 0.9
    assert exported["actors"][0]["capacity"] == {"budget": "20000.00", "load": 3}
    assert "capacity" not in exported["actors"][1] and "reliability" not in exported["actors"][1]
    assert exported["funders"][0]["pledges"][0] == {"id": "p1", "amount": "9000.00", "scope": {"tags": ["sdg:6.1"]}}
    assert parse_market(exported) == parse_market(doc)


@pytest.mark.parametrize("text", ["nul\x00", "\ud800"])
def test_text_no_database_can_store_is_refused_with_its_path(db, text):
    doc = market_doc()
    doc["actors"][1]["name"] = text
    with db.sessions.begin() as session:
        with pytest.raises(InvalidInput) as caught:
            services.import_market(session, None, parse_market(doc))
    assert list(caught.value.fields) == ["actors[1].name"]
