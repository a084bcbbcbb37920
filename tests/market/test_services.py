"""The services: who may do what, the round lifecycle, clear errors naming fields, the audit log."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from market import services
from market.errors import Forbidden, InvalidInput, NotFound, RoundNotOpen, WrongState
from market.models import AuditLog, AuditLogIsAppendOnly, Challenge, Pledge, Role, Round, RoundFunder, User

from .helpers import draft_round, import_round

CHALLENGE = {"id": "wells", "value": 10, "components": [{"id": "drill", "quantity": 2, "max_unit_price": "10.50"}]}


def count(db, model, *where) -> int:
    with db.sessions.begin() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def audit_actions(db, entity=None) -> list[tuple[str, str, str]]:
    with db.sessions.begin() as session:
        query = select(AuditLog).order_by(AuditLog.id)
        if entity:
            query = query.where(AuditLog.entity == entity)
        return [(a.who, a.action, a.entity) for a in session.execute(query).scalars()]


@pytest.fixture
def people(db):
    return {
        "analyst": db.user("ana@example.org", "analyst"),
        "admin": db.user("root@example.org", "admin"),
        "funder": db.user("fund@example.org", "funder", "Fund One"),
        "funder2": db.user("fund2@example.org", "funder"),
        "actor": db.user("act@example.org", "actor", "Act One"),
        "actor2": db.user("act2@example.org", "actor"),
    }


# -- rounds ----------------------------------------------------------------------------------------

def test_lifecycle_draft_open_closed_cleared(db, people):
    analyst = people["analyst"]
    with db.sessions.begin() as session:
        round_id = services.create_round(session, analyst, {"name": "May", "currency": "KES"}).id
        services.add_challenge(session, analyst, round_id, CHALLENGE)
        assert session.get(Round, round_id).status == "draft"
    with db.sessions.begin() as session:
        with pytest.raises(WrongState, match="only a round that is open can be closed"):
            services.close_round(session, analyst, round_id)
    with db.sessions.begin() as session:
        services.open_round(session, analyst, round_id)
    with db.sessions.begin() as session:
        with pytest.raises(WrongState, match="challenges are set only while it is a draft"):
            services.add_challenge(session, analyst, round_id, {**CHALLENGE, "id": "other"})
    with db.sessions.begin() as session:
        services.pledge(session, people["funder"], round_id, {"id": "p", "amount": "30"})
        services.bid(session, people["actor"], round_id, {"id": "b", "items": [{"component": "wells/drill",
                                                                                 "price": "21.00"}]})
    with db.sessions.begin() as session:
        services.close_round(session, people["admin"], round_id)
    cleared = services.clear_round(db.sessions, analyst, round_id)
    assert cleared.allocation.status == "optimal" and len(cleared.allocation.awards) == 1
    with db.sessions.begin() as session:
        assert session.get(Round, round_id).status == "cleared"
        with pytest.raises(WrongState, match="only a round that is draft can be open"):
            services.open_round(session, analyst, round_id)
    assert [a[1] for a in audit_actions(db, "round")] == ["create", "open", "close", "clear"]


@pytest.mark.parametrize("role", ["funder", "actor"])
@pytest.mark.parametrize("verb", ["create", "open", "close", "clear", "import", "add_challenge"])
def test_only_staff_manage_rounds(db, people, role, verb):
    round_id = draft_round(db)
    user = people[role]
    with pytest.raises(Forbidden, match=f"only analysts or admins may .*{user.email} is an? {role}"):
        if verb == "clear":
            services.clear_round(db.sessions, user, round_id)
        with db.sessions.begin() as session:
            {"create": lambda: services.create_round(session, user, {}),
             "open": lambda: services.open_round(session, user, round_id),
             "close": lambda: services.close_round(session, user, round_id),
             "import": lambda: services.export_round(session, user, round_id),
             "add_challenge": lambda: services.add_challenge(session, user, round_id, CHALLENGE)}[verb]()


def test_challenge_errors_name_their_fields(db, people):
    with db.sessions.begin() as session:
        round_id = services.create_round(session, people["analyst"], {}).id
    bad = {"id": "bad id", "value": -1, "reliability": 1.5,
           "components": [{"id": "k", "quantity": 2.5, "max_unit_price": 1.25, "requires": ["nope"]}]}
    with db.sessions.begin() as session:
        with pytest.raises(InvalidInput) as caught:
            services.add_challenge(session, people["analyst"], round_id, bad)
    assert set(caught.value.fields) == {"id", "value", "reliability", "components[0].quantity",
                                        "components[0].max_unit_price"}
    assert "JSON float" in caught.value.fields["components[0].max_unit_price"]
    with db.sessions.begin() as session:
        with pytest.raises(InvalidInput) as caught:
            services.add_challenge(session, people["analyst"], round_id,
                                   {"id": "c", "components": [{"id": "k", "requires": ["nope"]}]})
    assert caught.value.fields == {"components[0].requires[0]": 'unknown component "nope" in this challenge'}
    with db.sessions.begin() as session:
        with pytest.raises(InvalidInput, match="round name|currency"):
            services.create_round(session, people["analyst"], {"currency": "usd"})
    with db.sessions.begin() as session:
        with pytest.raises(NotFound, match="no round 999"):
            services.open_round(session, people["analyst"], 999)


# -- pledges ---------------------------------------------------------------------------------------

def test_funder_pledges_changes_and_withdraws_its_own(db, people):
    round_id = draft_round(db)
    funder = people["funder"]
    with db.sessions.begin() as session:
        row = services.pledge(session, funder, round_id, {"id": "p1", "amount": "100.10",
                                                          "scope": {"challenges": ["wells"]}, "max_share": 0.5})
        assert row.amount_cents == 10010 and row.funder.key == f"user-{funder.id}" and row.funder.name == "Fund One"
    with db.sessions.begin() as session:
        row = services.change_pledge(session, funder, round_id, "p1", {"amount": 200, "max_share": None})
        assert (row.amount_cents, row.max_share, row.scope) == (20000, None, {"challenges": ["wells"]})
    with db.sessions.begin() as session:
        services.pledge(session, funder, round_id, {"id": "p2", "amount": "1"})
        services.withdraw_pledge(session, funder, round_id, "p2")
    with db.sessions.begin() as session:
        doc = services.export_round(session, None, round_id)
        assert [p["id"] for f in doc["funders"] for p in f["pledges"]] == ["p1"]
        assert session.execute(select(Pledge).where(Pledge.key == "p2")).scalar_one().withdrawn
    with db.sessions.begin() as session:
        with pytest.raises(WrongState, match="withdrawn"):
            services.change_pledge(session, funder, round_id, "p2", {"amount": 5})
    assert audit_actions(db, "pledge") == [(funder.email, "create", "pledge"), (funder.email, "change", "pledge"),
                                           (funder.email, "create", "pledge"), (funder.email, "withdraw", "pledge")]
    with db.sessions.begin() as session:
        change = session.execute(select(AuditLog).where(AuditLog.action == "change")).scalar_one()
        assert change.details["before"]["amount_cents"] == 10010 and change.details["after"]["amount_cents"] == 20000
        assert change.user_id == funder.id and change.round_id == round_id


def test_a_funder_touches_only_its_own_pledges(db, people):
    round_id = draft_round(db)
    with db.sessions.begin() as session:
        services.pledge(session, people["funder"], round_id, {"id": "p1", "amount": "10"})
    for user in (people["funder2"], people["analyst"], people["actor"]):
        with db.sessions.begin() as session:
            with pytest.raises(Forbidden):
                services.change_pledge(session, user, round_id, "p1", {"amount": 1})
        with db.sessions.begin() as session:
            with pytest.raises(Forbidden):
                services.withdraw_pledge(session, user, round_id, "p1")
    with db.sessions.begin() as session:
        with pytest.raises(Forbidden, match="only as its own funder"):
            services.pledge(session, people["funder2"], round_id, {"id": "p9", "amount": "1", "funder": "f1"})
    with db.sessions.begin() as session:
        with pytest.raises(Forbidden, match="only funders may pledge"):
            services.pledge(session, people["actor"], round_id, {"id": "p9", "amount": "1"})
    with db.sessions.begin() as session:
        assert [p.key for p in services.visible_pledges(session, people["funder2"], round_id)] == []
        assert [p.key for p in services.visible_pledges(session, people["funder"], round_id)] == ["p1"]
        assert [p.key for p in services.visible_pledges(session, people["analyst"], round_id)] == ["p1"]
        assert services.visible_pledges(session, people["actor"], round_id) == []
    assert count(db, Pledge) == 1


def test_pledge_errors_name_their_fields(db, people):
    round_id = draft_round(db)
    funder = people["funder"]
    cases = [
        ({"id": "p", "amount": 12.5}, "amount", "JSON float"),
        ({"id": "p", "amount": "0"}, "amount", "greater than 0"),
        ({"id": "p", "amount": "1.234"}, "amount", "more than two fraction digits"),
        ({"id": "p", "amount": "-5"}, "amount", "negative"),
        ({"id": "p"}, "amount", "Missing data"),
        ({"id": "no spaces", "amount": 1}, "id", "invalid id"),
        ({"id": "p\n", "amount": 1}, "id", "invalid id"),
        ({"id": "p", "amount": "\u0661\u0660"}, "amount", "not a decimal number"),
        ({"id": "p", "amount": 1, "match": 1e25}, "match", "at most 1,000: the engine's bound for matching ratios"),
        ({"id": "p", "amount": 1, "max_share": 1e-6}, "max_share", "at least 0.001"),
        ({"id": "p", "amount": "10000000000000.00"}, "amount", "at most 99,999,999.99: the engine's bound for money"),
        ({"id": "p", "amount": 1, "scope": {"components": ["wells/drill\n"]}}, "scope.components[0]", "expected"),
        ({"id": "p", "amount": 1, "max_share": 0}, "max_share", "(0, 1]"),
        ({"id": "p", "amount": 1, "match": -1}, "match", "> 0"),
        ({"id": "p", "amount": 1, "scope": {"challenges": ["nowhere"]}}, "scope.challenges[0]", "unknown challenge"),
        ({"id": "p", "amount": 1, "scope": {"components": ["wells/nope"]}}, "scope.components[0]", "unknown component"),
        ({"id": "p", "amount": 1, "colour": "red"}, "colour", "Unknown field"),
        ({"id": "p", "amount": 1, "scope": {"tags": ["a\x00"]}}, "scope.tags[0]", "NUL"),
    ]
    for data, field, message in cases:
        with db.sessions.begin() as session:
            with pytest.raises(InvalidInput) as caught:
                services.pledge(session, funder, round_id, data)
        assert field in caught.value.fields, (data, caught.value.fields)
        assert message in caught.value.fields[field]
    with db.sessions.begin() as session:
        services.pledge(session, funder, round_id, {"id": "p", "amount": 1})
    with db.sessions.begin() as session:
        with pytest.raises(InvalidInput, match='pledge id "p" is already used'):
            services.pledge(session, people["funder2"], round_id, {"id": "p", "amount": 1})
    with db.sessions.begin() as session:
        with pytest.raises(InvalidInput, match="funder: required"):
            services.pledge(session, None, round_id, {"id": "q", "amount": 1})
    assert count(db, Pledge) == 1


def test_a_pledge_to_a_closed_round_is_refused_and_not_half_saved(db, people):
    round_id = draft_round(db)
    with db.sessions.begin() as session:
        services.close_round(session, None, round_id)
    before = audit_actions(db)
    with pytest.raises(RoundNotOpen, match=f"round {round_id} is closed: pledges are accepted only while it is open"):
        with db.sessions.begin() as session:
            services.pledge(session, people["funder"], round_id, {"id": "p", "amount": "10"})
    assert count(db, Pledge) == 0 and count(db, RoundFunder) == 0
    assert audit_actions(db) == before


def test_the_command_line_pledges_for_a_named_funder(db):
    round_id = import_round(db)
    with db.sessions.begin() as session:
        services.pledge(session, None, round_id, {"id": "p9", "amount": "5", "funder": "f2"})
        services.pledge(session, None, round_id, {"id": "p10", "amount": "5", "funder": "newcomer"})
    with db.sessions.begin() as session:
        doc = services.export_round(session, None, round_id)
    assert [(f["id"], [p["id"] for p in f["pledges"]]) for f in doc["funders"]] == [
        ("f1", ["p1", "p2"]), ("f2", ["p3", "p9"]), ("newcomer", ["p10"])]
    assert audit_actions(db, "pledge") == [("cli", "create", "pledge")] * 2


def test_linking_an_imported_funder_to_an_account(db, people):
    round_id = import_round(db)
    funder = people["funder"]
    with db.sessions.begin() as session:
        with pytest.raises(Forbidden):
            services.change_pledge(session, funder, round_id, "p1", {"amount": 1})
    with db.sessions.begin() as session:
        with pytest.raises(Forbidden):
            services.link_participant(session, funder, round_id, "f1", funder.id)
    with db.sessions.begin() as session:
        services.link_participant(session, people["admin"], round_id, "f1", funder.id)
    with db.sessions.begin() as session:
        assert services.change_pledge(session, funder, round_id, "p1", {"amount": 1}).amount_cents == 100
        services.pledge(session, funder, round_id, {"id": "p-new", "amount": 2})
    with db.sessions.begin() as session:
        doc = services.export_round(session, None, round_id)
    assert [p["id"] for p in doc["funders"][0]["pledges"]] == ["p1", "p2", "p-new"]
    with db.sessions.begin() as session:
        with pytest.raises(InvalidInput, match="only funder and actor accounts"):
            services.link_participant(session, None, round_id, "f2", people["analyst"].id)
    with db.sessions.begin() as session:
        with pytest.raises(NotFound, match="no actor 'zz'"):
            services.link_participant(session, None, round_id, "zz", people["actor"].id)


# -- bids ------------------------------------------------------------------------------------------

def test_actor_bids_sealed_and_only_its_own(db, people):
    round_id = draft_round(db)
    actor, other = people["actor"], people["actor2"]
    with db.sessions.begin() as session:
        row = services.bid(session, actor, round_id, {
            "id": "b1", "items": [{"component": "wells/drill", "price": "100.5"},
                                  {"component": "wells/pump", "quantity": 1, "price": 7}],
            "reliability": 0.9, "load": 1, "exclusive_group": "g"})
        assert [(i.quantity, i.price_cents) for i in row.items] == [(None, 10050), (1, 700)]
        services.bid(session, other, round_id, {"id": "b2", "items": [{"component": "latrines/build", "price": 1}]})
    with db.sessions.begin() as session:
        assert [b.key for b in services.visible_bids(session, actor, round_id)] == ["b1"]
        assert [b.key for b in services.visible_bids(session, other, round_id)] == ["b2"]
        assert services.visible_bids(session, people["funder"], round_id) == []
        assert [b.key for b in services.visible_bids(session, people["analyst"], round_id)] == ["b1", "b2"]
    with db.sessions.begin() as session:
        with pytest.raises(Forbidden, match="not yours"):
            services.change_bid(session, other, round_id, "b1", {"load": 0})
    with db.sessions.begin() as session:
        with pytest.raises(Forbidden, match="only actors may bid"):
            services.bid(session, people["funder"], round_id, {"id": "b3", "items": [{"component": "wells/drill",
                                                                                       "price": 1}]})
    with db.sessions.begin() as session:
        row = services.change_bid(session, actor, round_id, "b1", {
            "items": [{"component": "wells/pump", "price": 3}, {"component": "wells/drill", "price": 4}],
            "reliability": None})
        assert [(i.component.key, i.price_cents) for i in row.items] == [("pump", 300), ("drill", 400)]
        assert row.reliability is None
    with db.sessions.begin() as session:
        services.withdraw_bid(session, actor, round_id, "b1")
    with db.sessions.begin() as session:
        doc = services.export_round(session, None, round_id)
    assert [b["id"] for a in doc["actors"] for b in a["bids"]] == ["b2"]
    assert [a[1] for a in audit_actions(db, "bid")] == ["create", "create", "change", "withdraw"]


def test_bid_errors_name_their_fields(db, people):
    round_id = draft_round(db)
    actor = people["actor"]
    cases = [
        ({"id": "b", "items": []}, "items", "at least one item"),
        ({"id": "b", "items": [{"component": "wells/drill", "price": 1.5}]}, "items[0].price", "JSON float"),
        ({"id": "b", "items": [{"component": "wells/drill", "price": 1, "quantity": 0}]}, "items[0].quantity", ">= 1"),
        ({"id": "b", "items": [{"component": "wells/drill", "price": 1, "quantity": 10**9}]}, "items[0].quantity",
         "at most 999,999,999"),
        ({"id": "b", "items": [{"component": "wells/drill", "price": 1, "quantity": 2**70}]}, "items[0].quantity",
         "at most 999,999,999"),
        ({"id": "b", "items": [{"component": "wells/drill", "price": "100000000"}]}, "items[0].price",
         "at most 99,999,999.99"),
        ({"id": "b", "items": [{"component": "wells/drill", "price": 1}], "load": 1e12}, "load", "at most 1,000,000"),
        ({"id": "b", "items": [{"component": "wells/drill", "price": 1}], "reliability": 1e-300}, "reliability",
         "at least 0.001"),
        ({"id": "b", "items": [{"component": "wells/drill", "price": 1, "quantity": 1.5}]}, "items[0].quantity",
         "integer"),
        ({"id": "b", "items": [{"component": "drill", "price": 1}]}, "items[0].component", "<challenge id>/"),
        ({"id": "b", "items": [{"component": "wells/x", "price": 1}]}, "items[0].component", "unknown component"),
        ({"id": "b", "items": [{"component": "wells/drill", "price": 1}, {"component": "wells/drill", "price": 2}]},
         "items[1].component", "repeats items[0]"),
        ({"id": "b", "items": [{"component": "wells/drill", "price": 1}], "reliability": 0}, "reliability", "(0, 1]"),
        ({"id": "b", "items": [{"component": "wells/drill", "price": 1}], "load": -1}, "load", ">= 0"),
    ]
    for data, field, message in cases:
        with db.sessions.begin() as session:
            with pytest.raises(InvalidInput) as caught:
                services.bid(session, actor, round_id, data)
        assert field in caught.value.fields, (data, caught.value.fields)
        assert message in caught.value.fields[field]
    with db.sessions.begin() as session:
        services.close_round(session, None, round_id)
    with db.sessions.begin() as session:
        with pytest.raises(RoundNotOpen, match="bids are accepted only while it is open"):
            services.bid(session, actor, round_id, {"id": "b", "items": [{"component": "wells/drill", "price": 1}]})


# -- accounts and the audit log --------------------------------------------------------------------

def test_accounts(db, people):
    with db.sessions.begin() as session:
        user = services.create_user(session, people["admin"], "New@Example.org ", "New", "funder")
        assert user.email == "new@example.org"
    with db.sessions.begin() as session:
        with pytest.raises(InvalidInput) as caught:
            services.create_user(session, None, "nope", "", "king")
        assert set(caught.value.fields) == {"email", "name", "role"}
    with db.sessions.begin() as session:
        with pytest.raises(InvalidInput, match="already has an account"):
            services.create_user(session, None, "new@example.org", "Again", "actor")
    with db.sessions.begin() as session:
        with pytest.raises(Forbidden):
            services.create_user(session, people["analyst"], "x@example.org", "X", "admin")
    assert audit_actions(db, "user") == [("root@example.org", "create", "user")]


def test_the_audit_log_is_append_only(db):
    import_round(db)
    with db.sessions.begin() as session:
        row = session.execute(select(AuditLog)).scalars().first()
        assert (row.who, row.action, row.entity) == ("cli", "import", "round")
        row.who = "someone else"
        with pytest.raises(AuditLogIsAppendOnly):
            session.flush()
        session.rollback()
    with db.sessions.begin() as session:
        row = session.execute(select(AuditLog)).scalars().first()
        session.delete(row)
        with pytest.raises(AuditLogIsAppendOnly):
            session.flush()
        session.rollback()
    assert count(db, AuditLog) == 1


def test_sign_up_only_funders_and_actors(db):
    with db.sessions.begin() as session:
        user = services.sign_up(session, "New@Example.org", "New", "actor", "long enough")
        assert (user.email, user.role) == ("new@example.org", "actor")
        assert services.user_by_email(session, " NEW@example.org ").id == user.id
        assert services.user_by_email(session, "nobody@example.org") is None
    for role in ("analyst", "admin", "x"):
        with pytest.raises(InvalidInput) as exc, db.sessions.begin() as session:
            services.sign_up(session, f"{role}@example.org", "N", role, "long enough")
        assert "role" in exc.value.fields
    with db.sessions.begin() as session:
        assert services.sign_up(session, "new@example.org", "N", "funder", "another long one") is None
    with db.sessions.begin() as session:
        actions = [a.action for a in session.execute(select(AuditLog).where(AuditLog.entity == "user")).scalars()]
        assert check_password_hash(services.user_by_email(session, "new@example.org").password_hash, "long enough")
    assert actions == ["create", "sign-up", "sign-up-taken"]


def test_change_challenge_in_a_draft(db):
    analyst = db.user("ana@example.org", Role.ANALYST)
    funder = db.user("f@example.org", Role.FUNDER)
    with db.sessions.begin() as session:
        rnd = services.create_round(session, analyst, {"name": "r"})
        services.add_challenge(session, analyst, rnd.id, {"id": "c", "components": [{"id": "a"}, {"id": "b"}]})
        services.add_challenge(session, analyst, rnd.id, {"id": "d", "components": [{"id": "a"}]})
        round_id = rnd.id
    with db.sessions.begin() as session:
        services.change_challenge(session, analyst, round_id, "c", {
            "id": "c2", "title": "T", "tags": ["x"], "value": 5, "reliability": 0.9,
            "components": [{"id": "b", "quantity": 3}, {"id": "e", "requires": ["b"], "max_unit_price": "10.50"}]})
    with db.sessions.begin() as session:
        c = session.execute(select(Challenge).where(Challenge.key == "c2")).scalar_one()
        assert (c.title, c.tags, c.value, c.reliability) == ("T", ["x"], 5, 0.9)
        assert [(k.key, k.quantity, k.requires, k.max_unit_price_cents) for k in c.components] == [
            ("b", 3, [], None), ("e", 1, ["b"], 1050)]
    with pytest.raises(InvalidInput) as exc, db.sessions.begin() as session:
        services.change_challenge(session, analyst, round_id, "c2", {"id": "d", "components": [{"id": "a"}]})
    assert "already used" in exc.value.fields["id"]
    with pytest.raises(InvalidInput), db.sessions.begin() as session:
        services.change_challenge(session, analyst, round_id, "c2", {"id": "c2", "components": []})
    with pytest.raises(NotFound), db.sessions.begin() as session:
        services.change_challenge(session, analyst, round_id, "zz", {"id": "zz", "components": [{"id": "a"}]})
    with pytest.raises(Forbidden), db.sessions.begin() as session:
        services.change_challenge(session, funder, round_id, "c2", {"id": "c2", "components": [{"id": "a"}]})
    with db.sessions.begin() as session:
        services.open_round(session, analyst, round_id)
    with pytest.raises(WrongState), db.sessions.begin() as session:
        services.change_challenge(session, analyst, round_id, "c2", {"id": "c2", "components": [{"id": "a"}]})


@pytest.mark.parametrize("email, name, field", [
    ("nul@example.org", "A\x00B", "name"), ("tab@example.org", "A\tB", "name"),
    ("long@example.org", "N" * 201, "name"), ("lone@example.org", "A\ud800", "name"),
    ("a\x00b@example.org", "N", "email"), ("a@example.org\x00", "N", "email"),
])
def test_accounts_refuse_what_the_database_cannot_store(db, email, name, field):
    with pytest.raises(InvalidInput) as caught, db.sessions.begin() as session:
        services.sign_up(session, email, name, "funder", "hash")
    assert field in caught.value.fields
    with pytest.raises(InvalidInput), db.sessions.begin() as session:
        services.create_user(session, None, email, name, "analyst")
    assert count(db, User) == 0


def test_token_names_are_stored_as_given_or_refused(db):
    owner = db.user("f@example.org", Role.FUNDER)
    for name, message in (("a\x00b", "NUL character"), ("a\x1bb", "control character"), ("x" * 101, "at most 100")):
        with pytest.raises(InvalidInput, match=message), db.sessions.begin() as session:
            services.create_token(session, None, owner.id, name)
    with db.sessions.begin() as session:
        row, secret = services.create_token(session, None, owner.id, "  laptop script ")
        assert row.name == "laptop script" and secret


def test_component_quantities_fit_what_the_database_stores(db):
    analyst = db.user("ana@example.org", Role.ANALYST)
    with db.sessions.begin() as session:
        round_id = services.create_round(session, analyst, {"name": "r"}).id
    for quantity in (10**9, 2**31, 2**70):
        with pytest.raises(InvalidInput) as caught, db.sessions.begin() as session:
            services.add_challenge(session, analyst, round_id, {"id": "c", "components": [{"id": "a",
                                                                                          "quantity": quantity}]})
        assert "at most 999,999,999" in caught.value.fields["components[0].quantity"], caught.value.fields
    with db.sessions.begin() as session:
        services.add_challenge(session, analyst, round_id, {"id": "c", "components": [{"id": "a",
                                                                                      "quantity": 999_999_999}]})


def test_an_analyst_reopens_a_closed_round_and_the_log_says_so(db, people):
    round_id = draft_round(db)
    with pytest.raises(WrongState, match="only a round that is closed can be open"), db.sessions.begin() as session:
        services.reopen_round(session, people["analyst"], round_id)
    with db.sessions.begin() as session:
        services.close_round(session, people["analyst"], round_id)
    with pytest.raises(Forbidden), db.sessions.begin() as session:
        services.reopen_round(session, people["funder"], round_id)
    with db.sessions.begin() as session:
        assert services.reopen_round(session, people["analyst"], round_id).status == "open"
        services.pledge(session, people["funder"], round_id, {"id": "late", "amount": 5})
    with db.sessions.begin() as session:
        rows = session.execute(select(AuditLog).where(AuditLog.entity == "round", AuditLog.action == "reopen")).scalars()
        assert [(r.user_id, r.details["before"], r.details["after"]) for r in rows] == [
            (people["analyst"].id, "closed", "open")]
