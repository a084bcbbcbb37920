"""An analyst excludes a pledge or a bid from a round's clearing with a reason, and includes it again:
audited, left out of the market the clearing reads, open or closed rounds only."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from market import services
from market.errors import Forbidden, InvalidInput, NotFound, WrongState
from market.models import AuditLog, Role, Round
from market.snapshot import round_document

from .helpers import closed_round, import_round


def document(db, round_id):
    with db.sessions.begin() as session:
        return round_document(session, session.get(Round, round_id))


def keys(doc):
    return ([p["id"] for f in doc["funders"] for p in f["pledges"]],
            [b["id"] for a in doc["actors"] for b in a["bids"]])


def test_an_excluded_pledge_and_bid_are_left_out_of_the_clearing_and_can_come_back(db):
    analyst = db.user("ana@example.org", Role.ANALYST)
    round_id = closed_round(db)
    with db.sessions.begin() as session:
        services.exclude(session, analyst, round_id, "pledge", "p3", {"reason": "  the matching fund withdrew  "})
        services.exclude(session, analyst, round_id, "bid", "b3", {"reason": "actor unreachable"})
    assert keys(document(db, round_id)) == (["p1", "p2"], ["b1", "b2"])
    cleared = services.clear_round(db.sessions, analyst, round_id)
    assert {p.id for p in cleared.allocation.pledges} == {"p1", "p2"}
    assert "b3" not in {a.bid for a in cleared.allocation.awards}
    with db.sessions.begin() as session:
        [pledge] = [p for p in services.visible_pledges(session, None, round_id) if p.key == "p3"]
        assert pledge.excluded_reason == "the matching fund withdrew" and pledge.excluded_at is not None
        rows = session.execute(select(AuditLog).where(AuditLog.action.in_(("exclude", "include")))
                               .order_by(AuditLog.id)).scalars().all()
        assert [(r.action, r.entity, r.details["key"], r.details["reason"], r.who) for r in rows] == [
            ("exclude", "pledge", "p3", "the matching fund withdrew", "ana@example.org"),
            ("exclude", "bid", "b3", "actor unreachable", "ana@example.org")]
    with db.sessions.begin() as session:                          # a cleared round's result stands
        with pytest.raises(WrongState, match="only while it is open or closed"):
            services.include(session, analyst, round_id, "pledge", "p3")


def test_include_takes_it_back(db):
    analyst = db.user("ana@example.org", Role.ANALYST)
    round_id = import_round(db)                                   # open
    with db.sessions.begin() as session:
        services.exclude(session, analyst, round_id, "bid", "b1", {"reason": "priced in error"})
    with db.sessions.begin() as session:
        row = services.include(session, analyst, round_id, "bid", "b1")
        assert row.excluded_reason is None and row.excluded_at is None
    assert "b1" in keys(document(db, round_id))[1]
    with db.sessions.begin() as session:
        with pytest.raises(WrongState, match="'b1' is not excluded"):
            services.include(session, analyst, round_id, "bid", "b1")
        [row] = session.execute(select(AuditLog).where(AuditLog.action == "include")).scalars().all()
        assert row.details == {"key": "b1", "reason": "priced in error"}


def test_only_staff_exclude_with_a_reason(db):
    round_id = closed_round(db)
    analyst = db.user("ana@example.org", Role.ANALYST)
    funder = db.user("f@example.org", Role.FUNDER)
    with db.sessions.begin() as session:
        with pytest.raises(Forbidden):
            services.exclude(session, funder, round_id, "pledge", "p1", {"reason": "mine"})
    for data in ({}, {"reason": "   "}, {"reason": "x" * 501}, {"reason": 3}):
        with pytest.raises(InvalidInput) as caught, db.sessions.begin() as session:
            services.exclude(session, analyst, round_id, "pledge", "p1", data)
        assert "reason" in caught.value.fields
    with pytest.raises(NotFound), db.sessions.begin() as session:
        services.exclude(session, analyst, round_id, "pledge", "nope", {"reason": "r"})
    assert keys(document(db, round_id))[0] == ["p1", "p2", "p3"]
