"""Funders' statements (issue 17): per round (page, CSV, `swarm statement`) and across rounds (the portfolio).
A funder reads only its own; released money shows with its verification date and evidence; analysts read any
funder's by key."""
from __future__ import annotations

import csv
import io

from sqlalchemy import select

from market.models import DeliveryReport
from tests.swarm import run_on
from tests.web_fixtures import committed
from web import db as web_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def client(app, accounts, key):
    return accounts.logged_in(f"{key}@example.org")


def delivered(app, accounts):
    """a1's first delivery reported with a photo and accepted by vera."""
    round_id, analyst, milestone = committed(app, accounts)
    assert analyst.post(f"/analyst/rounds/{round_id}/verifiers",
                        data={"email": "vera@example.org", "challenge": ""}).status_code == 302
    actor = client(app, accounts, "a1")
    page = actor.get(f"/milestones/{milestone}").get_data(as_text=True)
    quantity = int(page.split("delivery of ")[1].split(" units")[0])
    assert actor.post(f"/milestones/{milestone}/reports", content_type="multipart/form-data",
                      data={"quantity": str(quantity), "files": [(io.BytesIO(PNG), "well.png")]}).status_code == 302
    with web_db.sessions(app).begin() as session:
        report_id = session.scalar(select(DeliveryReport.id))
    assert client(app, accounts, "vera").post(f"/reports/{report_id}/review",
                                              data={"decision": "accept"}).status_code == 302
    return round_id, analyst, milestone


def test_a_funders_statement_shows_what_verified_work_its_money_bought(app, accounts):
    round_id, analyst, milestone = delivered(app, accounts)
    pages = {key: client(app, accounts, key).get(f"/rounds/{round_id}/statement") for key in ("f1", "f2")}
    assert all(p.status_code == 200 for p in pages.values())
    paying = [k for k, p in pages.items() if f'href="/milestones/{milestone}"' in p.get_data(as_text=True)]
    assert paying
    text = pages[paying[0]].get_data(as_text=True)
    assert "verified 20" in text and "well.png" in text and "/evidence/" in text
    assert "held back until the things have kept working" in text
    got = client(app, accounts, paying[0]).get(f"/rounds/{round_id}/statement.csv")
    assert got.status_code == 200 and got.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(got.get_data(as_text=True))))
    line = next(r for r in rows if r["milestone"] == str(milestone))
    assert line["verified_on"] and line["evidence_files"] == "well.png" and line["released"] == line["your_part"]
    portfolio = client(app, accounts, paying[0]).get("/statements").get_data(as_text=True)
    assert f'href="/rounds/{round_id}/statement"' in portfolio and "1 of" in portfolio, portfolio.split("<main")[-1]
    # analysts read any funder's, by key; with no key they are told to give one
    assert analyst.get(f"/rounds/{round_id}/statement?funder={paying[0]}").status_code == 200
    chooser = analyst.get(f"/rounds/{round_id}/statement").get_data(as_text=True)
    assert f"/rounds/{round_id}/statement?funder=f1" in chooser and "?funder=f2" in chooser


def test_nobody_reads_another_funders_statement(app, accounts):
    round_id, _, _ = committed(app, accounts)
    f2 = client(app, accounts, "f2")
    assert f2.get(f"/rounds/{round_id}/statement?funder=f1").status_code == 404
    assert f2.get(f"/rounds/{round_id}/statement.csv?funder=f1").status_code == 404
    assert "f1" not in f2.get(f"/rounds/{round_id}/statement").get_data(as_text=True).split("<main")[-1] \
        .replace("f1@", "")
    for key in ("a1", "vera"):
        assert client(app, accounts, key).get(f"/rounds/{round_id}/statement").status_code == 403
        assert client(app, accounts, key).get("/statements").status_code == 403
    assert app.test_client().get(f"/rounds/{round_id}/statement").status_code == 302


def test_swarm_statement_prints_and_exports_it(app, accounts):
    round_id, _, milestone = delivered(app, accounts)
    url = app.config["DATABASE_URL"]
    printed = run_on(url, "statement", round_id, "--funder", "f1")
    assert printed.exit_code == 0, printed.output
    assert printed.output.startswith("FundA in") or " in " in printed.output.splitlines()[0]
    assert "pledged" in printed.output and "released to actors" in printed.output
    exported = run_on(url, "statement", round_id, "--funder", "f1", "--csv")
    assert exported.exit_code == 0 and exported.output.splitlines()[0].startswith("round,funder,pledge,milestone")
    missing = run_on(url, "statement", round_id, "--funder", "nobody")
    assert missing.exit_code != 0 and "no funder 'nobody'" in missing.output


def test_the_public_progress_page_shows_totals_per_challenge_and_nothing_private(app, accounts):
    round_id, analyst, milestone = delivered(app, accounts)
    anonymous = app.test_client()
    page = anonymous.get(f"/rounds/{round_id}/progress")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="challenge-wells"' in text and "1 of" in text and "delivering" in text
    for private in ("f1", "f2", "FundA", "p1", "p2", "well.png", "/evidence/", "/milestones/"):
        assert private not in text.split("<main")[-1].split("</main>")[0], private
    url = app.config["DATABASE_URL"]
    printed = run_on(url, "progress", round_id)
    assert printed.exit_code == 0 and "verified 1 of" in printed.output and "delivering" in printed.output


def test_progress_before_the_commit_says_there_is_nothing_to_follow(app):
    from tests.web_fixtures import cleared
    round_id = cleared(app)
    assert "not committed" in app.test_client().get(f"/rounds/{round_id}/progress").get_data(as_text=True)
