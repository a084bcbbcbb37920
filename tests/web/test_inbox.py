"""Notifications (issue 17): what happens to an award, a report, money or a dispute reaches its user's inbox (and
the outbox, for e-mail), and no one else's; the inbox page and the API mark them read."""
from __future__ import annotations

import io

from sqlalchemy import select

from market.models import DeliveryReport, Notification, OutboxMessage, User
from tests.api.helpers import Api, token_for
from tests.web_fixtures import committed
from web import db as web_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def texts(app, email):
    """The texts in the inbox of the account `email`, oldest first."""
    with web_db.sessions(app).begin() as session:
        return list(session.scalars(select(Notification.text).where(Notification.user_id == _user(session, email))
                                    .order_by(Notification.id)))


def _user(session, email):
    return session.scalar(select(User.id).where(User.email == email))


def test_awards_reports_and_releases_reach_the_right_inboxes(app, accounts):
    round_id, analyst, milestone = committed(app, accounts)
    a1, a2 = texts(app, "a1@example.org"), texts(app, "a2@example.org")
    assert any(t.startswith("You won work in") for t in a1) and any("won" in t or "not accepted" in t for t in a2)
    assert analyst.post(f"/analyst/rounds/{round_id}/verifiers",
                        data={"email": "vera@example.org", "challenge": ""}).status_code == 302
    actor = accounts.logged_in("a1@example.org")
    assert actor.post(f"/milestones/{milestone}/reports", content_type="multipart/form-data",
                      data={"quantity": "2", "files": [(io.BytesIO(PNG), "p.png")]}).status_code == 302
    with web_db.sessions(app).begin() as session:
        report_id = session.scalar(select(DeliveryReport.id))
    vera = accounts.logged_in("vera@example.org")
    assert vera.post(f"/reports/{report_id}/review", data={"decision": "reject", "reason": "blurry"}).status_code \
        == 302
    assert any(f"Report {report_id} on milestone {milestone} was rejected: blurry" == t
               for t in texts(app, "a1@example.org"))
    assert actor.post(f"/milestones/{milestone}/reports", content_type="multipart/form-data",
                      data={"quantity": "2", "files": [(io.BytesIO(PNG), "p.png")]}).status_code == 302
    with web_db.sessions(app).begin() as session:
        second = session.scalar(select(DeliveryReport.id).order_by(DeliveryReport.id.desc()))
    assert vera.post(f"/reports/{second}/review", data={"decision": "accept"}).status_code == 302
    assert any("released to you" in t for t in texts(app, "a1@example.org"))
    assert any("holdback" in t for t in texts(app, "a1@example.org"))
    funders = texts(app, "f1@example.org") + texts(app, "f2@example.org")
    assert any("released to its actor from your pledges' escrow" in t for t in funders)
    assert not any("released" in t for t in texts(app, "a2@example.org") + texts(app, "other@example.org"))
    with web_db.sessions(app).begin() as session:
        mails = session.scalars(select(OutboxMessage.to_email)).all()
    assert "a1@example.org" in mails and "vera@example.org" not in mails

    page = actor.get("/inbox").get_data(as_text=True)
    assert 'id="inbox-link">Inbox (' in page and "released to you" in page
    assert actor.post("/inbox/read").status_code == 302
    assert 'id="inbox-link">Inbox</a>' in actor.get("/inbox").get_data(as_text=True)
    assert "released to you" not in accounts.logged_in("a2@example.org").get("/inbox").get_data(as_text=True)


def test_the_api_lists_and_marks_read_only_ones_own(app, accounts):
    round_id, _, _ = committed(app, accounts)
    with web_db.sessions(app).begin() as session:
        a1, a2 = _user(session, "a1@example.org"), _user(session, "a2@example.org")
    mine, theirs = Api(app, token_for(app, a1), a1), Api(app, token_for(app, a2), a2)
    listed = mine.get("/notifications").get_json()
    assert listed and all(n["round"] == round_id and n["read"] is False for n in listed)
    ids_of_a2 = {n["id"] for n in theirs.get("/notifications").get_json()}
    assert not ids_of_a2 & {n["id"] for n in listed}
    marked = mine.post("/notifications/read", {"upto": listed[0]["id"]})
    assert marked.status_code == 200 and marked.get_json() == {"marked": len(listed)}
    assert all(n["read"] for n in mine.get("/notifications").get_json())
    assert not any(n["read"] for n in theirs.get("/notifications").get_json())
