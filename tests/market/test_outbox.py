"""The e-mail outbox (issue 17): a notification's e-mail waits in the outbox, written with it; the worker sends
it once (through SMTP when configured, else to the log); a failure is kept and tried again, up to a limit."""
from __future__ import annotations

import logging
import smtplib

from sqlalchemy import select

from market import outbox
from market.models import OutboxMessage, Role
from market.services import notifications
from tests.swarm import run_on


def told(db, count=2):
    user = db.user("a1@example.org", Role.ACTOR)
    with db.sessions.begin() as session:
        for i in range(count):
            notifications.notify(session, [user.id, None, user.id], "award won", f"news {i}", "/inbox")
    return user


def rows(db):
    with db.sessions.begin() as session:
        return [(r.to_email, r.subject, r.sent_at is not None, r.attempts, r.last_error)
                for r in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_waiting_mail_is_sent_once(db):
    told(db)
    sent = []
    assert outbox.send_pending(db.sessions, lambda to, subject, body: sent.append((to, subject, body))) == 2
    assert [(to, subject) for to, subject, _ in sent] == [("a1@example.org", "Swarm Market: news 0"),
                                                          ("a1@example.org", "Swarm Market: news 1")]
    assert "See it on the site: /inbox" in sent[0][2]
    assert outbox.send_pending(db.sessions, lambda *a: sent.append(a)) == 0 and len(sent) == 2


def test_a_failed_send_is_kept_and_tried_again_up_to_the_limit(db):
    told(db, 1)

    def refuse(to, subject, body):
        raise smtplib.SMTPRecipientsRefused({to: (550, b"no such mailbox")})
    for _ in range(outbox.MAX_ATTEMPTS + 2):
        assert outbox.send_pending(db.sessions, refuse) == 0
    [(_, _, sent, attempts, error)] = rows(db)
    assert not sent and attempts == outbox.MAX_ATTEMPTS and "SMTPRecipientsRefused" in error
    with db.sessions.begin() as session:
        assert outbox.waiting(session) == 0                   # given up: the error is on its row


def test_without_a_mail_server_mail_is_written_to_the_log(db, caplog):
    told(db, 1)
    assert outbox.sender_from({}) is outbox.log_sender
    with caplog.at_level(logging.INFO, logger="market.outbox"):
        assert outbox.send_pending(db.sessions, outbox.sender_from({})) == 1
    assert "mail to a1@example.org" in caplog.text and "news 0" in caplog.text
    printed = run_on(db.url, "outbox")
    assert printed.exit_code == 0 and printed.output == "sent 0; 0 waiting\n"


def test_smtp_is_used_when_a_server_is_set(db, monkeypatch):
    told(db, 1)
    seen = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            seen.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self):
            seen.append(("tls",))

        def login(self, user, password):
            seen.append(("login", user))

        def send_message(self, message):
            seen.append(("send", message["To"], message["Subject"], message["From"]))
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    send = outbox.sender_from({"SWARM_MAIL_SERVER": "mail.example.org", "SWARM_MAIL_PORT": "587",
                               "SWARM_MAIL_USE_TLS": "1", "SWARM_MAIL_USERNAME": "swarm",
                               "SWARM_MAIL_SENDER": "market@example.org"})
    assert outbox.send_pending(db.sessions, send) == 1
    assert seen == [("connect", "mail.example.org", 587), ("tls",), ("login", "swarm"),
                    ("send", "a1@example.org", "Swarm Market: news 0", "market@example.org")]


def test_a_message_that_cannot_be_sent_does_not_hold_back_the_others(db):
    user = db.user("a1@example.org", Role.ACTOR)
    with db.sessions.begin() as session:
        notifications.notify(session, [user.id], "report rejected", "Rejected: blurry photo\nplease resend")
        notifications.notify(session, [user.id], "award won", "news after")
    assert [subject for _, subject, *_ in rows(db)] == ["Swarm Market: Rejected: blurry photo please resend",
                                                        "Swarm Market: news after"]
    sent = []

    def picky(to, subject, body):
        if "blurry" in subject:
            raise ValueError("a header SMTP cannot carry")
        sent.append(subject)
    assert outbox.send_pending(db.sessions, picky) == 1 and sent == ["Swarm Market: news after"]
    assert outbox.send_pending(db.sessions, picky) == 0 and len(sent) == 1      # sent once, never again
    [(_, _, sent_first, attempts, error), (_, _, sent_second, _, _)] = rows(db)
    assert (sent_first, attempts, sent_second) == (False, 2, True) and error.startswith("ValueError")
