"""What the pages read: gap signals, who a participant is, outcomes and flows, why a bid lost."""
from __future__ import annotations

import pytest

from market import reads, services
from market.errors import NotFound
from market.explain import bid_outcome
from market.models import Role
from market.sealing import ANALYST
from tests.market.helpers import closed_round, draft_round, import_round
from tests.small_market import market_doc


def cleared(db, doc):
    return services.clear_round(db.sessions, None, closed_round(db, doc))


def test_gap_signals(db):
    doc = market_doc()
    doc["actors"][1]["bids"] = []
    doc["challenges"][0]["components"][2]["max_unit_price"] = "1"      # training: the only bid is above it
    round_id = import_round(db, doc)
    with db.sessions.begin() as session:
        signals = reads.gap_signals(session, round_id)
    assert [(s.key, s.covered, s.critical, s.missing, s.in_scope_cents) for s in signals] == [
        ("wells", 2, 2, ["wells/training"], 900000 + 300000 + 250050),
        ("latrines", 0, 1, ["latrines/build"], 300000 + 250050)]


def test_reads_check_ownership(db):
    round_id = draft_round(db)
    f1, f2 = db.user("f1@example.org", Role.FUNDER), db.user("f2@example.org", Role.FUNDER)
    a1, a2 = db.user("a1@example.org", Role.ACTOR), db.user("a2@example.org", Role.ACTOR)
    analyst = db.user("ana@example.org", Role.ANALYST)
    with db.sessions.begin() as session:
        services.pledge(session, f1, round_id, {"id": "p", "amount": "10"})
        services.bid(session, a1, round_id, {"id": "b", "items": [{"component": "latrines/build", "price": "5"}]})
    with db.sessions.begin() as session:
        assert services.pledge_for(session, f1, round_id, "p").key == "p"
        assert services.pledge_for(session, analyst, round_id, "p").key == "p"
        assert services.bid_for(session, a1, round_id, "b").key == "b"
        for user, read, key in ((f2, services.pledge_for, "p"), (a2, services.bid_for, "b"),
                                (f1, services.bid_for, "b"), (f1, services.pledge_for, "nope")):
            with pytest.raises(NotFound):
                read(session, user, round_id, key)
        assert reads.participant(session, f1, round_id).key == f"user-{f1.id}"
        assert reads.participant(session, analyst, round_id) is None


def test_outcomes_flows_and_sankey(db):
    result = cleared(db, market_doc())
    with db.sessions.begin() as session:
        run = reads.result(session, result.round_id)
        outcomes = reads.challenge_outcomes(run, ANALYST)
        assert outcomes["wells"].completed and outcomes["wells"].payers
        assert {name for name, _, _ in outcomes["wells"].deliverers} == {"DrillCo"}
        p1 = reads.pledge_outcome(run, "p1")
        assert p1.amount_cents == 900000 and p1.spent_cents + p1.returned_cents == 900000
        assert sum(c for _, c in p1.flows) == p1.spent_cents
        assert p1.delivered_by["wells/drill"] == ["DrillCo"]
        assert reads.pledge_outcome(run, "nope") is None
        table = reads.flows_table(run)
        assert sum(r["amount_cents"] for r in table) == result.allocation.cost
        graph = reads.sankey(run, ANALYST)
        into_actors = sum(link["cents"] for link in graph["links"] if graph["kinds"][link["target"]] == "actor")
        assert into_actors == result.allocation.cost


def outcome(doc, key):
    cleared_ = None
    from solver.clearing import clear
    from solver.loading import parse_market
    market = parse_market(doc)
    cleared_ = clear(market)
    return bid_outcome(doc, cleared_.to_document(), key, ANALYST)


def test_bid_outcome_won_and_cheaper_rival():
    doc = market_doc()
    doc["actors"][1]["bids"].append({"id": "b4", "items": [{"component": "wells/drill", "price": "9000"},
                                                           {"component": "wells/pump", "price": "1600"}]})
    won = outcome(doc, "b1")
    assert won.won and won.price_cents == 950025 and won.reasons == ()
    lost = outcome(doc, "b4")
    assert not lost.won and lost.price_cents == 1060000
    assert "covered by other awarded bids (b1)" in lost.reasons[0] and "9,500.25 USD" in lost.reasons[0]
    assert "10,600.00 USD" in lost.reasons[0]


def test_bid_outcome_reasons():
    doc = market_doc()
    doc["challenges"][1]["components"][0]["max_unit_price"] = "100"       # b3 above the reserve
    lost = outcome(doc, "b3")
    assert lost.reasons[0].startswith("not eligible: the price for latrines/build")
    doc = market_doc()
    doc["challenges"][1]["components"][0]["min_reliability"] = 0.95       # b3 has 0.9
    assert "below the 0.95" in outcome(doc, "b3").reasons[0]
    doc = market_doc()
    doc["funders"] = [{"id": "f", "pledges": [{"id": "p", "amount": "10", "scope": {"challenges": ["latrines"]}}]}]
    lost = outcome(doc, "b3")
    assert 'challenge "latrines" was not completed' in lost.reasons[0]
    doc = market_doc()
    doc["actors"][0]["bids"].append({"id": "b5", "items": [{"component": "wells/training", "price": "400"}],
                                     "exclusive_group": "g"})
    assert any('your bid "b2" in the same exclusive group "g" won' in r for r in outcome(doc, "b5").reasons)
    with pytest.raises(KeyError):
        outcome(market_doc(), "nope")
