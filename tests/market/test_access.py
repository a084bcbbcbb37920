"""Who may see and change a pledge or a bid (market.services.access), through the look-up and through
the write services that ask it: the owner and the command line both; analysts and admins see but may
not change (Forbidden); anyone else finds it absent, refused exactly as an unknown key is; a change to a
withdrawn one is Withdrawn. A change on a round that is not open is refused after the look-up (someone
else's is absent whatever the round's state) and before the owner's and staff's own refusals."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from market import services
from market.errors import Forbidden, MarketDomainError, NotFound, NotYours, RoundNotOpen, Withdrawn
from market.models import AuditLog, User

from .helpers import draft_round


@dataclass(frozen=True)
class Kind:
    name: str
    owner_role: str
    other_role: str                          # a role that has none of this kind
    place: Callable[[Session, User | None, int, str], Any]
    find: Callable[..., Any]                 # services.pledge_for / bid_for
    change: Callable[[Session, User | None, int, str], Any]
    withdraw: Callable[[Session, User | None, int, str], Any]


PLEDGE = Kind("pledge", "funder", "actor",
              lambda s, user, r, key: services.pledge(s, user, r, {"id": key, "amount": "10"}),
              services.pledge_for,
              lambda s, user, r, key: services.change_pledge(s, user, r, key, {"amount": "1"}),
              services.withdraw_pledge)
BID = Kind("bid", "actor", "funder",
           lambda s, user, r, key: services.bid(s, user, r, {"id": key, "items": [{"component": "wells/drill",
                                                                                    "price": "10"}]}),
           services.bid_for,
           lambda s, user, r, key: services.change_bid(s, user, r, key, {"load": 1}),
           services.withdraw_bid)


@pytest.fixture(params=[PLEDGE, BID], ids=lambda kind: kind.name)
def kind(request: pytest.FixtureRequest) -> Kind:
    return request.param  # type: ignore[no-any-return]


def paths(kind: Kind, round_id: int, key: str) -> dict[str, Callable[[Session, User | None], Any]]:
    """Every way the services reach one pledge or bid."""
    return {"read": lambda s, user: kind.find(s, user, round_id, key),
            "read to change": lambda s, user: kind.find(s, user, round_id, key, change=True),
            "change": lambda s, user: kind.change(s, user, round_id, key),
            "withdraw": lambda s, user: kind.withdraw(s, user, round_id, key)}


def written(db: Any, kind: Kind) -> list[str]:
    """The audited writes to pledges or bids: a refused one writes nothing."""
    with db.sessions.begin() as session:
        return list(session.execute(select(AuditLog.action).where(AuditLog.entity == kind.name)
                                    .order_by(AuditLog.id)).scalars())


def refusal(db: Any, call: Callable[[Session, User | None], Any], user: User | None) -> MarketDomainError:
    with pytest.raises(MarketDomainError) as caught, db.sessions.begin() as session:
        call(session, user)
    return caught.value


@pytest.fixture
def placed(db: Any, kind: Kind) -> tuple[int, User]:
    """An open round with pledge or bid "k" of its owner, and the owner."""
    round_id = draft_round(db)
    owner = db.user("owner@example.org", kind.owner_role)
    with db.sessions.begin() as session:
        kind.place(session, owner, round_id, "k")
    return round_id, owner


def test_someone_elses_looks_absent_on_every_path(db: Any, kind: Kind) -> None:
    round_id = draft_round(db)
    owner = db.user("owner@example.org", kind.owner_role)
    strangers = [db.user("rival@example.org", kind.owner_role), db.user("other@example.org", kind.other_role)]
    reach = paths(kind, round_id, "k")
    unknown = {(user.email, path): refusal(db, call, user) for user in strangers for path, call in reach.items()}
    with db.sessions.begin() as session:
        kind.place(session, owner, round_id, "k")
    for user in strangers:
        for path, call in reach.items():
            error, absent = refusal(db, call, user), unknown[(user.email, path)]
            assert type(absent) is NotFound and isinstance(error, NotYours), (user.email, path, error)
            assert isinstance(error, Forbidden)              # a refusal for the services' callers ...
            assert str(error) == str(absent)                 # ... told exactly what an unknown key is told
    with db.sessions.begin() as session:
        services.close_round(session, None, round_id)
    for user in strangers:                                    # absent before the round's state is looked at
        for path in ("change", "withdraw"):
            assert isinstance(refusal(db, reach[path], user), NotYours), (user.email, path)
    assert written(db, kind) == ["create"]


def test_staff_see_but_may_not_change(db: Any, kind: Kind, placed: tuple[int, User]) -> None:
    reach = paths(kind, placed[0], "k")
    for user in (db.user("ana@example.org", "analyst"), db.user("root@example.org", "admin")):
        with db.sessions.begin() as session:
            assert reach["read"](session, user).key == "k"
        for path in ("read to change", "change", "withdraw"):
            error = refusal(db, reach[path], user)
            assert type(error) is Forbidden and f"{kind.name} 'k' is not yours" in str(error), (user.email, path)
    assert written(db, kind) == ["create"]


def test_the_owner_and_the_command_line_change_until_withdrawn(db: Any, kind: Kind,
                                                               placed: tuple[int, User]) -> None:
    round_id, owner = placed
    reach = paths(kind, round_id, "k")
    for user in (owner, None):
        with db.sessions.begin() as session:
            assert reach["read to change"](session, user).key == "k"
            reach["change"](session, user)
    with db.sessions.begin() as session:
        assert reach["withdraw"](session, owner).withdrawn
    for user in (owner, None):
        with db.sessions.begin() as session:
            assert reach["read"](session, user).withdrawn            # still on record, and still readable
        for path in ("read to change", "change", "withdraw"):
            error = refusal(db, reach[path], user)
            assert type(error) is Withdrawn and str(error) == f"{kind.name} 'k' was withdrawn", path
    assert written(db, kind) == ["create", "change", "change", "withdraw"]


def test_a_closed_round_refuses_changes_before_staff_and_withdrawn(db: Any, kind: Kind,
                                                                   placed: tuple[int, User]) -> None:
    round_id, owner = placed
    reach = paths(kind, round_id, "k")
    with db.sessions.begin() as session:
        reach["withdraw"](session, owner)
        services.close_round(session, None, round_id)
    staff = [db.user("ana@example.org", "analyst"), db.user("root@example.org", "admin")]
    for user in [owner, None, *staff]:
        for path in ("change", "withdraw"):
            error = refusal(db, reach[path], user)
            assert type(error) is RoundNotOpen and f"round {round_id} is closed" in str(error), (user, path)
    assert written(db, kind) == ["create", "withdraw"]
