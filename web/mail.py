"""Mail to an account's owner: a password-reset link, and with a mail server, a new account's confirmation link
or, for a sign-up with an email that already has an account, a notice to its owner.

With no MAIL_SERVER configured a reset link is written as one line in the server log for the admin to pass on
(the one place a secret is ever logged, by design: the admin who reads that log could reset the password
anyway); sign-up then needs no confirmation (web.auth), so nothing else is ever sent."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app


def mail_configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def send_reset_link(email: str, link: str, hours: float) -> None:
    if not mail_configured():
        current_app.logger.warning("password reset for %s (no MAIL_SERVER configured, so pass this link on to "
                                   "them; it works once, for %g h): %s", email, hours, link)
        return
    send(email, "Swarm Market: reset your password",
         f"Someone, probably you, asked to reset the password of {email} on Swarm Market.\n\n"
         f"Open this link to choose a new one (it works once, for {hours:g} h):\n\n{link}\n\n"
         "If it was not you, ignore this message: your password stays as it is.\n")


def send_confirmation_link(email: str, link: str, hours: float) -> None:
    send(email, "Swarm Market: confirm your account",
         f"Someone, probably you, signed up on Swarm Market with {email}.\n\n"
         f"Open this link to confirm the account, then log in (it works once, for {hours:g} h):\n\n{link}\n\n"
         "If it was not you, ignore this message: the account stays unusable.\n")


def send_signup_notice(email: str, login: str, forgot: str) -> None:
    send(email, "Swarm Market: someone tried to sign up with your email",
         f"Someone tried to sign up on Swarm Market with {email}, which already has an account; nothing was "
         f"changed.\n\nIf it was you, log in:\n\n{login}\n\nor, if you forgot your password, reset it:\n\n"
         f"{forgot}\n\nIf it was not you, ignore this message.\n")


def send(email: str, subject: str, text: str) -> None:
    """One message through MAIL_SERVER; a failure is logged for the admin, never shown to the visitor."""
    config = current_app.config
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config.get("MAIL_SENDER") or "swarm-market@localhost"
    message["To"] = email
    message.set_content(text)
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25), timeout=10) as smtp:
            if str(config.get("MAIL_USE_TLS") or "").lower() in ("1", "true", "yes", "on"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:      # the answer stays the same; the admin sees why
        current_app.logger.error("could not mail %r to %s: %s", subject, email, exc)
