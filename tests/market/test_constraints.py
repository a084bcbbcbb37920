"""The database's own backstops: checks on amounts, unique keys per round, foreign keys."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from market.models import Bid, BidItem, Challenge, Component, Pledge, RoundFunder

from .helpers import import_round


def insert(db, *rows):
    with db.sessions.begin() as session:
        session.add_all(rows)


@pytest.mark.parametrize("change", [
    {"amount_cents": 0}, {"amount_cents": -5}, {"max_share": 0.0}, {"max_share": 1.5}, {"match": 0.0},
    {"key": "p1"},                                   # already used in the round
    {"funder_id": 999_999},                          # no such funder
])
def test_pledge_rows_are_checked_by_the_database(db, change):
    round_id = import_round(db)
    with db.sessions.begin() as session:
        funder_id = session.execute(select(RoundFunder.id).where(RoundFunder.round_id == round_id,
                                                                 RoundFunder.key == "f1")).scalar_one()
    values = {"round_id": round_id, "funder_id": funder_id, "key": "new", "amount_cents": 100, **change}
    with pytest.raises(IntegrityError):
        insert(db, Pledge(**values))


@pytest.mark.parametrize("change", [{"price_cents": -1}, {"quantity": 0}, {"component": "drill"}])
def test_bid_items_are_checked_by_the_database(db, change):
    change = dict(change)
    round_id = import_round(db)
    with db.sessions.begin() as session:
        bid_id = session.execute(select(Bid.id).where(Bid.round_id == round_id, Bid.key == "b1")).scalar_one()
        component_id = session.execute(select(Component.id).join(Component.challenge).where(
            Challenge.round_id == round_id, Component.key == change.pop("component", "training"))).scalar_one()
    with pytest.raises(IntegrityError):
        insert(db, BidItem(**{"bid_id": bid_id, "component_id": component_id, "price_cents": 1, "position": 9,
                              **change}))
