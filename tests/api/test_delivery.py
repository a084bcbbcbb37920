"""/api/v1 after the commit (issue 17): milestones, delivery reports with evidence (multipart, idempotent),
verifiers' decisions, verifier assignments, the review queue and evidence files; who may do what, and the
404 of a milestone, report or file that is not yours."""
from __future__ import annotations

import io

from sqlalchemy import func, select

from market import services
from market.models import DeliveryReport, LedgerEntry, ReportFile
from tests.web_fixtures import Accounts, cleared
from web import db as web_db

from .helpers import Users, assert_error

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%test certificate\n"


def setup(app):
    users = Users(app, Accounts(app))
    round_id = cleared(app)
    people = {key: users(f"{key}@example.org", role) for key, role in
              (("f1", "funder"), ("f2", "funder"), ("a1", "actor"), ("a2", "actor"), ("vera", "verifier"),
               ("other", "verifier"), ("ana", "analyst"))}
    with web_db.sessions(app).begin() as session:
        for key in ("f1", "f2", "a1", "a2"):
            services.link_participant(session, None, round_id, key, people[key].user_id)
    assert people["ana"].post(f"/rounds/{round_id}/commit").status_code == 200
    return round_id, people


def count(app, model):
    with web_db.sessions(app).begin() as session:
        return session.scalar(select(func.count()).select_from(model))


def report(api, milestone_id, quantity, files=(), headers=None, **fields):
    data = {"quantity": str(quantity), **fields, "files": [(io.BytesIO(b), n) for n, b in files]}
    return api.post(f"/milestones/{milestone_id}/reports", json=None, data=data, content_type="multipart/form-data",
                    headers=headers)


def test_report_review_and_release_through_the_api(any_app):
    """On SQLite and PostgreSQL."""
    round_id, p = setup(any_app)
    ana, a1, vera = p["ana"], p["a1"], p["vera"]
    assigned = ana.post(f"/rounds/{round_id}/verifiers", {"email": "vera@example.org"})
    assert assigned.status_code == 201, assigned.data
    assert assigned.get_json() == {"id": assigned.get_json()["id"], "email": "vera@example.org", "name": "Vera",
                                   "challenge": None}
    mine = a1.get(f"/rounds/{round_id}/milestones").get_json()
    assert mine and {m["actor"] for m in mine} == {"DrillCo"}        # a1's name
    delivery = next(m for m in mine if m["kind"] == "delivery")
    assert delivery["may_report"] is True and delivery["released"] == "0.00" and delivery["reports"] == []
    once = {"Idempotency-Key": "report-1"}
    files = [("borehole.png", PNG), ("pump test.pdf", PDF)]
    sent = report(a1, delivery["id"], delivery["quantity"], files, headers=once, note="done",
                  latitude="-1.3733", longitude="38.0106")
    assert sent.status_code == 201, sent.data
    body = sent.get_json()
    assert body["state"] == "submitted" and body["latitude"] == -1.3733
    assert [(f["name"], f["content_type"]) for f in body["files"]] == [("borehole.png", "image/png"),
                                                                       ("pump test.pdf", "application/pdf")]
    again = report(a1, delivery["id"], delivery["quantity"], files, headers=once, note="done",
                   latitude="-1.3733", longitude="38.0106")
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == body and count(any_app, DeliveryReport) == 1          # one report, not two
    assert_error(report(a1, delivery["id"], 1, headers=once), 422, "header.Idempotency-Key")

    queue = vera.get("/verification/reports").get_json()
    assert [(w["report"], w["milestone"], w["overdue"]) for w in queue] == [(body["id"], delivery["id"], False)]
    got = vera.get(body["files"][0]["url"].removeprefix("/api/v1"))
    assert got.status_code == 200 and got.data == PNG and got.mimetype == "image/png"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    short = delivery["quantity"] - 1 if delivery["quantity"] > 1 else None
    if short:
        assert_error(vera.post(f"/reports/{body['id']}/review", {"decision": "accept", "quantity": short}), 422,
                     "reason")
    accepted = vera.post(f"/reports/{body['id']}/review", {"decision": "accept"}, headers={"Idempotency-Key": "r"})
    assert accepted.status_code == 200, accepted.data
    assert accepted.get_json()["state"] == "accepted" and accepted.get_json()["released"] == delivery["amount"]
    assert_error(vera.post(f"/reports/{body['id']}/review", {"decision": "reject", "reason": "no"}), 409)
    after = a1.get(f"/milestones/{delivery['id']}").get_json()
    assert after["state"] == "accepted" and after["released"] == delivery["amount"]
    assert after["next_step"] == "verified and paid" and after["may_report"] is False
    assert vera.get("/verification/reports").get_json() == []
    with web_db.sessions(any_app).begin() as session:
        assert services.check_ledger(session, round_id) == []


def test_delivery_operations_refuse_whoever_may_not(app):
    round_id, p = setup(app)
    ana, a1, a2, f1, vera, other = p["ana"], p["a1"], p["a2"], p["f1"], p["vera"], p["other"]
    assert ana.post(f"/rounds/{round_id}/verifiers", {"email": "vera@example.org"}).status_code == 201
    delivery = next(m for m in a1.get(f"/rounds/{round_id}/milestones").get_json() if m["kind"] == "delivery")
    mid = delivery["id"]
    sent = report(a1, mid, 1, [("p.png", PNG)]).get_json()
    file_url = sent["files"][0]["url"].removeprefix("/api/v1")
    # another actor, an unassigned verifier: absent
    for outsider in (a2, other):
        assert_error(outsider.get(f"/milestones/{mid}"), 404)
        assert_error(report(outsider, mid, 1), 404)
        assert_error(outsider.post(f"/reports/{sent['id']}/review", {"decision": "accept"}), 404)
        assert_error(outsider.get(file_url), 404)
        assert mid not in [m["id"] for m in outsider.get(f"/rounds/{round_id}/milestones").get_json()]
        assert outsider.get("/verification/reports").get_json() == []
    # the actor and the funders read it but do not decide; analysts read it and do not verify
    entries = count(app, LedgerEntry)
    assert_error(a1.post(f"/reports/{sent['id']}/review", {"decision": "accept"}), 404)
    assert_error(ana.post(f"/reports/{sent['id']}/review", {"decision": "accept"}), 403)
    assert count(app, LedgerEntry) == entries
    assert ana.get(f"/milestones/{mid}").status_code == 200
    # verifiers are the analysts' to assign, and never on what they fund
    assert_error(vera.get(f"/rounds/{round_id}/verifiers"), 403)
    assert_error(vera.post(f"/rounds/{round_id}/verifiers", {"email": "other@example.org"}), 403)
    assert_error(ana.post(f"/rounds/{round_id}/verifiers", {"email": "f1@example.org"}), 422, "email")
    assert_error(ana.post(f"/rounds/{round_id}/verifiers", {"email": "x@example.org", "challenge": "nope"}), 422)
    assert_error(ana.delete(f"/rounds/{round_id}/verifiers/999"), 404)
    # a bad report: every problem named, nothing written
    before = (count(app, DeliveryReport), count(app, ReportFile))
    bad = report(a1, mid, "three", [("x.png", b"GIF89a")], latitude="-1")
    body = assert_error(bad, 422)
    assert {"quantity", "files[0]"} <= set(body["errors"]), body
    assert_error(report(a1, mid, 1, color="red"), 422, "form.color")
    assert (count(app, DeliveryReport), count(app, ReportFile)) == before
    assert_error(report(a1, mid, 1), 409)                      # one report waits for review already
    assert f1.get(f"/milestones/{mid}").status_code in (200, 404)  # a funder sees only what it pays for
    assigned = ana.get(f"/rounds/{round_id}/verifiers").get_json()
    removed = ana.delete(f"/rounds/{round_id}/verifiers/{assigned[0]['id']}")
    assert removed.status_code == 200 and removed.get_json()["email"] == "vera@example.org"
    assert_error(vera.get(f"/milestones/{mid}"), 404)


def test_statements_through_the_api(app):
    round_id, p = setup(app)
    ana, a1, vera, f1, f2 = p["ana"], p["a1"], p["vera"], p["f1"], p["f2"]
    assert ana.post(f"/rounds/{round_id}/verifiers", {"email": "vera@example.org"}).status_code == 201
    delivery = next(m for m in a1.get(f"/rounds/{round_id}/milestones").get_json() if m["kind"] == "delivery")
    sent = report(a1, delivery["id"], delivery["quantity"], [("well.png", PNG)]).get_json()
    assert vera.post(f"/reports/{sent['id']}/review", {"decision": "accept"}).status_code == 200
    mine = f1.get(f"/rounds/{round_id}/statement")
    assert mine.status_code == 200, mine.data
    body = mine.get_json()
    assert body["funder"] == "f1" and body["committed"] is True
    lines = [line for line in body["lines"] if line["milestone"] == delivery["id"]]
    assert lines and all(line["verified_at"] and line["evidence"][0]["name"] == "well.png" for line in lines)
    assert all(line["released"] == line["your_part"] for line in lines)
    assert "verified 20" in lines[0]["bought"]
    assert f1.get("/statements").get_json()[0]["round"] == round_id
    assert_error(f2.get(f"/rounds/{round_id}/statement?funder=f1"), 404)
    assert_error(a1.get(f"/rounds/{round_id}/statement"), 403)
    assert_error(a1.get("/statements"), 403)
    assert_error(ana.get(f"/rounds/{round_id}/statement"), 422, "funder")
    assert ana.get(f"/rounds/{round_id}/statement?funder=f1").get_json() == body


def test_disputes_and_write_offs_through_the_api(any_app):
    """On SQLite and PostgreSQL."""
    round_id, p = setup(any_app)
    ana, a1, a2, vera = p["ana"], p["a1"], p["a2"], p["vera"]
    assert ana.post(f"/rounds/{round_id}/verifiers", {"email": "vera@example.org"}).status_code == 201
    mine = a1.get(f"/rounds/{round_id}/milestones").get_json()
    delivery = next(m for m in mine if m["kind"] == "delivery")
    sent = report(a1, delivery["id"], delivery["quantity"]).get_json()
    assert vera.post(f"/reports/{sent['id']}/review", {"decision": "reject", "reason": "no photo"}).status_code == 200
    assert a1.get(f"/milestones/{delivery['id']}").get_json()["disputable"] == sent["id"]
    assert_error(a2.post(f"/reports/{sent['id']}/dispute", {"reason": "x"}), 404)
    assert_error(a1.post(f"/reports/{sent['id']}/dispute", {"reason": ""}), 422, "reason")
    opened = a1.post(f"/reports/{sent['id']}/dispute", {"reason": "the photo was in the note"},
                     headers={"Idempotency-Key": "d1"})
    assert opened.status_code == 201, opened.data
    body = opened.get_json()
    assert (body["kind"], body["state"], body["amount"]) == ("rejection", "open", delivery["amount"])
    assert ana.get(f"/rounds/{round_id}/disputes").get_json() == [body]
    assert_error(a1.get(f"/rounds/{round_id}/disputes"), 403)
    assert_error(vera.post(f"/disputes/{body['id']}/decision", {"decision": "actor", "note": "x"}), 403)
    assert_error(ana.post(f"/milestones/{delivery['id']}/write-off", {"reason": "x"}), 409)       # frozen
    assert_error(ana.post(f"/disputes/{body['id']}/decision", {"decision": "maybe", "note": "x"}), 422, "decision")
    decided = ana.post(f"/disputes/{body['id']}/decision", {"decision": "actor", "note": "it is there"})
    assert decided.status_code == 200, decided.data
    assert decided.get_json()["state"] == "for_actor" and decided.get_json()["released"] == delivery["amount"]
    after = a1.get(f"/milestones/{delivery['id']}").get_json()
    assert after["state"] == "accepted" and after["settled"] is True and after["in_escrow"] == "0.00"
    other = next(m for m in a2.get(f"/rounds/{round_id}/milestones").get_json() if m["kind"] == "delivery")
    assert_error(a2.post(f"/milestones/{other['id']}/write-off", {"reason": "x"}), 403)
    written = ana.post(f"/milestones/{other['id']}/write-off", {"reason": "the trainer left"})
    assert written.status_code == 200 and written.get_json()["state"] == "written_off"
    assert written.get_json()["refunded"] == other["amount"]
    assert ana.get(f"/rounds/{round_id}/money").get_json()["phase"] == "delivering"
    with web_db.sessions(any_app).begin() as session:
        assert services.check_ledger(session, round_id) == []


def test_progress_through_the_api(app):
    round_id, p = setup(app)
    body = p["f2"].get(f"/rounds/{round_id}/progress").get_json()
    assert body["phase"] == "committed" and body["total"]["verified"] == 0
    assert body["total"]["released"] == "0.00" and "wells" in [c["challenge"] for c in body["challenges"]]
    assert set(body["total"]) == {"challenge", "title", "milestones", "verified", "written_off", "committed",
                                  "released", "refunded"}
