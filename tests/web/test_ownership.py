"""Someone else's pledge or bid on the web pages: absent from every page and form that reaches one (the
very 404 page an unknown key gets), listed but not changed for analysts and admins."""
from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from market import services
from market.errors import NotFound, NotYours
from market.models import AuditLog
from web import db as web_db
from web.errors import status_of

from tests.web_fixtures import Accounts

KEY = "theirs-7"
# The logout form's CSRF token is signed with the current second: two pages a second apart differ there.
CSRF_TOKEN = re.compile(rb'name="csrf_token" value="[^"]*"')
KINDS = {"pledge": ("funder", {"id": KEY, "amount": "10"}, {"amount": "1"}),
         "bid": ("actor", {"id": KEY, "items": [{"component": "wells/drill", "price": "10"}]},
                 {"items-0-component": "wells/drill", "items-0-price": "1"})}


@pytest.fixture(params=list(KINDS))
def kind(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


def place(app: Flask, kind: str, user_id: int, round_id: int) -> None:
    """Pledge or bid KEY as the account `user_id`."""
    write = services.pledge if kind == "pledge" else services.bid
    with web_db.sessions(app).begin() as session:
        write(session, services.get_user(session, user_id), round_id, KINDS[kind][1])


def answers(client: FlaskClient, kind: str, round_id: int) -> dict[str, tuple[int, bytes]]:
    """Every page and form that reaches pledge or bid KEY: its status and page."""
    url = f"/rounds/{round_id}/{kind}s/{KEY}"
    responses = {"edit form": client.get(f"{url}/edit"), "edit": client.post(f"{url}/edit", data=KINDS[kind][2]),
                 "withdraw": client.post(f"{url}/withdraw")}
    return {what: (r.status_code, CSRF_TOKEN.sub(b'name="csrf_token"', r.data)) for what, r in responses.items()}


def listed(client: FlaskClient, kind: str, round_id: int) -> bool:
    page = client.get(f"/rounds/{round_id}/{kind}s")
    assert page.status_code == 200
    return f'id="{kind}-{KEY}"' in page.data.decode()


def written(app: Flask, kind: str) -> list[str]:
    """The audited writes to pledges or bids: a refused one writes nothing."""
    with web_db.sessions(app).begin() as session:
        return list(session.execute(select(AuditLog.action).where(AuditLog.entity == kind)
                                    .order_by(AuditLog.id)).scalars())


def test_someone_elses_answers_as_an_unknown_key(app: Flask, accounts: Accounts, empty_round: int,
                                                 kind: str) -> None:
    role = KINDS[kind][0]
    owner_id = accounts.create("owner@example.org", role)
    rival = accounts.client_for("rival@example.org", role)
    rival.get("/")                                   # shows the login's flash message, once
    unknown = answers(rival, kind, empty_round)
    assert {what: status for what, (status, _) in unknown.items()} == {"edit form": 404, "edit": 404, "withdraw": 404}
    place(app, kind, owner_id, empty_round)
    assert answers(rival, kind, empty_round) == unknown
    assert not listed(rival, kind, empty_round)
    assert written(app, kind) == ["create"]


def test_staff_list_every_one_and_change_none(app: Flask, accounts: Accounts, empty_round: int, kind: str) -> None:
    place(app, kind, accounts.create("owner@example.org", KINDS[kind][0]), empty_round)
    for email, role in (("ana@example.org", "analyst"), ("root@example.org", "admin")):
        staff = accounts.client_for(email, role)
        assert listed(staff, kind, empty_round)
        assert {what: status for what, (status, _) in answers(staff, kind, empty_round).items()} == {
            "edit form": 403, "edit": 403, "withdraw": 403}
    assert written(app, kind) == ["create"]


def test_someone_elses_and_an_unknown_key_have_one_status() -> None:
    assert status_of(NotYours("x")) == status_of(NotFound("x")) == (404, "Not found")
