"""What the pages read: gap signals, who a participant is, outcomes and flows, why a bid lost."""
from __future__ import annotations

import pytest

from market import reads, services
from market.errors import NotFound
from market.explain import bid_outcome
from market.models import Role, Round
from market.sealing import ANALYST
from market.snapshot import round_document
from solver.generate import generate
from solver.money import format_money, parse_money
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


def gap_signals_from_the_document(session, round_id):
    """The gap signals as the pages first read them, from the round's whole market document: the oracle for
    the ones counted in SQL (`reads.gap_signals`)."""
    doc = round_document(session, session.get(Round, round_id))
    components = {f"{c['id']}/{k['id']}": k for c in doc["challenges"] for k in c["components"]}
    with_bid = set()
    for actor in doc["actors"]:
        for bid in actor["bids"]:
            reliability = bid.get("reliability", actor.get("reliability", 1))
            ok = True
            for item in bid["items"]:
                k = components[item["component"]]
                quantity = item.get("quantity", k.get("quantity", 1))
                if k.get("max_unit_price") is not None and \
                        parse_money(item["price"]) > parse_money(k["max_unit_price"]) * quantity:
                    ok = False
                if k.get("min_reliability") is not None and reliability < k["min_reliability"]:
                    ok = False
            if ok:
                with_bid.update(item["component"] for item in bid["items"])
    signals = []
    for c in doc["challenges"]:
        paths = [f"{c['id']}/{k['id']}" for k in c["components"]]
        critical = [p for p, k in zip(paths, c["components"]) if k.get("critical", True)]
        in_scope = 0
        for funder in doc["funders"]:
            for pledge in funder["pledges"]:
                scope = pledge.get("scope")
                if scope is None or c["id"] in scope.get("challenges", []) or \
                        any(p in scope.get("components", []) for p in paths) or \
                        any(t in c.get("tags", []) for t in scope.get("tags", [])):
                    in_scope += parse_money(pledge["amount"])
        signals.append(reads.ChallengeSignal(c["id"], c.get("title") or c["id"], len(critical),
                                             sum(p in with_bid for p in critical),
                                             [p for p in paths if p not in with_bid], in_scope))
    signals.sort(key=lambda s: (s.missing_critical, -s.in_scope_cents, s.key))
    return signals


@pytest.mark.parametrize("eligible", [True, False], ids=["with-eligible-edges", "without"])
def test_gap_signals_counted_in_sql_are_those_of_the_whole_market_document(db, eligible):
    """On a generated market, with bids at the edges: a price at its reserve exactly and a cent over it, a
    reserve of 0 with a free item and a one-cent one, a bid under a reliability floor by its actor's
    reliability and one above it by its own, a bid with one item over its reserve; some pledges and bids
    withdrawn or excluded. Without the eligible edge bids (and the generated bids on those components) the
    three components have none."""
    doc = generate(30, 10, 20, seed=3)
    reserved = [(c["id"], k) for c in doc["challenges"] for k in c["components"] if k.get("max_unit_price")]
    floored = next((c["id"], k) for c in doc["challenges"] for k in c["components"] if k.get("min_reliability"))
    (c1, k1), (c2, k2) = reserved[0], reserved[1]
    k2["max_unit_price"] = "0.00"
    at_reserve = parse_money(k1["max_unit_price"]) * 3
    doc["actors"].append({"id": "edges", "reliability": floored[1]["min_reliability"] - 0.001, "bids": [
        {"id": "at-reserve", "reliability": 1, "items": [{"component": f"{c1}/{k1['id']}", "quantity": 3,
                                                          "price": format_money(at_reserve)}]},
        {"id": "a-cent-over", "reliability": 1, "items": [{"component": f"{c1}/{k1['id']}", "quantity": 3,
                                         "price": format_money(at_reserve + 1)}]},
        {"id": "free", "reliability": 1, "items": [{"component": f"{c2}/{k2['id']}", "price": "0"}]},
        {"id": "a-cent-for-nothing", "reliability": 1, "items": [{"component": f"{c2}/{k2['id']}", "price": "0.01"}]},
        {"id": "under-the-floor", "items": [{"component": f"{floored[0]}/{floored[1]['id']}", "price": "1"}]},
        {"id": "own-reliability", "reliability": 1, "items": [
            {"component": f"{floored[0]}/{floored[1]['id']}", "price": "1"}]},
        {"id": "one-bad-item", "reliability": 1, "items": [
            {"component": f"{c1}/{k1['id']}", "quantity": 3, "price": format_money(at_reserve + 1)},
            {"component": f"{c2}/{k2['id']}", "price": "0"}]}]})
    doc["funders"][0]["pledges"].append({"id": "components", "amount": "77.77", "scope": {
        "components": [f"{c1}/{k1['id']}"], "tags": ["no-such-tag"]}})
    edges = {f"{c1}/{k1['id']}", f"{c2}/{k2['id']}", f"{floored[0]}/{floored[1]['id']}"}
    if not eligible:
        for actor in doc["actors"]:
            actor["bids"] = [b for b in actor["bids"] if b["id"] not in ("at-reserve", "free", "own-reliability") and
                             (actor["id"] == "edges" or not edges & {i["component"] for i in b["items"]})]
    round_id = import_round(db, doc)
    with db.sessions.begin() as session:
        bids = [b["id"] for a in doc["actors"] for b in a["bids"]]
        pledges = [p["id"] for f in doc["funders"] for p in f["pledges"]]
        services.exclude(session, None, round_id, "bid", bids[0], {"reason": "left out"})
        services.exclude(session, None, round_id, "pledge", pledges[0], {"reason": "left out"})
        services.withdraw_bid(session, None, round_id, bids[1])
        services.withdraw_pledge(session, None, round_id, pledges[1])
    with db.sessions.begin() as session:
        expected = gap_signals_from_the_document(session, round_id)
        assert reads.gap_signals(session, round_id) == expected
        for challenge in reads.challenges(session, round_id):             # the challenge page's: one of them
            assert reads.gap_signals(session, round_id, [challenge]) == [s for s in expected if s.key == challenge.key]
    missing = {path for s in expected for path in s.missing}
    assert (edges <= missing) if not eligible else not (edges & missing)


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
