"""Sending a password-reset link: by mail through MAIL_SERVER, or, with none configured, as one line in the
server log for the admin to pass on (the one place a secret is ever logged, by design: the admin who reads
that log could reset the password anyway)."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app


def send_reset_link(email: str, link: str, hours: float) -> None:
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        current_app.logger.warning("password reset for %s (no MAIL_SERVER configured, so pass this link on to "
                                   "them; it works once, for %g h): %s", email, hours, link)
        return
    message = EmailMessage()
    message["Subject"] = "Swarm Market: reset your password"
    message["From"] = config.get("MAIL_SENDER") or "swarm-market@localhost"
    message["To"] = email
    message.set_content(f"Someone, probably you, asked to reset the password of {email} on Swarm Market.\n\n"
                        f"Open this link to choose a new one (it works once, for {hours:g} h):\n\n{link}\n\n"
                        "If it was not you, ignore this message: your password stays as it is.\n")
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25), timeout=10) as smtp:
            if str(config.get("MAIL_USE_TLS") or "").lower() in ("1", "true", "yes", "on"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:      # the answer stays the same; the admin sees why
        current_app.logger.error("could not mail the password reset link to %s: %s", email, exc)
