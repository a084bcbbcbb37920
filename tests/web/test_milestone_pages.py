"""Milestone pages (issue 17): the actor reports with evidence, an assigned verifier decides, the funders see the
release with its evidence; analysts assign verifiers and see what waits. Whoever may not read a milestone gets
the 404 of one that does not exist."""
from __future__ import annotations

import io
import re

from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from market.models import (DeliveryReport, Dispute, LedgerEntry, Milestone, ReportFile, RoundActor,
                           VerifierAssignment)
from market import services
from tests.small_market import market_doc
from tests.web_fixtures import cleared, committed
from web import db as web_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def client(app, accounts, key):
    return accounts.logged_in(f"{key}@example.org")


def count(app, model):
    with web_db.sessions(app).begin() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_report_verify_and_see_the_release_through_the_pages(app, accounts):
    round_id, analyst, milestone = committed(app, accounts)
    assigned = analyst.post(f"/analyst/rounds/{round_id}/verifiers", data={"email": "vera@example.org",
                                                                           "challenge": ""})
    assert assigned.status_code == 302
    page = analyst.get(f"/analyst/rounds/{round_id}").get_data(as_text=True)
    assert "vera@example.org" in page and "the whole round" in page

    actor = client(app, accounts, "a1")
    bids = actor.get(f"/rounds/{round_id}/bids").get_data(as_text=True)
    assert f'href="/milestones/{milestone}"' in bids and "submit a delivery report" in bids
    form = actor.get(f"/milestones/{milestone}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form and "Send the report" in form
    quantity = int(re.search(r"delivery of (\d+) units", form).group(1))
    # 2 MB of photo: more than the site's 1 MB request limit, which report forms raise before CSRF reads them.
    # (Encoded here in memory: the test client would spool so big a body to a file it never closes.)
    big = FileStorage(io.BytesIO(PNG + b"\x00" * (2 * 1024 * 1024)), "borehole.png", content_type="image/png")
    boundary, body = encode_multipart(MultiDict({"quantity": str(quantity), "note": "all drilled and capped",
                                                 "latitude": "-1.3733", "longitude": "38.0106", "files": big}))
    sent = actor.post(f"/milestones/{milestone}/reports", data=body,
                      content_type=f"multipart/form-data; boundary={boundary}")
    assert sent.status_code == 302, sent.get_data(as_text=True)[:2000]
    shown = actor.get(f"/milestones/{milestone}").get_data(as_text=True)
    assert "borehole.png" in shown and "a verifier reviews the report" in shown and "Send the report" not in shown

    vera = client(app, accounts, "vera")
    queue = vera.get("/verification").get_data(as_text=True)
    assert f"/milestones/{milestone}#review" in queue
    with web_db.sessions(app).begin() as session:
        report_id = session.scalar(select(DeliveryReport.id))
    decided = vera.post(f"/reports/{report_id}/review", data={"decision": "accept", "quantity": "", "reason": ""})
    assert decided.status_code == 302
    page = vera.get(f"/milestones/{milestone}").get_data(as_text=True)
    assert "verified and paid" in page and "Save the decision" not in page

    funder_pages = [client(app, accounts, key).get(f"/rounds/{round_id}/pledges").get_data(as_text=True)
                    for key in ("f1", "f2")]
    paying = [p for p in funder_pages if f'href="/milestones/{milestone}"' in p]
    assert paying, "a funder of the milestone sees it"
    assert all("verified " in p and "borehole.png" in p and "/evidence/" in p for p in paying)


def test_a_refused_report_writes_nothing_and_says_which_field(app, accounts):
    round_id, _, milestone = committed(app, accounts)
    actor = client(app, accounts, "a1")
    before = (count(app, DeliveryReport), count(app, ReportFile))
    got = actor.post(f"/milestones/{milestone}/reports", content_type="multipart/form-data",
                     data={"quantity": "1", "latitude": "-1.2",
                           "files": [(io.BytesIO(b"<script>alert(1)</script>"), "photo.png")]})
    text = got.get_data(as_text=True)
    assert got.status_code == 422
    assert "photo.png is not a JPEG or PNG photo or a PDF document" in text
    assert "give both coordinates, or neither" in text
    assert (count(app, DeliveryReport), count(app, ReportFile)) == before
    too_many = actor.post(f"/milestones/{milestone}/reports", content_type="multipart/form-data",
                          data={"quantity": "1000000"})
    assert too_many.status_code == 422 and "the quantity awarded" in too_many.get_data(as_text=True)


def test_milestone_pages_are_absent_to_whoever_may_not_read_them(app, accounts):
    round_id, analyst, milestone = committed(app, accounts)
    assert analyst.post(f"/analyst/rounds/{round_id}/verifiers",
                        data={"email": "vera@example.org", "challenge": ""}).status_code == 302
    actor = client(app, accounts, "a1")
    assert actor.post(f"/milestones/{milestone}/reports", content_type="multipart/form-data",
                      data={"quantity": "1", "files": [(io.BytesIO(PNG), "p.png")]}).status_code == 302
    with web_db.sessions(app).begin() as session:
        report_id = session.scalar(select(DeliveryReport.id))
    outsiders = [client(app, accounts, "a2"), client(app, accounts, "other")]
    for c in outsiders:
        assert c.get(f"/milestones/{milestone}").status_code == 404
        assert c.post(f"/milestones/{milestone}/reports", data={"quantity": "1"}).status_code == 404
        assert c.post(f"/reports/{report_id}/review", data={"decision": "accept"}).status_code == 404
        assert f"report {report_id}" not in c.get("/verification").get_data(as_text=True)
    # the actor and a funder read it but do not decide; the analyst reads it and is told analysts do not verify
    entries = count(app, LedgerEntry)
    assert actor.post(f"/reports/{report_id}/review", data={"decision": "accept"}).status_code == 404
    assert analyst.post(f"/reports/{report_id}/review", data={"decision": "accept"}).status_code == 403
    assert count(app, LedgerEntry) == entries
    assert analyst.get(f"/milestones/{milestone}").status_code == 200
    assert f"report {report_id}" in analyst.get(f"/analyst/rounds/{round_id}").get_data(as_text=True)
    assert app.test_client().get(f"/milestones/{milestone}").status_code == 302      # to the login
    assert client(app, accounts, "vera").get(f"/milestones/{milestone + 10_000}").status_code == 404


def test_an_analyst_cannot_assign_a_funder_to_verify_what_it_funds(app, accounts):
    round_id, analyst, _ = committed(app, accounts)
    got = analyst.post(f"/analyst/rounds/{round_id}/verifiers", data={"email": "f1@example.org", "challenge": ""},
                       follow_redirects=True)
    assert "a verifier may not be a funder of what it verifies" in got.get_data(as_text=True)
    assert count(app, VerifierAssignment) == 0
    vera = client(app, accounts, "vera")
    assert vera.post(f"/analyst/rounds/{round_id}/verifiers",
                     data={"email": "vera@example.org", "challenge": ""}).status_code == 403
    assert count(app, VerifierAssignment) == 0
    assert analyst.post(f"/analyst/rounds/{round_id}/verifiers",
                        data={"email": "vera@example.org", "challenge": ""}).status_code == 302
    with web_db.sessions(app).begin() as session:
        assignment = session.scalar(select(VerifierAssignment.id))
    assert analyst.post(f"/analyst/rounds/{round_id}/verifiers/{assignment}/remove").status_code == 302
    assert count(app, VerifierAssignment) == 0


def test_a_deduction_disputed_and_decided_and_a_milestone_written_off_through_the_pages(app, accounts):
    round_id, analyst, milestone = committed(app, accounts)
    assert analyst.post(f"/analyst/rounds/{round_id}/verifiers",
                        data={"email": "vera@example.org", "challenge": ""}).status_code == 302
    actor, vera = client(app, accounts, "a1"), client(app, accounts, "vera")
    assert actor.post(f"/milestones/{milestone}/reports", content_type="multipart/form-data",
                      data={"quantity": "2", "files": [(io.BytesIO(PNG), "p.png")]}).status_code == 302
    with web_db.sessions(app).begin() as session:
        report_id = session.scalar(select(DeliveryReport.id))
    assert vera.post(f"/reports/{report_id}/review",
                     data={"decision": "accept", "quantity": "1", "reason": "one is dry"}).status_code == 302
    page = actor.get(f"/milestones/{milestone}").get_data(as_text=True)
    assert "Send the dispute" in page and "the deduction stays in escrow" in page
    assert client(app, accounts, "a2").post(f"/reports/{report_id}/dispute",
                                            data={"reason": "mine"}).status_code == 404
    assert actor.post(f"/reports/{report_id}/dispute", data={"reason": ""}).status_code == 422
    assert actor.post(f"/reports/{report_id}/dispute", data={"reason": "both pump"}).status_code == 302
    round_page = analyst.get(f"/analyst/rounds/{round_id}").get_data(as_text=True)
    assert "Disputes waiting for you" in round_page and "delivering" in round_page
    with web_db.sessions(app).begin() as session:
        dispute_id = session.scalar(select(Dispute.id))
    assert vera.post(f"/disputes/{dispute_id}/decision", data={"decision": "actor", "note": "x"}).status_code == 403
    assert "Write off" not in analyst.get(f"/milestones/{milestone}").get_data(as_text=True)   # frozen
    decided = analyst.post(f"/disputes/{dispute_id}/decision",
                           data={"decision": "actor", "release": "1.00", "note": "the second pumps a little"})
    assert decided.status_code == 302
    page = actor.get(f"/milestones/{milestone}").get_data(as_text=True)
    assert "for actor" in page and "the second pumps a little" in page and "Refunded to the funders" in page
    assert "verified and paid" in page
    # a2's delivery: written off by the analyst (only analysts write off: a role refusal, whoever asks)
    with web_db.sessions(app).begin() as session:
        other = session.scalar(select(Milestone.id).join(RoundActor, RoundActor.id == Milestone.actor_id)
                               .where(RoundActor.key == "a2", Milestone.kind == "delivery"))
    assert actor.post(f"/milestones/{other}/write-off", data={"reason": "left"}).status_code == 403
    assert client(app, accounts, "a2").post(f"/milestones/{other}/write-off",
                                            data={"reason": "left"}).status_code == 403
    assert analyst.post(f"/milestones/{other}/write-off", data={"reason": "the trainer left"}).status_code == 302
    assert "written off" in analyst.get(f"/milestones/{other}").get_data(as_text=True)


def test_a_verifier_who_became_a_competitor_sees_nothing_of_the_work(app, accounts):
    """Assigned before its account was linked to a losing bidder on the same challenge: the assignment gives no
    sight of its rival's milestones, reports or evidence (and no review)."""
    doc = market_doc()
    doc["actors"].append({"id": "a3", "bids": [{"id": "b9", "items": [{"component": "wells/drill",
                                                                       "price": "99000"}]}]})
    round_id = cleared(app, doc)
    users = {k: accounts.create(f"{k}@example.org", role) for k, role in (("a1", "actor"), ("rival", "actor"))}
    analyst = accounts.client_for("ana@example.org", "analyst")
    assert analyst.post(f"/analyst/rounds/{round_id}/verifiers",
                        data={"email": "rival@example.org", "challenge": "wells"}).status_code == 302
    with web_db.sessions(app).begin() as session:
        assert session.scalar(select(func.count()).select_from(VerifierAssignment)) == 1
        services.link_participant(session, None, round_id, "a1", users["a1"])
        services.link_participant(session, None, round_id, "a3", users["rival"])   # now a conflict
    assert analyst.post(f"/analyst/rounds/{round_id}/commit").status_code == 302
    with web_db.sessions(app).begin() as session:
        milestone = session.scalar(select(Milestone.id).join(RoundActor, RoundActor.id == Milestone.actor_id)
                                   .where(RoundActor.key == "a1", Milestone.kind == "delivery"))
    actor = client(app, accounts, "a1")
    assert actor.post(f"/milestones/{milestone}/reports", content_type="multipart/form-data",
                      data={"quantity": "1", "files": [(io.BytesIO(PNG), "p.png")]}).status_code == 302
    with web_db.sessions(app).begin() as session:
        report_id, file_id = session.execute(select(DeliveryReport.id, ReportFile.id).join(ReportFile)).one()
    rival = client(app, accounts, "rival")
    assert rival.get(f"/milestones/{milestone}").status_code == 404
    assert rival.get(f"/evidence/{file_id}").status_code == 404
    assert f"report {report_id}" not in rival.get("/verification").get_data(as_text=True)
    assert rival.post(f"/reports/{report_id}/review", data={"decision": "accept"}).status_code == 404


def test_only_a_logged_in_actor_may_send_a_large_report_body(tmp_path, web_template):
    """The report form's size limit is raised before CSRF reads the body, so it is raised only for actors: an
    anonymous 2 MB body is refused whole (413), never parsed."""
    from tests.web_fixtures import make_app
    app = make_app(tmp_path, web_template, WTF_CSRF_ENABLED=True)
    try:
        big = b"x" * (2 * 1024 * 1024)
        got = app.test_client().post("/milestones/1/reports", data=big,
                                     content_type="multipart/form-data; boundary=zz")
        assert got.status_code == 413
    finally:
        web_db.dispose(app)
