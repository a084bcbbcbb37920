"""The ledger's invariants after every test that writes money (issue 17: "the check runs after every ledger
write in tests"): the database fixtures call `assert_ledgers_whole` when a test ends, over every round with
ledger entries. A test that breaks a ledger on purpose (to see the check find it) is marked `breaks_ledger`."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker

from market.models import LedgerTransaction
from market.services import check_ledger


def assert_ledgers_whole(request: pytest.FixtureRequest, sessions: sessionmaker[Session]) -> None:
    if request.node.get_closest_marker("breaks_ledger") is not None:
        return
    with sessions.begin() as session:
        if not inspect(session.connection()).has_table(LedgerTransaction.__tablename__):
            return                  # a test that migrated the database down, below the ledger
        rounds = session.scalars(select(LedgerTransaction.round_id).distinct().order_by(LedgerTransaction.round_id))
        broken = {round_id: problems for round_id in rounds if (problems := check_ledger(session, round_id))}
    assert broken == {}, f"the ledger check fails after the test: {broken}"
