"""`swarm ledger commit | show | check` on a round cleared from the command line."""
from __future__ import annotations

import json

from market.ledger import Posting
from market.models import Account, Pledge
from tests.small_market import market_doc
from tests.swarm import run_on

import pytest
from sqlalchemy import select


def cleared(db, tmp_path):
    path = tmp_path / "small.json"
    path.write_text(json.dumps(market_doc()))
    round_id = int(run_on(db.url, "import", path).output.strip().splitlines()[-1])
    result = run_on(db.url, "clear", round_id)
    assert result.exit_code == 0, result.output
    return round_id


def test_commit_show_and_check(db, tmp_path):
    round_id = cleared(db, tmp_path)
    assert run_on(db.url, "ledger", "check", round_id).output == (
        f"round {round_id}: the ledger holds (no transactions yet)\n")
    result = run_on(db.url, "ledger", "commit", round_id)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"round {round_id}: committed ") and "USD into escrow" in result.output
    shown = run_on(db.url, "ledger", "show", round_id).output.splitlines()
    assert shown[0] == f"round {round_id} (USD)" and shown[1].split() == ["pledge", "committed", "in", "escrow",
                                                                         "deposited", "owed"]
    rows = {line.split()[0]: line.split()[1:] for line in shown[2:]}
    assert rows and all(committed == escrow == owed and deposited == "0.00"
                        for committed, escrow, deposited, owed in rows.values())
    result = run_on(db.url, "ledger", "check", round_id)
    assert result.exit_code == 0 and "the ledger holds (every transaction balances" in result.output
    again = run_on(db.url, "ledger", "commit", round_id)
    assert again.exit_code == 2 and "committed already" in again.output
    refused = run_on(db.url, "clear", round_id)
    assert refused.exit_code == 2 and "its money is promised" in refused.output


@pytest.mark.breaks_ledger
def test_check_exits_1_and_names_what_is_broken(db, tmp_path):
    round_id = cleared(db, tmp_path)
    from market import ledger
    with db.sessions.begin() as session:
        pledge_id = session.scalar(select(Pledge.id).where(Pledge.round_id == round_id, Pledge.key == "p1"))
        # A deposit with no commitment behind it: balanced, but more than the pledge owes.
        ledger.post(session, round_id, "deposit", [Posting(Account.CASH, pledge_id, 500),
                                                   Posting(Account.DEPOSIT, pledge_id, -500)], "test")
    result = run_on(db.url, "ledger", "check", round_id)
    assert result.exit_code == 1
    assert f"pledge {pledge_id}: deposited 500 cents of 0 committed" in result.output


def test_an_unknown_round_exits_2(db):
    for verb in ("commit", "show", "check"):
        result = run_on(db.url, "ledger", verb, 999)
        assert result.exit_code == 2 and "no round 999" in result.output


def test_milestones_lists_each_awarded_item_and_its_holdback(db, tmp_path):
    round_id = cleared(db, tmp_path)
    assert run_on(db.url, "milestones", round_id).output == (
        f"round {round_id} has no milestones: its clearing is not committed\n")
    run_on(db.url, "ledger", "commit", round_id)
    lines = run_on(db.url, "milestones", round_id).output.splitlines()
    assert lines[0].startswith(f"round {round_id} (USD): ") and lines[0].endswith(" milestones")
    drill = [line for line in lines if "wells/drill" in line]
    assert [line.split()[3] for line in drill] == ["delivery", "holdback"]
    assert "7,200.00" in drill[0] and "800.00" in drill[1] and "after 90 days of service" in drill[1]
    assert "released 0.00; next: submit a delivery report by " in drill[0]
    assert drill[1].endswith("released 0.00; next: once the delivery is accepted, 90 days of service, then a report "
                             "that it still works")


def test_terms_shown_and_changed_until_the_commit(db, tmp_path):
    round_id = cleared(db, tmp_path)
    assert run_on(db.url, "ledger", "terms", round_id).output == (
        f"round {round_id}: holdback 10% after 90 days of service; reports reviewed within 14 days; deliveries "
        "reported within 180 days of the commit, holdbacks within 30 days of the service period's end\n")
    assert run_on(db.url, "ledger", "terms", round_id, "--holdback-percent", "20", "--review-days", "7",
                  "--delivery-days", "365", "--holdback-report-days", "45").output == (
        f"round {round_id}: holdback 20% after 90 days of service; reports reviewed within 7 days; deliveries "
        "reported within 365 days of the commit, holdbacks within 45 days of the service period's end\n")
    refused = run_on(db.url, "ledger", "terms", round_id, "--holdback-percent", "90")
    assert refused.exit_code == 2 and "holdback_percent" in refused.output and "from 0 to 50" in refused.output
    run_on(db.url, "ledger", "commit", round_id)
    late = run_on(db.url, "ledger", "terms", round_id, "--service-days", "10")
    assert late.exit_code == 2 and "follow the terms it had then" in late.output
