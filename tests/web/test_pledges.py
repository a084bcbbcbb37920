"""Funders' pages: the pledge form, money input, my pledges, edit and withdraw, outcomes, ownership."""
from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from market.models import AuditLog, Pledge
from web import db as web_db


def pledges(app):
    with web_db.sessions(app).begin() as session:
        return [(p.key, p.amount_cents, p.scope, p.max_share, p.match, p.withdrawn)
                for p in session.execute(select(Pledge).order_by(Pledge.id)).scalars()]


def pledge_key(app):
    return pledges(app)[-1][0]


@pytest.fixture
def funder(accounts):
    return accounts.client_for("fund@example.org", "funder")


def test_pledge_form_lists_scope_choices(funder, empty_round):
    page = funder.get(f"/rounds/{empty_round}/pledges/new").data.decode()
    assert 'value="wells"' in page and 'value="sdg:6.1"' in page and 'value="wells/drill"' in page
    for name in ("amount", "max_share", "match"):
        assert f'<label for="{name}">' in page


@pytest.mark.parametrize("text, cents", [("1,250.50", 125050), ("1250.5", 125050), (" 1250 ", 125000),
                                         ("12,345,678.09", 1234567809), ("0.01", 1)])
def test_money_accepted(app, funder, empty_round, text, cents):
    r = funder.post(f"/rounds/{empty_round}/pledges/new", data={"amount": text})
    assert r.status_code == 302, r.data.decode()
    assert pledges(app)[0][1] == cents


@pytest.mark.parametrize("text, message", [("-3", "must not be negative"), ("1e9", "no exponents"),
                                           ("abc", "not an amount"), ("1,25.00", "groups of three"),
                                           ("12.345", "two digits"), ("", "This field is required"),
                                           ("0", "greater than 0"), ("100,000,000", "at most 99,999,999.99"),
                                           ("\u0661\u0660\u0660", "not an amount"),     # digits 0-9 only
                                           ("1,\u0662\u0665\u0660", "groups of three")])
def test_money_rejected_with_the_input_kept(app, funder, empty_round, text, message):
    r = funder.post(f"/rounds/{empty_round}/pledges/new", data={"amount": text, "challenges": ["wells"],
                                                                "max_share": "50", "match": "1"})
    page = r.data.decode()
    assert r.status_code == 400
    assert message in page and 'id="amount-err"' in page
    assert f'value="{text}"' in page or text == ""
    assert 'value="50"' in page and '<input checked id="challenges-0" name="challenges" type="checkbox" value="wells">' in page
    assert pledges(app) == []


def test_pledge_with_scope_share_and_match(app, funder, empty_round):
    r = funder.post(f"/rounds/{empty_round}/pledges/new", data={
        "amount": "5,000", "challenges": ["latrines"], "tags": ["sdg:6.1"], "components": ["wells/pump"],
        "max_share": "50", "match": "2"})
    assert r.status_code == 302
    [(key, cents, scope, share, match, withdrawn)] = pledges(app)
    assert (cents, share, match, withdrawn) == (500000, 0.5, 2.0, False)
    assert scope == {"challenges": ["latrines"], "components": ["wells/pump"], "tags": ["sdg:6.1"]}
    page = funder.get(f"/rounds/{empty_round}/pledges").data.decode()
    assert "5,000.00 USD" in page and "at most 50% of any one component" in page and "matching 2 : 1" in page


@pytest.mark.parametrize("field, value, message", [("max_share", "150", "at most 100"),
                                                   ("max_share", "0", "must be above 0"),
                                                   ("match", "-1", "must not be negative"),
                                                   ("match", "x", "enter a number"),
                                                   ("match", "\u0662", "enter a number"),
                                                   ("match", "1" + "0" * 25, "at most 1,000"),
                                                   ("match", "0.0001", "at least 0.001"),
                                                   ("max_share", "0.00001", "at least 0.1")])
def test_other_fields_report_next_to_themselves(app, funder, empty_round, field, value, message):
    r = funder.post(f"/rounds/{empty_round}/pledges/new", data={"amount": "100", field: value})
    page = r.data.decode()
    assert r.status_code == 400 and message in page and f'id="{field}-err"' in page and 'value="100"' in page
    assert pledges(app) == []


def test_unknown_scope_entry_from_a_crafted_form(app, funder, empty_round):
    r = funder.post(f"/rounds/{empty_round}/pledges/new", data={"amount": "100", "challenges": ["nowhere"]})
    assert r.status_code == 400 and 'unknown challenge "nowhere"' in html.unescape(r.data.decode())
    assert 'id="challenges-err"' in r.data.decode()
    assert pledges(app) == []


def test_edit_and_withdraw_own_pledge(app, funder, empty_round):
    funder.post(f"/rounds/{empty_round}/pledges/new", data={"amount": "1,000", "max_share": "25"})
    key = pledge_key(app)
    form = funder.get(f"/rounds/{empty_round}/pledges/{key}/edit").data.decode()
    assert 'value="1,000.00"' in form and 'value="25"' in form
    r = funder.post(f"/rounds/{empty_round}/pledges/{key}/edit", data={"amount": "abc"})
    assert r.status_code == 400 and 'value="abc"' in r.data.decode()
    assert pledges(app)[0][1] == 100000                  # nothing half-saved
    r = funder.post(f"/rounds/{empty_round}/pledges/{key}/edit", data={"amount": "2,000.50"})
    assert r.status_code == 302
    assert pledges(app)[0][1:4] == (200050, None, None)
    assert funder.post(f"/rounds/{empty_round}/pledges/{key}/withdraw").status_code == 302
    assert pledges(app)[0][5] is True
    assert funder.get(f"/rounds/{empty_round}/pledges/{key}/edit").status_code == 404
    with web_db.sessions(app).begin() as session:
        actions = [a.action for a in session.execute(select(AuditLog).where(AuditLog.entity == "pledge")).scalars()]
    assert actions == ["create", "change", "withdraw"]


def test_another_funders_pledge_is_out_of_reach(app, accounts, funder, empty_round):
    funder.post(f"/rounds/{empty_round}/pledges/new", data={"amount": "777.77"})
    key = pledge_key(app)
    other = accounts.client_for("other@example.org", "funder")
    assert other.get(f"/rounds/{empty_round}/pledges/{key}/edit").status_code == 404
    assert other.post(f"/rounds/{empty_round}/pledges/{key}/edit", data={"amount": "1"}).status_code == 404
    assert other.post(f"/rounds/{empty_round}/pledges/{key}/withdraw").status_code == 404
    assert "777.77" not in other.get(f"/rounds/{empty_round}/pledges").data.decode()
    assert pledges(app)[0][1] == 77777 and pledges(app)[0][5] is False
    actor = accounts.client_for("act@example.org", "actor")
    assert actor.get(f"/rounds/{empty_round}/pledges").status_code == 403
    assert actor.get(f"/rounds/{empty_round}/pledges/new").status_code == 403
    assert actor.post(f"/rounds/{empty_round}/pledges/new", data={"amount": "1"}).status_code == 403
    assert actor.post(f"/rounds/{empty_round}/pledges/{key}/withdraw").status_code == 403


def test_crafted_urls(funder, empty_round):
    assert funder.get("/rounds/99999/pledges/new").status_code == 404
    assert funder.get(f"/rounds/{10**30}/pledges").status_code == 404      # bounded, not a 500
    assert funder.get(f"/rounds/{empty_round}/pledges/nope/edit").status_code == 404
    assert funder.get(f"/rounds/{empty_round}/pledges/{'x' * 65}/edit").status_code == 404


def test_closed_round_refuses_pledges(app, funder, empty_round):
    from market import services
    with web_db.sessions(app).begin() as session:
        services.close_round(session, None, empty_round)
    r = funder.post(f"/rounds/{empty_round}/pledges/new", data={"amount": "10"})
    assert r.status_code == 409 and "only while it is open" in r.data.decode()
    assert pledges(app) == []


def test_after_clearing_funder_sees_where_the_money_went(app, accounts, funder, empty_round):
    from market import services
    funder.post(f"/rounds/{empty_round}/pledges/new", data={"amount": "20,000", "challenges": ["wells"]})
    key = pledge_key(app)
    actor = accounts.client_for("act@example.org", "actor")
    actor.post(f"/rounds/{empty_round}/bids/new", data={
        "items-0-component": "wells/drill", "items-0-price": "8,000", "items-1-component": "wells/pump",
        "items-1-price": "1,500.25"})
    with web_db.sessions(app).begin() as session:
        services.close_round(session, None, empty_round)
    services.clear_round(web_db.sessions(app), None, empty_round)
    page = funder.get(f"/rounds/{empty_round}/pledges").data.decode()
    assert "Where the money went" in page
    assert "wells/drill" in page and "8,000.00 USD" in page and "1,500.25 USD" in page and "Act" in page
    assert "Spent" in page and "9,500.25 USD" in page and "Returned to you" in page and "10,499.75 USD" in page
    assert f"/pledges/{key}/edit" not in page                 # no editing after the round is open


def test_crafted_form_fields_cannot_choose_the_funder_or_the_key(app, accounts, funder, empty_round):
    with web_db.sessions(app).begin() as session:
        from market import services
        services.pledge(session, None, empty_round, {"id": "theirs", "funder": "someone", "amount": "5"})
    r = funder.post(f"/rounds/{empty_round}/pledges/new", data={"amount": "10", "funder": "someone", "id": "theirs"})
    assert r.status_code == 302
    rows = pledges(app)
    assert rows[0][:2] == ("theirs", 500) and rows[1][0] != "theirs" and rows[1][1] == 1000
    assert funder.get(f"/rounds/{empty_round}/pledges/theirs/edit").status_code == 404
    assert funder.post(f"/rounds/{empty_round}/pledges/theirs/withdraw").status_code == 404
    assert pledges(app)[0][5] is False


def test_the_listed_option_is_off_by_default_and_kept(app, funder, empty_round):
    form = funder.get(f"/rounds/{empty_round}/pledges/new").data.decode()
    assert 'name="listed"' in form and "List me by name" in form
    funder.post(f"/rounds/{empty_round}/pledges/new", data={"amount": "10"})
    funder.post(f"/rounds/{empty_round}/pledges/new", data={"amount": "20", "listed": "y"})
    with web_db.sessions(app).begin() as session:
        rows = session.execute(select(Pledge.key, Pledge.listed).order_by(Pledge.id)).all()
    assert [listed for _, listed in rows] == [False, True]
    key = rows[1][0]
    assert "checked" in funder.get(f"/rounds/{empty_round}/pledges/{key}/edit").data.decode()
    assert funder.post(f"/rounds/{empty_round}/pledges/{key}/edit", data={"amount": "20"}).status_code == 302
    with web_db.sessions(app).begin() as session:
        assert session.execute(select(Pledge.listed).where(Pledge.key == key)).scalar_one() is False
    assert "shown on the public results only in totals" in funder.get(f"/rounds/{empty_round}/pledges").data.decode()


def test_the_form_tells_no_one_whether_a_key_is_held(app, accounts, funder, empty_round):
    """The server gives every key: an id sent with the form is ignored, held by someone else or not."""
    funder.post(f"/rounds/{empty_round}/pledges/new", data={"amount": "10"})
    held = pledge_key(app)
    rival = accounts.client_for("rival@example.org", "funder")
    answers = [rival.post(f"/rounds/{empty_round}/pledges/new", data={"amount": "5", "id": key})
               for key in (held, "free-7")]
    assert [(r.status_code, r.headers["Location"]) for r in answers] == [(302, f"/rounds/{empty_round}/pledges")] * 2
    keys = [p[0] for p in pledges(app)]
    assert len(keys) == 3 and keys[0] == held and "free-7" not in keys and len(set(keys)) == 3
