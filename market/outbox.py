"""The e-mail outbox (issue 17): notifications' e-mails wait in the `outbox` table, written in the transaction
of what they tell, and a worker sends them: the web process's worker thread (the embedded default), `swarm
worker` beside its Redis queue, or `swarm outbox` once. Through SMTP when SWARM_MAIL_SERVER is set (with
SWARM_MAIL_PORT, SWARM_MAIL_SENDER, SWARM_MAIL_USERNAME, SWARM_MAIL_PASSWORD, SWARM_MAIL_USE_TLS, as the web
app reads them), else each message is written to the log, which is where a small deployment reads it.

A message that fails is tried again on later passes, up to MAX_ATTEMPTS, its last error kept on its row; two
senders never send the same message (rows are taken with FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one
writer at a time).
"""
from __future__ import annotations

import logging
import os
import smtplib
from collections.abc import Callable, Mapping
from email.message import EmailMessage

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from .models import OutboxMessage, utcnow

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
BATCH = 50
Sender = Callable[[str, str, str], None]        # to, subject, body; raises OSError or SMTPException on failure


def sender_from(settings: Mapping[str, str]) -> Sender:
    """SMTP through settings["SWARM_MAIL_SERVER"] when set, else the log."""
    server = (settings.get("SWARM_MAIL_SERVER") or "").strip()
    if not server:
        return log_sender
    port = int(settings.get("SWARM_MAIL_PORT") or 25)
    tls = (settings.get("SWARM_MAIL_USE_TLS") or "").lower() in ("1", "true", "yes", "on")
    sender = settings.get("SWARM_MAIL_SENDER") or "swarm-market@localhost"
    username, password = settings.get("SWARM_MAIL_USERNAME"), settings.get("SWARM_MAIL_PASSWORD") or ""

    def send(to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = subject, sender, to
        message.set_content(body)
        with smtplib.SMTP(server, port, timeout=10) as smtp:
            if tls:
                smtp.starttls()
            if username:
                smtp.login(username, password)
            smtp.send_message(message)
    return send


def sender_from_env() -> Sender:
    return sender_from(os.environ)


def log_sender(to: str, subject: str, body: str) -> None:
    logger.info("mail to %s (no SWARM_MAIL_SERVER: written here instead of sent): %s\n%s", to, subject, body)


def send_pending(sessions: sessionmaker[Session], send: Sender, limit: int = BATCH) -> int:
    """Send up to `limit` waiting messages, oldest first, each in a transaction of its own (a crash re-sends at
    most the one being sent); a message that fails for any reason counts an attempt and the others go on.
    How many were sent."""
    sent = 0
    tried: list[int] = []                       # once per pass: a failing message waits for the next
    for _ in range(limit):
        with sessions.begin() as session:
            row = session.scalar(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None),
                                                             OutboxMessage.attempts < MAX_ATTEMPTS,
                                                             OutboxMessage.id.not_in(tried))
                                 .order_by(OutboxMessage.id).limit(1).with_for_update(skip_locked=True))
            if row is None:
                break
            tried.append(row.id)
            row.attempts += 1
            try:
                send(row.to_email, row.subject, row.body)
            except Exception as exc:            # SMTP refusals, the network, a message SMTP cannot carry
                row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
                logger.warning("could not mail outbox message %d to %s (attempt %d of %d): %s", row.id,
                               row.to_email, row.attempts, MAX_ATTEMPTS, exc)
            else:
                row.sent_at = utcnow()
                sent += 1
    return sent


def waiting(session: Session) -> int:
    """Messages not sent yet (failed ones included, until they give up)."""
    return session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.sent_at.is_(None),
                                                                     OutboxMessage.attempts < MAX_ATTEMPTS)) or 0
