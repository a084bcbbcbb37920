"""Market format 1.1 in the database: a pledge's min_spend, max_challenge_share, conditions and narrowing
scope, validated per field and audited; which funders a condition may name; analysts fixing bids; the
round's document and market carrying every key; the migration."""
from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from market import migrate, reads, services
from market.errors import Forbidden, InvalidInput, NotFound, WrongState
from market.models import AuditLog, Bid, Pledge, Round
from market.snapshot import round_document, to_market
from solver.market import Condition, Scope

from .helpers import closed_round, draft_round, import_round


@pytest.fixture
def people(db):
    return {
        "analyst": db.user("ana@example.org", "analyst"),
        "admin": db.user("root@example.org", "admin"),
        "funder": db.user("fund@example.org", "funder", "Fund One"),
        "ministry": db.user("ministry@example.org", "funder", "Ministry"),
        "quiet": db.user("quiet@example.org", "funder", "Quiet"),
        "actor": db.user("act@example.org", "actor"),
        "actor2": db.user("act2@example.org", "actor"),
    }


def count(db, model, *where) -> int:
    with db.sessions.begin() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def audits(db, entity):
    with db.sessions.begin() as session:
        return [(a.who, a.action, a.details) for a in session.execute(
            select(AuditLog).where(AuditLog.entity == entity).order_by(AuditLog.id)).scalars()]


def round_with_funders(db, people) -> int:
    """An open round where the Ministry lists its one pledge by name and Quiet keeps one of two unlisted."""
    round_id = draft_round(db)
    with db.sessions.begin() as session:
        services.pledge(session, people["ministry"], round_id, {"id": "m1", "amount": "500000", "listed": True})
        services.pledge(session, people["quiet"], round_id, {"id": "q1", "amount": "100", "listed": True})
        services.pledge(session, people["quiet"], round_id, {"id": "q2", "amount": "900"})
    return round_id


def key(people, who) -> str:
    return f"user-{people[who].id}"


# -- pledges ---------------------------------------------------------------------------------------

def test_a_funder_pledges_with_every_1_1_key_and_changes_them(db, people):
    round_id = round_with_funders(db, people)
    funder, ministry = people["funder"], key(people, "ministry")
    with db.sessions.begin() as session:
        row = services.pledge(session, funder, round_id, {
            "id": "p", "amount": "1000", "min_spend": "100.50", "max_challenge_share": 0.75,
            "conditions": [{"funder": ministry, "min": "200000"}],
            "scope": {"tags": ["sdg:6.1"], "all_tags": ["sdg:6.1", "region:kenya"], "exclude_tags": ["conflict"],
                      "challenges": []}})
        assert (row.min_spend_cents, row.max_challenge_share, row.conditions, row.scope) == (
            10050, 0.75, [{"funder": ministry, "min_cents": 20000000}],
            {"tags": ["sdg:6.1"], "all_tags": ["sdg:6.1", "region:kenya"], "exclude_tags": ["conflict"]})
    with db.sessions.begin() as session:
        row = services.change_pledge(session, funder, round_id, "p", {
            "min_spend": None, "max_challenge_share": 0.5, "conditions": []})
        assert (row.min_spend_cents, row.max_challenge_share, row.conditions) == (None, 0.5, None)
    with db.sessions.begin() as session:
        row = services.change_pledge(session, funder, round_id, "p", {"amount": "50", "min_spend": "50",
                                                                     "scope": {"exclude_tags": ["conflict"]}})
        assert (row.amount_cents, row.min_spend_cents, row.scope) == (5000, 5000, {"exclude_tags": ["conflict"]})
    created, *changes = [a for a in audits(db, "pledge") if a[2]["key"] == "p"]
    assert created[:2] == (funder.email, "create")
    assert created[2]["min_spend_cents"] == 10050 and created[2]["max_challenge_share"] == 0.75
    assert created[2]["conditions"] == [{"funder": ministry, "min_cents": 20000000}]
    assert [c[2]["before"]["conditions"] for c in changes] == [[{"funder": ministry, "min_cents": 20000000}], None]
    assert [c[2]["after"]["min_spend_cents"] for c in changes] == [None, 5000]


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"amount": "10", "min_spend": "10.01"}, "min_spend", "at most the amount (10.00)"),
    ({"amount": "10", "min_spend": "0"}, "min_spend", "greater than 0"),
    ({"amount": "10", "min_spend": 1.5}, "min_spend", "JSON float"),
    ({"amount": "10", "max_challenge_share": 0}, "max_challenge_share", "(0, 1]"),
    ({"amount": "10", "max_challenge_share": 1.5}, "max_challenge_share", "(0, 1]"),
    ({"amount": "10", "max_challenge_share": 1e-6}, "max_challenge_share", "bound for max_challenge_share"),
    ({"amount": "10", "conditions": [{"funder": "nobody", "min": "1"}]}, "conditions[0].funder", "no funder"),
    ({"amount": "10", "conditions": [{"funder": "MINISTRY", "min": "0"}]}, "conditions[0].min", "greater than 0"),
    ({"amount": "10", "conditions": [{"funder": "MINISTRY", "min": "-1"}]}, "conditions[0].min", "negative"),
    ({"amount": "10", "conditions": [{"funder": "MINISTRY"}]}, "conditions[0].min", "Missing data"),
    ({"amount": "10", "conditions": [{"funder": "MINISTRY", "min": "1"}, {"funder": "MINISTRY", "min": "2"}]},
     "conditions[1].funder", "named already in conditions[0]"),
    ({"amount": "10", "conditions": [{"funder": "no spaces", "min": "1"}]}, "conditions[0].funder", "invalid id"),
    ({"amount": "10", "conditions": {"funder": "MINISTRY"}}, "conditions", "Not a valid list"),
    ({"amount": "10", "scope": {"all_tags": [3]}}, "scope.all_tags[0]", "Not a valid string"),
    ({"amount": "10", "scope": {"exclude_tags": "conflict"}}, "scope.exclude_tags", "Not a valid list"),
    ({"amount": "10", "scope": {"exclude_tags": [""]}}, "scope.exclude_tags[0]", "Length"),
])
def test_pledge_errors_name_their_1_1_fields_and_write_nothing(db, people, data, field, message):
    round_id = round_with_funders(db, people)
    data = {k: [c | {"funder": key(people, "ministry")} if c.get("funder") == "MINISTRY" else c for c in v]
            if k == "conditions" and isinstance(v, list) else v for k, v in data.items()}
    before = count(db, Pledge), count(db, AuditLog)
    with db.sessions.begin() as session:
        with pytest.raises(InvalidInput) as caught:
            services.pledge(session, people["funder"], round_id, data)
    assert field in caught.value.fields, caught.value.fields
    assert message in caught.value.fields[field]
    assert (count(db, Pledge), count(db, AuditLog)) == before


def test_lowering_the_amount_below_the_min_spend_is_refused_naming_the_field_changed(db, people):
    round_id = draft_round(db)
    funder = people["funder"]
    with db.sessions.begin() as session:
        services.pledge(session, funder, round_id, {"id": "p", "amount": "100", "min_spend": "60"})
    for change, field in [({"amount": "59.99"}, "amount"), ({"min_spend": "100.01"}, "min_spend"),
                          ({"amount": "10", "min_spend": "20"}, "min_spend")]:
        with db.sessions.begin() as session:
            with pytest.raises(InvalidInput) as caught:
                services.change_pledge(session, funder, round_id, "p", change)
        assert list(caught.value.fields) == [field] and "at most the amount" in caught.value.fields[field]
    with db.sessions.begin() as session:
        row = services.change_pledge(session, funder, round_id, "p", {"amount": "60"})
        assert (row.amount_cents, row.min_spend_cents) == (6000, 6000)
    with db.sessions.begin() as session:
        row = services.change_pledge(session, funder, round_id, "p", {"amount": "1", "min_spend": None})
        assert (row.amount_cents, row.min_spend_cents) == (100, None)
    assert [a[1] for a in audits(db, "pledge")] == ["create", "change", "change"]


def test_a_condition_names_only_a_funder_whose_pledges_are_all_listed(db, people):
    """Naming a funder that keeps a pledge unlisted is refused with the very message an unknown key gets,
    and the picker leaves it out, so that a condition never tells anyone an unlisted pledge's amounts."""
    round_id = round_with_funders(db, people)
    funder = people["funder"]
    with db.sessions.begin() as session:
        services.pledge(session, funder, round_id, {"id": "own", "amount": "1", "listed": True})
    with db.sessions.begin() as session:
        assert [f.key for f in services.condition_funders(session, funder, round_id)] == [key(people, "ministry")]
        assert [f.name for f in services.condition_funders(session, funder, round_id)] == ["Ministry"]
        # The Ministry does not see itself; analysts and the command line see every funder.
        assert [f.key for f in services.condition_funders(session, people["ministry"], round_id)] == [
            key(people, "funder")]
        everyone = [key(people, w) for w in ("ministry", "quiet", "funder")]
        assert [f.key for f in services.condition_funders(session, people["analyst"], round_id)] == everyone
        assert [f.key for f in services.condition_funders(session, None, round_id)] == everyone
    messages = {}
    for named in (key(people, "quiet"), "user-999999"):
        with db.sessions.begin() as session:
            with pytest.raises(InvalidInput) as caught:
                services.pledge(session, funder, round_id, {"amount": "5", "conditions": [{"funder": named, "min": 1}]})
        messages[named] = caught.value.fields["conditions[0].funder"].replace(named, "KEY")
    assert len(set(messages.values())) == 1 and "may be named" in messages["user-999999"]
    with db.sessions.begin() as session:
        with pytest.raises(InvalidInput, match="may not be conditional on its own funder"):
            services.pledge(session, funder, round_id, {"amount": "5", "conditions": [
                {"funder": key(people, "funder"), "min": 1}]})
    # Quiet withdraws its unlisted pledge: every pledge of its left is listed, so it may be named now.
    with db.sessions.begin() as session:
        services.withdraw_pledge(session, people["quiet"], round_id, "q2")
    with db.sessions.begin() as session:
        row = services.pledge(session, funder, round_id, {"amount": "5", "conditions": [
            {"funder": key(people, "quiet"), "min": "1"}, {"funder": key(people, "ministry"), "min": "2"}]})
        assert row.conditions == [{"funder": key(people, "quiet"), "min_cents": 100},
                                  {"funder": key(people, "ministry"), "min_cents": 200}]
    # A funder whose only listed pledge is withdrawn takes part with nothing public: not to be named.
    with db.sessions.begin() as session:
        services.withdraw_pledge(session, people["ministry"], round_id, "m1")
    with db.sessions.begin() as session:
        assert [f.key for f in services.condition_funders(session, funder, round_id)] == [key(people, "quiet")]


def test_the_command_line_names_any_funder_of_the_round_but_an_unknown_one(db):
    round_id = import_round(db)
    with db.sessions.begin() as session:
        services.pledge(session, None, round_id, {"id": "p9", "funder": "f2", "amount": "5",
                                                  "conditions": [{"funder": "f1", "min": "1"}]})
    with db.sessions.begin() as session:
        with pytest.raises(InvalidInput, match='unknown funder "f9" in round'):
            services.pledge(session, None, round_id, {"id": "p10", "funder": "f2", "amount": "5",
                                                      "conditions": [{"funder": "f9", "min": "1"}]})


def test_the_database_itself_keeps_min_spend_within_the_amount(db, people):
    round_id = draft_round(db)
    with db.sessions.begin() as session:
        services.pledge(session, people["funder"], round_id, {"id": "p", "amount": "10", "min_spend": "10"})
    for statement in ("UPDATE pledges SET min_spend_cents = amount_cents + 1",
                      "UPDATE pledges SET min_spend_cents = 0", "UPDATE pledges SET max_challenge_share = 1.5"):
        with pytest.raises(IntegrityError):
            with db.engine.begin() as connection:
                connection.execute(text(statement))


# -- fixed bids ------------------------------------------------------------------------------------

def bids_round(db, people) -> int:
    round_id = draft_round(db)
    with db.sessions.begin() as session:
        services.bid(session, people["actor"], round_id, {"id": "b1", "items": [
            {"component": "latrines/build", "price": "2400"}]})
        services.bid(session, people["actor2"], round_id, {"id": "b2", "items": [
            {"component": "wells/drill", "price": "10"}]})
    return round_id


def test_an_analyst_fixes_and_unfixes_a_bid_with_reasons_in_the_audit_log(db, people):
    round_id = bids_round(db, people)
    analyst, actor = people["analyst"], people["actor"]
    with db.sessions.begin() as session:
        row = services.fix_bid(session, analyst, round_id, "b1", {"reason": "  contract 17 signed  "})
        assert (row.fixed, row.fixed_reason) == (True, "contract 17 signed")
    with db.sessions.begin() as session:
        seen = services.bid_for(session, actor, round_id, "b1")
        assert (seen.fixed, seen.fixed_reason) == (True, "contract 17 signed")
        # Sealed: the other actor and the funders find no bid at all, fixed or not.
        with pytest.raises(NotFound):
            services.bid_for(session, people["actor2"], round_id, "b1")
        with pytest.raises(NotFound):
            services.bid_for(session, people["funder"], round_id, "b1")
    for change in (lambda s: services.change_bid(s, actor, round_id, "b1", {"load": 1}),
                   lambda s: services.withdraw_bid(s, actor, round_id, "b1")):
        with db.sessions.begin() as session:
            with pytest.raises(WrongState, match="fixed .*by an analyst"):
                change(session)
    with db.sessions.begin() as session:
        with pytest.raises(WrongState, match="fixed already"):
            services.fix_bid(session, people["admin"], round_id, "b1", {"reason": "again"})
    with db.sessions.begin() as session:
        row = services.unfix_bid(session, people["admin"], round_id, "b1", {"reason": "contract cancelled"})
        assert (row.fixed, row.fixed_reason) == (False, None)
    with db.sessions.begin() as session:
        with pytest.raises(WrongState, match="is not fixed"):
            services.unfix_bid(session, analyst, round_id, "b1", {"reason": "x"})
    with db.sessions.begin() as session:
        services.change_bid(session, actor, round_id, "b1", {"load": 1})
    assert [(w, a, d.get("reason"), d.get("before")) for w, a, d in audits(db, "bid") if a in ("fix", "unfix")] == [
        (analyst.email, "fix", "contract 17 signed", None),
        (people["admin"].email, "unfix", "contract cancelled", "contract 17 signed")]


def test_only_staff_fix_bids_with_a_reason_in_open_or_closed_rounds(db, people):
    round_id = bids_round(db, people)
    for who in ("actor", "funder"):
        with db.sessions.begin() as session:
            with pytest.raises(Forbidden, match="only analysts or admins may fix bids"):
                services.fix_bid(session, people[who], round_id, "b1", {"reason": "mine"})
    with db.sessions.begin() as session:
        with pytest.raises(InvalidInput, match="reason"):
            services.fix_bid(session, people["analyst"], round_id, "b1", {"reason": "   "})
    with db.sessions.begin() as session:
        with pytest.raises(NotFound):
            services.fix_bid(session, people["analyst"], round_id, "nope", {"reason": "x"})
    with db.sessions.begin() as session:
        services.exclude(session, people["analyst"], round_id, "bid", "b2", {"reason": "late"})
    with db.sessions.begin() as session:
        with pytest.raises(WrongState, match="include it before fixing"):
            services.fix_bid(session, people["analyst"], round_id, "b2", {"reason": "x"})
    with db.sessions.begin() as session:
        services.withdraw_bid(session, people["actor"], round_id, "b1")
    with db.sessions.begin() as session:
        with pytest.raises(WrongState, match="withdrawn"):
            services.fix_bid(session, people["analyst"], round_id, "b1", {"reason": "x"})
    assert count(db, Bid, Bid.fixed.is_(True)) == 0
    closed = closed_round(db)
    with db.sessions.begin() as session:
        assert services.fix_bid(session, people["analyst"], closed, "b3", {"reason": "x"}).fixed
    with db.sessions.begin() as session:        # nor the other way round: a fixed bid is not left out
        with pytest.raises(WrongState, match="is fixed: every clearing must accept it; unfix it before excluding"):
            services.exclude(session, people["analyst"], closed, "bid", "b3", {"reason": "late"})
    with db.sessions.begin() as session:
        assert session.execute(select(Bid.excluded_reason).where(Bid.round_id == closed, Bid.key == "b3")).scalar_one() is None
        session.get(Round, closed).status = "cleared"
    with db.sessions.begin() as session:
        with pytest.raises(WrongState, match="only while it is open or closed"):
            services.unfix_bid(session, people["analyst"], closed, "b3", {"reason": "x"})


# -- the round as a market -------------------------------------------------------------------------

def test_the_round_document_is_1_1_exactly_when_a_1_1_key_is_used(db, people):
    round_id = round_with_funders(db, people)
    with db.sessions.begin() as session:
        services.bid(session, people["actor"], round_id, {"id": "b1", "items": [
            {"component": "latrines/build", "price": "2400"}]})
        services.pledge(session, people["funder"], round_id, {"id": "p0", "amount": "1"})
    with db.sessions.begin() as session:
        version_1 = round_document(session, session.get(Round, round_id))
    assert version_1["format"] == "swarm-market/1"
    ministry = key(people, "ministry")
    steps = [
        lambda s: services.pledge(s, people["funder"], round_id, {"id": "p", "amount": "10", "min_spend": "5"}),
        lambda s: services.change_pledge(s, people["funder"], round_id, "p", {"min_spend": None,
                                                                            "max_challenge_share": 0.5}),
        lambda s: services.change_pledge(s, people["funder"], round_id, "p", {"max_challenge_share": None,
                                                                            "conditions": [{"funder": ministry,
                                                                                            "min": "3"}]}),
        lambda s: services.change_pledge(s, people["funder"], round_id, "p", {"conditions": None,
                                                                            "scope": {"all_tags": ["sdg:6.1"]}}),
        lambda s: services.change_pledge(s, people["funder"], round_id, "p", {"scope": {"challenges": ["wells"],
                                                                                      "exclude_tags": ["x"]}}),
        lambda s: services.withdraw_pledge(s, people["funder"], round_id, "p"),
        lambda s: services.fix_bid(s, None, round_id, "b1", {"reason": "contracted"}),
        lambda s: services.unfix_bid(s, None, round_id, "b1", {"reason": "not after all"}),
    ]
    formats = []
    for step in steps:
        with db.sessions.begin() as session:
            step(session)
        with db.sessions.begin() as session:
            formats.append(round_document(session, session.get(Round, round_id))["format"])
    assert formats == ["swarm-market/1.1"] * 5 + ["swarm-market/1", "swarm-market/1.1", "swarm-market/1"]
    with db.sessions.begin() as session:
        assert round_document(session, session.get(Round, round_id)) == version_1     # and so the same bytes


def test_the_round_market_carries_every_1_1_key_to_the_engine(db, people):
    round_id = round_with_funders(db, people)
    ministry = key(people, "ministry")
    with db.sessions.begin() as session:
        services.pledge(session, people["funder"], round_id, {
            "id": "p", "amount": "1000.10", "min_spend": "100.01", "max_challenge_share": 0.75,
            "conditions": [{"funder": ministry, "min": "2000"}],
            "scope": {"components": ["wells/drill"], "all_tags": ["sdg:6.1"], "exclude_tags": ["conflict"]}})
        services.bid(session, people["actor"], round_id, {"id": "b1", "items": [
            {"component": "latrines/build", "price": "2400"}]})
        services.bid(session, people["actor2"], round_id, {"id": "b2", "items": [
            {"component": "wells/drill", "price": "1"}]})
        services.fix_bid(session, people["analyst"], round_id, "b1", {"reason": "contracted"})
    with db.sessions.begin() as session:
        doc = round_document(session, session.get(Round, round_id))
    pledge = next(p for f in doc["funders"] for p in f["pledges"] if p["id"] == "p")
    assert pledge == {"id": "p", "amount": "1000.10",
                      "scope": {"components": ["wells/drill"], "all_tags": ["sdg:6.1"], "exclude_tags": ["conflict"]},
                      "min_spend": "100.01", "max_challenge_share": 0.75,
                      "conditions": [{"funder": ministry, "min": "2000.00"}]}
    market = to_market(doc)
    assert market.uses_1_1
    solver_pledge = next(p for p in market.pledges if p.id == "p")
    assert (solver_pledge.min_spend, solver_pledge.max_challenge_share, solver_pledge.conditions) == (
        10001, 0.75, (Condition(ministry, 200000),))
    assert solver_pledge.scope == Scope(components=("wells/drill",), all_tags=("sdg:6.1",), exclude_tags=("conflict",))
    assert [(b.id, b.fixed) for b in market.bids] == [("b1", True), ("b2", False)]


def test_gap_signals_count_a_narrowed_scope_as_the_engine_admits_it(db):
    """The pledged money in scope of each challenge follows the 1.1 rule: all_tags and exclude_tags narrow,
    and alone they start from every challenge."""
    doc = {"format": "swarm-market/1", "challenges": [
        {"id": "k-san", "tags": ["region:kenya", "sector:sanitation"], "components": [{"id": "a"}]},
        {"id": "k-water", "tags": ["region:kenya", "sector:water"], "components": [{"id": "a"}]},
        {"id": "u-san", "tags": ["region:uganda", "sector:sanitation", "conflict"], "components": [{"id": "a"}]}],
        "funders": [], "actors": []}
    round_id = import_round(db, doc)
    pledges = [({"tags": ["region:kenya", "sector:sanitation"]}, 1),              # version 1: either tag
               ({"all_tags": ["region:kenya", "sector:sanitation"]}, 10),          # both: k-san only
               ({"exclude_tags": ["conflict"]}, 100),                             # everything but u-san
               ({"tags": ["sector:sanitation"], "exclude_tags": ["conflict"]}, 1000),
               ({"challenges": ["u-san"], "all_tags": ["region:kenya"]}, 10000)]  # nothing
    with db.sessions.begin() as session:
        for i, (scope, amount) in enumerate(pledges):
            services.pledge(session, None, round_id, {"id": f"p{i}", "funder": "f", "amount": amount,
                                                      "scope": scope})
    with db.sessions.begin() as session:
        found = {s.key: s.in_scope_cents for s in reads.gap_signals(session, round_id)}
        market = to_market(round_document(session, session.get(Round, round_id)))
    assert found == {"k-san": 111100, "k-water": 10100, "u-san": 100}
    engine = {c.id: sum(p.amount for p in market.pledges if p.admits(c, c.components[0])) for c in market.challenges}
    assert found == engine


# -- the migration ---------------------------------------------------------------------------------

def test_upgrading_to_1_1_keeps_every_bid_unfixed_and_every_pledge_as_it_was(db, people):
    round_id = import_round(db)
    with db.engine.begin() as connection:
        command.downgrade(migrate.alembic_config(connection=connection), "0005")
    migrate.upgrade(db.engine)
    with db.sessions.begin() as session:
        assert {b.fixed for b in session.execute(select(Bid)).scalars()} == {False}
        assert {(p.min_spend_cents, p.max_challenge_share, p.conditions)
                for p in session.execute(select(Pledge)).scalars()} == {(None, None, None)}
        assert round_document(session, session.get(Round, round_id))["format"] == "swarm-market/1"


def test_an_infeasible_clearing_is_kept_as_a_run_but_is_no_result(db, people):
    """The engine's `infeasible` (fixed bids that cannot all be accepted): the analysts can read the run and its
    reasons; the round stays closed, so a bid can still be unfixed or excluded and the round cleared again."""
    from dataclasses import replace

    from solver.allocation import Unfunded
    from solver.clearing import ClearOptions

    from market.services.clearing import record_run, snapshot_for_clearing, solve

    round_id = closed_round(db)
    with db.sessions.begin() as session:
        services.fix_bid(session, people["analyst"], round_id, "b3", {"reason": "contracted"})
    with db.sessions.begin() as session:
        document, fingerprint = snapshot_for_clearing(session, people["analyst"], round_id)
    _, found = solve(document, round_id, ClearOptions(time_limit=20))
    infeasible = replace(found, status="infeasible", value=0, cost=0, awards=(), flows=(),
                         unfunded=tuple(Unfunded(c.id, ("the fixed bids cannot all be accepted",))
                                        for c in found.challenges))
    with db.sessions.begin() as session:
        run = record_run(session, people["analyst"], round_id, document, fingerprint, infeasible)
        assert (run.status, run.is_result) == ("infeasible", False)
    with db.sessions.begin() as session:
        assert session.get(Round, round_id).status == "closed"
        assert services.result_run(session, round_id) is None
        [logged] = session.execute(select(AuditLog).where(AuditLog.action == "clear-infeasible")).scalars()
        assert logged.details["reasons"] == ["the fixed bids cannot all be accepted"]
        services.unfix_bid(session, people["analyst"], round_id, "b3", {"reason": "not contracted after all"})
    cleared = services.clear_round(db.sessions, people["analyst"], round_id, ClearOptions(time_limit=20))
    with db.sessions.begin() as session:
        assert session.get(Round, round_id).status == "cleared"
        assert services.result_run(session, round_id).id == cleared.run_id


def test_swarm_import_and_export_keep_a_1_1_file(db, tmp_path):
    """The command line reads a 1.1 file through the engine's loader and writes it back as 1.1."""
    import json

    from solver.loading import load_market, parse_market
    from tests.small_market import market_doc
    from tests.swarm import run_on

    doc = market_doc()
    doc["format"] = "swarm-market/1.1"
    doc["funders"][1]["pledges"][0].update({"min_spend": "10", "max_challenge_share": 0.5,
                                            "conditions": [{"funder": "f1", "min": "1"}],
                                            "scope": {"all_tags": ["sdg:6.1"], "exclude_tags": ["conflict"]}})
    doc["actors"][0]["bids"][1]["fixed"] = True
    path = tmp_path / "m11.json"
    path.write_text(json.dumps(doc))
    result = run_on(db.url, "import", path)
    assert result.exit_code == 0, result.output
    exported = run_on(db.url, "export", result.output.split()[-1])
    assert exported.exit_code == 0, exported.output
    back = json.loads(exported.output)
    assert back["format"] == "swarm-market/1.1" and parse_market(back) == load_market(path)


def test_a_change_keeps_a_condition_on_a_funder_that_since_keeps_a_pledge_unlisted(db, people):
    """The form sends the conditions back whole: one the pledge holds already stays, while naming that funder
    anew (another pledge) is refused once it keeps a pledge unlisted."""
    round_id = round_with_funders(db, people)
    funder, ministry = people["funder"], key(people, "ministry")
    with db.sessions.begin() as session:
        services.pledge(session, funder, round_id, {"id": "p", "amount": "10",
                                                    "conditions": [{"funder": ministry, "min": "1"}]})
        services.pledge(session, people["ministry"], round_id, {"id": "m2", "amount": "7"})      # unlisted
    with db.sessions.begin() as session:
        row = services.change_pledge(session, funder, round_id, "p", {
            "amount": "20", "conditions": [{"funder": ministry, "min": "2"}]})
        assert row.conditions == [{"funder": ministry, "min_cents": 200}]
    with db.sessions.begin() as session:
        with pytest.raises(InvalidInput) as caught:
            services.pledge(session, funder, round_id, {"id": "p2", "amount": "10",
                                                        "conditions": [{"funder": ministry, "min": "1"}]})
    assert "conditions[0].funder" in caught.value.fields
    with db.sessions.begin() as session:
        with pytest.raises(InvalidInput):
            services.change_pledge(session, funder, round_id, "p", {"conditions": [
                {"funder": ministry, "min": "2"}, {"funder": key(people, "quiet"), "min": "1"}]})
