"""A round of market format 1.1 cleared from the database by the engine: the didactic-conditions fixture's
documented outcome, and fixed bids that make the round infeasible (a run for the analysts, not the result)."""
from __future__ import annotations

import json

from market import services
from market.models import Round
from solver.clearing import ClearOptions
from tests.paths import FIXTURES
from tests.swarm import run_on

from .helpers import import_round

DIDACTIC = FIXTURES / "didactic-conditions.json"


def test_a_1_1_round_clears_as_its_file_says(db):
    round_id = import_round(db, json.loads(DIDACTIC.read_text()))
    with db.sessions.begin() as session:
        services.close_round(session, None, round_id)
    cleared = services.clear_round(db.sessions, None, round_id, ClearOptions(time_limit=30))
    allocation = cleared.allocation
    assert allocation.status == "optimal"
    assert sorted(a.bid for a in allocation.awards) == ["kisumu-latrines", "turkana-contract"]
    assert sorted((f.pledge, f.component, f.amount) for f in allocation.flows) == [
        ("bank-grant", "kisumu-sanitation/latrines", 1000000), ("bank-grant", "turkana-water/boreholes", 1400000),
        ("foundation-grant", "kisumu-sanitation/latrines", 2000000),
        ("ministry-budget", "kisumu-sanitation/latrines", 1000000),
        ("ministry-budget", "turkana-water/boreholes", 1400000)]
    with db.sessions.begin() as session:
        assert session.get(Round, round_id).status == "cleared"


def test_fixed_bids_that_cannot_all_be_accepted_leave_the_round_closed(db):
    round_id = import_round(db, json.loads(DIDACTIC.read_text()))
    with db.sessions.begin() as session:
        services.fix_bid(session, None, round_id, "mandera-latrines", {"reason": "contracted"})   # unpayable
        services.close_round(session, None, round_id)
    cleared = services.clear_round(db.sessions, None, round_id, ClearOptions(time_limit=30))
    assert cleared.allocation.status == "infeasible" and not cleared.allocation.awards
    with db.sessions.begin() as session:
        assert session.get(Round, round_id).status == "closed"
        assert services.result_run(session, round_id) is None
        [run] = services.runs(session, round_id)
        assert (run.status, run.is_result) == ("infeasible", False) and run.allocation["unfunded"]
        services.unfix_bid(session, None, round_id, "mandera-latrines", {"reason": "not contracted after all"})
    again = services.clear_round(db.sessions, None, round_id, ClearOptions(time_limit=30))
    assert again.allocation.status == "optimal"
    with db.sessions.begin() as session:
        assert session.get(Round, round_id).status == "cleared"


def test_swarm_clear_of_an_infeasible_round_exits_3_and_says_the_round_stays(db):
    round_id = import_round(db, json.loads(DIDACTIC.read_text()))
    with db.sessions.begin() as session:
        services.fix_bid(session, None, round_id, "mandera-latrines", {"reason": "contracted"})
        services.close_round(session, None, round_id)
    result = run_on(db.url, "clear", round_id, "--time-limit", 30)
    assert result.exit_code == 3, result.output
    assert result.stdout.splitlines()[0].startswith("didactic-conditions: infeasible (cbc")
    assert result.stdout.splitlines()[-1] == ("run 1 recorded, not as the result: no allocation accepts every fixed "
                                              f"bid; round {round_id} stays as it was")
    with db.sessions.begin() as session:
        assert session.get_one(Round, round_id).status == "closed"


def test_a_bid_the_file_says_is_fixed_is_imported_fixed_with_a_reason(db):
    from market.models import Bid
    from market.services.transfer import IMPORTED_FIXED
    round_id = import_round(db, json.loads(DIDACTIC.read_text()))
    with db.sessions.begin() as session:
        fixed = {b.key: (b.fixed, b.fixed_reason) for b in session.query(Bid).filter(Bid.round_id == round_id)}
    assert fixed["turkana-contract"] == (True, IMPORTED_FIXED)
    assert {k for k, (f, _) in fixed.items() if f} == {"turkana-contract"}
    assert all(reason is None for f, reason in fixed.values() if not f)
