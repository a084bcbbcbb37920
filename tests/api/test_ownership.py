"""Someone else's pledge or bid through /api/v1: absent on GET, PATCH and DELETE (the very 404 an unknown
key gets, whatever the stranger's role), read but not changed by analysts and admins (403)."""
from __future__ import annotations

from typing import Any

import pytest

from .helpers import Api, Users, assert_error

KEY = "theirs-7"
KINDS = {"pledge": ("funder", "actor", {"id": KEY, "amount": "10"}, {"amount": "1"}),
         "bid": ("actor", "funder", {"id": KEY, "items": [{"component": "wells/drill", "price": "10"}]}, {"load": 1})}


@pytest.fixture(params=list(KINDS))
def kind(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


def answers(client: Api, kind: str, round_id: int) -> dict[str, Any]:
    """GET, PATCH and DELETE of pledge or bid KEY."""
    url = f"/rounds/{round_id}/{kind}s/{KEY}"
    return {"GET": client.get(url), "PATCH": client.patch(url, KINDS[kind][3]), "DELETE": client.delete(url)}


def test_someone_elses_answers_as_an_unknown_key(users: Users, empty_round: int, kind: str) -> None:
    owner_role, other_role, created, _ = KINDS[kind]
    owner = users("owner@example.org", owner_role)
    strangers = [users("rival@example.org", owner_role), users("other@example.org", other_role)]
    unknown = {stranger.user_id: {verb: (r.status_code, assert_error(r, 404))
                                  for verb, r in answers(stranger, kind, empty_round).items()}
               for stranger in strangers}
    mine = owner.post(f"/rounds/{empty_round}/{kind}s", created)
    assert mine.status_code == 201, mine.data
    for stranger in strangers:
        assert {verb: (r.status_code, r.get_json()) for verb, r in answers(stranger, kind, empty_round).items()} \
            == unknown[stranger.user_id]
    assert owner.get(f"/rounds/{empty_round}/{kind}s/{KEY}").get_json() == mine.get_json()


def test_staff_read_every_one_and_change_none(users: Users, empty_round: int, kind: str) -> None:
    owner = users("owner@example.org", KINDS[kind][0])
    mine = owner.post(f"/rounds/{empty_round}/{kind}s", KINDS[kind][2]).get_json()
    for email, role in (("ana@example.org", "analyst"), ("root@example.org", "admin")):
        staff = users(email, role)
        assert [row["id"] for row in staff.get(f"/rounds/{empty_round}/{kind}s").get_json()] == [KEY]
        seen = answers(staff, kind, empty_round)
        assert seen["GET"].status_code == 200 and seen["GET"].get_json() == mine
        for verb in ("PATCH", "DELETE"):
            assert "is not yours" in assert_error(seen[verb], 403, "")["errors"][""][0], verb
    assert owner.get(f"/rounds/{empty_round}/{kind}s/{KEY}").get_json() == mine
