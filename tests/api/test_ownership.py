"""Someone else's pledge or bid through /api/v1: absent on GET, PATCH and DELETE (the very 404 an unknown
key gets, whatever the stranger's role), read but not changed by analysts and admins (403)."""
from __future__ import annotations

from typing import Any

import pytest

from market import services
from market.models import User
from web import db as web_db

from .helpers import Api, Users, assert_error

KEY = "theirs-7"

KINDS = {"pledge": ("funder", "actor", {"amount": "10"}, {"amount": "1"}),
         "bid": ("actor", "funder", {"items": [{"component": "wells/drill", "price": "10"}]}, {"load": 1})}


@pytest.fixture(params=list(KINDS))
def kind(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


def hold(owner: Api, kind: str, round_id: int, key: str) -> None:
    """`owner`'s pledge or bid with the very key `key` (the API gives keys; the services take one)."""
    with web_db.sessions(owner.app).begin() as session:
        user = session.get_one(User, owner.user_id)
        getattr(services, kind)(session, user, round_id, KINDS[kind][2] | {"id": key})


def answers(client: Api, kind: str, round_id: int, key: str) -> dict[str, Any]:
    """GET, PATCH and DELETE of pledge or bid `key`."""
    url = f"/rounds/{round_id}/{kind}s/{key}"
    return {"GET": client.get(url), "PATCH": client.patch(url, KINDS[kind][3]), "DELETE": client.delete(url)}


def test_someone_elses_answers_as_an_unknown_key(users: Users, empty_round: int, kind: str) -> None:
    owner_role, other_role, created, _ = KINDS[kind]
    owner = users("owner@example.org", owner_role)
    strangers = [users("rival@example.org", owner_role), users("other@example.org", other_role)]
    unknown = {stranger.user_id: {verb: (r.status_code, assert_error(r, 404))
                                  for verb, r in answers(stranger, kind, empty_round, KEY).items()}
               for stranger in strangers}
    hold(owner, kind, empty_round, KEY)
    for stranger in strangers:
        assert {verb: (r.status_code, r.get_json()) for verb, r in answers(stranger, kind, empty_round, KEY).items()} \
            == unknown[stranger.user_id]
    assert owner.get(f"/rounds/{empty_round}/{kind}s/{KEY}").status_code == 200


def test_staff_read_every_one_and_change_none(users: Users, empty_round: int, kind: str) -> None:
    owner = users("owner@example.org", KINDS[kind][0])
    mine = owner.post(f"/rounds/{empty_round}/{kind}s", KINDS[kind][2]).get_json()
    key = mine["id"]
    for email, role in (("ana@example.org", "analyst"), ("root@example.org", "admin")):
        staff = users(email, role)
        assert [row["id"] for row in staff.get(f"/rounds/{empty_round}/{kind}s").get_json()] == [key]
        seen = answers(staff, kind, empty_round, key)
        assert seen["GET"].status_code == 200 and seen["GET"].get_json() == mine
        for verb in ("PATCH", "DELETE"):
            assert "is not yours" in assert_error(seen[verb], 403, "")["errors"][""][0], verb
    assert owner.get(f"/rounds/{empty_round}/{kind}s/{key}").get_json() == mine


def test_a_create_tells_no_one_whether_a_key_is_held(users: Users, empty_round: int, kind: str) -> None:
    """Keys are unique in a round across its users: were a caller to choose one, its refusal would say that
    someone else holds it. The server gives every key, and a chosen one is refused alike, held or not."""
    owner_role, _, created, _ = KINDS[kind]
    owner, rival = users("owner@example.org", owner_role), users("rival@example.org", owner_role)
    hold(owner, kind, empty_round, KEY)
    url = f"/rounds/{empty_round}/{kind}s"
    held, free = rival.post(url, created | {"id": KEY}), rival.post(url, created | {"id": "free-7"})
    assert (held.status_code, held.get_json()) == (free.status_code, free.get_json())
    assert "given by the server" in assert_error(held, 422, "id")["errors"]["id"][0]
    made = rival.post(url, created)
    assert made.status_code == 201 and made.get_json()["id"] not in (KEY, "free-7")
    assert [row["id"] for row in rival.get(url).get_json()] == [made.get_json()["id"]]
