"""Bad input at the services, on SQLite and PostgreSQL: text with control characters in every text field
(PostgreSQL cannot store a NUL: a 500 before), ids beyond their 32-bit columns and keys that no row can
have (PostgreSQL refuses even to compare them: a 500 before), each refused or answered with the field
named and nothing written."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from market import services
from market.errors import InvalidInput, NotFound
from market.models import AuditLog, Role
from market.services.common import get_round
from market.text import text_problem
from solver.loading import parse_market
from tests.small_market import market_doc

from .helpers import draft_round

# A NUL, another C0 control, DEL, a C1 control, a lone surrogate.
BAD = ["a\x00b", "a\x1bb", "a\x7fb", "a\x85b", "a\ud800b"]


def audit_rows(db) -> int:
    with db.sessions.begin() as session:
        return session.execute(select(func.count()).select_from(AuditLog)).scalar_one()


def test_the_text_rule():
    assert text_problem("Kisumu wells: 2×, ümlaut, 水, emoji 👩‍💻, U+2028 \u2028") is None
    assert text_problem("a\x00") == "contains a NUL character (U+0000), which cannot be stored"
    assert text_problem("a\tb") == "contains a control character (U+0009)"
    assert text_problem("a\x9fb") == "contains a control character (U+009F)"
    assert text_problem("\udc80") == "contains an unpaired surrogate (U+DC80), which cannot be stored"
    assert text_problem("line one\r\nline two\tend", multiline=True) is None
    assert text_problem("line\x00", multiline=True) and text_problem("\x0b", multiline=True)


def _writes(people, round_id, draft_id, bad):
    """Each service that takes text, with `bad` in one field: (call, the field it names)."""
    analyst, funder, actor = people
    challenge = {"id": "c", "components": [{"id": "k"}]}
    return [
        (lambda s: services.create_round(s, analyst, {"name": bad}), "name"),
        (lambda s: services.create_round(s, analyst, {"name": "r", "note": bad}), "note"),
        (lambda s: services.add_challenge(s, analyst, draft_id, {**challenge, "title": bad}), "title"),
        (lambda s: services.add_challenge(s, analyst, draft_id, {**challenge, "tags": ["ok", bad]}), "tags[1]"),
        (lambda s: services.add_challenge(s, analyst, draft_id, {"id": "c", "components": [{"id": "k", "title": bad}]}),
         "components[0].title"),
        (lambda s: services.add_challenge(s, analyst, draft_id, {"id": "c", "components": [{"id": "k", "unit": bad}]}),
         "components[0].unit"),
        (lambda s: services.pledge(s, funder, round_id, {"id": "p", "amount": 1, "scope": {"tags": [bad]}}),
         "scope.tags[0]"),
        (lambda s: services.bid(s, actor, round_id, {"id": "b", "exclusive_group": bad,
                                                     "items": [{"component": "wells/drill", "price": 1}]}),
         "exclusive_group"),
        (lambda s: services.create_token(s, None, funder.id, bad), "name"),
        (lambda s: services.sign_up(s, "new@example.org", bad, "funder", "hash"), "name"),
        (lambda s: services.create_user(s, None, f"x{bad}@example.org", "N", "analyst"), "email"),
    ]


@pytest.mark.parametrize("bad", BAD, ids=["nul", "esc", "del", "c1", "surrogate"])
def test_every_text_field_refuses_control_characters_naming_the_field(db, bad):
    people = (db.user("ana@example.org", Role.ANALYST), db.user("fund@example.org", Role.FUNDER),
              db.user("act@example.org", Role.ACTOR))
    round_id = draft_round(db)
    with db.sessions.begin() as session:
        draft_id = services.create_round(session, None, {"name": "draft"}).id
    before = audit_rows(db)
    for call, field in _writes(people, round_id, draft_id, bad):
        with pytest.raises(InvalidInput) as caught, db.sessions.begin() as session:
            call(session)
        assert field in caught.value.fields, (field, caught.value.fields)
        assert "character" in caught.value.fields[field] or "surrogate" in caught.value.fields[field] \
            or field == "email"
    assert audit_rows(db) == before


def test_a_note_keeps_its_lines_and_tabs(db):
    with db.sessions.begin() as session:
        rnd = services.create_round(session, None, {"name": "r", "note": "first line\r\nsecond\tline"})
        assert rnd.note == "first line\r\nsecond\tline"
    with pytest.raises(InvalidInput) as caught, db.sessions.begin() as session:
        services.create_round(session, None, {"name": "r\nr"})
    assert list(caught.value.fields) == ["name"]


@pytest.mark.parametrize("where, bad", [
    (("challenges", 0, "title"), "a\x01"), (("challenges", 0, "components", 0, "unit"), "\x7f"),
    (("challenges", 0, "tags", 0), "x\x00"), (("funders", 0, "name"), "F\x1b[31m"),
    (("actors", 0, "name"), "A\x9b"), (("actors", 0, "bids", 1, "exclusive_group"), "g\x00"),
    (("name",), "n\n"),
])
def test_an_imported_market_refuses_control_characters_at_their_path(db, where, bad):
    doc = market_doc()
    target = doc
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = bad
    with pytest.raises(InvalidInput) as caught, db.sessions.begin() as session:
        services.import_market(session, None, parse_market(doc))
    path = "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in where).lstrip(".")
    assert list(caught.value.fields) == [path]
    doc = market_doc()
    doc["note"] = "imported\r\nfrom the\tfile"
    with db.sessions.begin() as session:
        assert services.import_market(session, None, parse_market(doc)).note == doc["note"]


@pytest.mark.parametrize("row_id", [0, -1, 2**31, 2**63 - 1, 2**70, True])
def test_ids_no_row_can_have_are_not_found(db, row_id):
    """Ids beyond the 32-bit columns (the web and the API route any 64-bit number) are unknown, not a 500."""
    owner = db.user("fund@example.org", Role.FUNDER)
    round_id = draft_round(db)
    calls = [lambda s: get_round(s, row_id), lambda s: services.close_round(s, None, row_id),
             lambda s: services.export_round(s, None, row_id), lambda s: services.get_user(s, row_id),
             lambda s: services.revoke_token(s, None, row_id),
             lambda s: services.create_token(s, None, row_id, "t"),
             lambda s: services.link_participant(s, None, round_id, "a1", row_id)]
    for call in calls:
        with pytest.raises(NotFound), db.sessions.begin() as session:
            call(session)
    assert owner.id


@pytest.mark.parametrize("key", ["a\x00b", "p1\n", "", "x" * 65, "a/b"])
def test_keys_no_row_can_have_are_not_found(db, key):
    """A key from a URL may hold anything; one that is not an id is unknown (a NUL was a 500 on PostgreSQL)."""
    from market import reads
    analyst = db.user("ana@example.org", Role.ANALYST)
    funder = db.user("fund@example.org", Role.FUNDER)
    round_id = draft_round(db)
    with db.sessions.begin() as session:
        draft_id = services.create_round(session, None, {"name": "draft"}).id
    calls = [lambda s: services.pledge_for(s, funder, round_id, key),
             lambda s: services.bid_for(s, None, round_id, key),
             lambda s: services.withdraw_pledge(s, funder, round_id, key),
             lambda s: reads.challenge(s, round_id, key),
             lambda s: services.change_challenge(s, analyst, draft_id, key, {"id": "c", "components": [{"id": "k"}]}),
             lambda s: services.link_participant(s, None, round_id, key, funder.id)]
    for call in calls:
        with pytest.raises(NotFound), db.sessions.begin() as session:
            call(session)
