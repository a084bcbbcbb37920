"""Accounts on the web: server-side sessions (a copied cookie dies with logout, a password change or a reset),
the account page, forgotten passwords, no account enumeration through sign-up or login, and what reaches the
audit log and the server log (never a password, hash or secret; the reset link only with no mail server)."""
from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest

from flask_login.utils import encode_cookie
from sqlalchemy import select

from market.models import AuditLog, EmailConfirmation, PasswordReset, User, UserSession, utcnow
from market.services import passwords
from tests.web_fixtures import PASSWORD, Accounts
from web import db as web_db
from web.auth import SESSION_KEY


def signed_in(client):
    return "Log out" in client.get("/").data.decode()


def copy_of(app, client):
    """Another browser holding the same cookie (as one stolen or copied would be)."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def audit(app):
    with web_db.sessions(app).begin() as session:
        return [(a.who, a.action) for a in session.execute(select(AuditLog).order_by(AuditLog.id)).scalars()]


def reset_link(caplog):
    [line] = [r.getMessage() for r in caplog.records if "password reset for" in r.getMessage()]
    return re.search(r"http://localhost(/reset/\S+)$", line).group(1)


def test_a_copied_cookie_stops_working_after_logout(any_app):
    accounts = Accounts(any_app)
    client = accounts.client_for("f@example.org", "funder")
    copy = copy_of(any_app, client)
    assert signed_in(copy)
    client.post("/logout")
    assert not signed_in(copy) and not signed_in(client)
    assert copy.get("/account").status_code == 302
    with web_db.sessions(any_app).begin() as session:
        assert session.execute(select(UserSession.ended_at)).scalar_one() is not None
    assert [a for a in audit(any_app) if a[1] in ("login", "logout")] == [("f@example.org", "login"),
                                                                          ("f@example.org", "logout")]


def test_an_expired_session_signs_no_one_in(app, accounts, monkeypatch):
    client = accounts.client_for("f@example.org", "funder")
    app.config["SESSION_IDLE_TIMEOUT"] = app.config["SESSION_IDLE_TIMEOUT"] * 0      # any pause is too long
    assert not signed_in(client)


def test_no_remember_cookie_and_a_forged_one_signs_no_one_in(app, accounts):
    user_id = accounts.create("f@example.org", "funder")
    client = app.test_client()
    r = accounts.login(client, "f@example.org")
    assert "remember_token" not in " ".join(r.headers.getlist("Set-Cookie"))
    stranger = app.test_client()
    with app.test_request_context():
        stranger.set_cookie("remember_token", encode_cookie(str(user_id)))
    assert not signed_in(stranger)


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(any_app):
    accounts = Accounts(any_app)
    client = accounts.client_for("f@example.org", "funder")
    elsewhere = any_app.test_client()
    accounts.login(elsewhere, "f@example.org")
    page = client.get("/account").data.decode()
    assert '<label for="current_password">' in page and "f@example.org" in page
    r = client.post("/account", data={"current_password": "wrong one!", "new_password": "a new password",
                                      "confirm": "a new password"})
    assert r.status_code == 400 and "not your current password" in r.data.decode()
    r = client.post("/account", data={"current_password": PASSWORD, "new_password": "a new password",
                                      "confirm": "a new passwort"})
    assert r.status_code == 400 and "the two new passwords differ" in r.data.decode()
    r = client.post("/account", data={"current_password": PASSWORD, "new_password": "qwerty12345",
                                      "confirm": "qwerty12345"})
    assert r.status_code == 400 and "too common" in r.data.decode()
    assert signed_in(elsewhere)
    r = client.post("/account", data={"current_password": PASSWORD, "new_password": "a new password",
                                      "confirm": "a new password"}, follow_redirects=True)
    assert "every other session of your account is ended" in r.data.decode()
    assert signed_in(client) and not signed_in(elsewhere)
    assert accounts.login(any_app.test_client(), "f@example.org", "a new password").status_code == 302
    assert ("f@example.org", "change-password") in audit(any_app)


def test_forgot_answers_the_same_whatever_the_email_and_logs_the_link_once(app, accounts, client, caplog):
    accounts.create("f@example.org", "funder")
    caplog.set_level(logging.INFO)
    known = client.post("/forgot", data={"email": "F@example.org"})
    unknown = client.post("/forgot", data={"email": "nobody@example.org"})
    assert (known.status_code, known.headers["Location"]) == (unknown.status_code, unknown.headers["Location"])
    assert "If an account exists for that email, a reset link has been sent" in client.get("/login").data.decode()
    reset_link(caplog)                                              # one line, for the known account only
    assert "no MAIL_SERVER configured" in caplog.text and "nobody@example.org" not in caplog.text


def test_the_reset_link_sets_a_new_password_once_and_ends_every_session(any_app, caplog):
    accounts = Accounts(any_app)
    signed = accounts.client_for("f@example.org", "funder")
    client = any_app.test_client()
    client.post("/forgot", data={"email": "f@example.org"})
    link = reset_link(caplog)
    r = client.get(link)
    assert r.status_code == 302 and r.headers["Location"] == "/reset"       # the token leaves the URL at once
    page = client.get("/reset").data.decode()
    assert link.rpartition("/")[2] not in page and '<label for="new_password">' in page
    r = client.post("/reset", data={"new_password": "f@example.org 1", "confirm": "f@example.org 1"})
    assert r.status_code == 400 and "must not contain your email or name" in r.data.decode()
    r = client.post("/reset", data={"new_password": "after the reset", "confirm": "after the reset"})
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    assert not signed_in(signed)
    assert accounts.login(any_app.test_client(), "f@example.org", "after the reset").status_code == 302
    again = any_app.test_client()
    again.get(link)
    r = again.post("/reset", data={"new_password": "a third try it is", "confirm": "a third try it is"})
    assert r.status_code == 400 and "unknown, used or expired" in r.data.decode()
    assert any_app.test_client().get("/reset").status_code == 400
    assert ("f@example.org", "reset-password") in audit(any_app)


@pytest.fixture
def mailbox(monkeypatch):
    """A fake SMTP server: each connection appends its (host, port), each message the message."""
    import smtplib
    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append((host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, message):
            sent.append(message)

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    return sent


def with_mail(app):
    app.config.update(MAIL_SERVER="mail.example.org", MAIL_PORT="2525", MAIL_SENDER="market@example.org")
    return app


def test_with_a_mail_server_the_link_is_mailed_and_not_logged(app, accounts, client, caplog, mailbox):
    sent = mailbox
    with_mail(app)
    accounts.create("f@example.org", "funder")
    caplog.set_level(logging.DEBUG)
    client.post("/forgot", data={"email": "f@example.org"})
    (host, message) = sent[0], sent[1]
    assert host == ("mail.example.org", 2525) and message["To"] == "f@example.org"
    token = re.search(r"/reset/(\S+)", message.get_content()).group(1)
    assert token not in caplog.text


def test_signup_with_a_taken_email_answers_as_a_new_account_and_changes_nothing(app, accounts, caplog):
    accounts.create("taken@example.org", "actor")
    caplog.set_level(logging.INFO)
    answers = []
    for email in ("taken@example.org", "new@example.org"):
        client = app.test_client()
        r = client.post("/signup", data={"name": "Drill Co", "email": email, "password": "long enough",
                                         "role": "actor"})
        answers.append((r.status_code, r.headers["Location"], client.get("/login").data.decode()))
    assert answers[0] == answers[1] and answers[0][:2] == (302, "/login")
    assert accounts.login(app.test_client(), "taken@example.org").status_code == 302        # still its password
    assert accounts.login(app.test_client(), "taken@example.org", "long enough").status_code == 400
    with web_db.sessions(app).begin() as session:
        assert session.execute(select(User.name).where(User.email == "taken@example.org")).scalar_one() == "Taken"
    assert "taken@example.org already has an account" in caplog.text
    assert ("anonymous", "sign-up-taken") in audit(app)


def hash_checks(monkeypatch):
    """The list of password hashes checked from now on."""
    checked = []
    real = passwords.check_password_hash
    monkeypatch.setattr(passwords, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    return checked


def test_login_answers_unknown_email_and_wrong_password_alike_after_one_hash_check(app, accounts, monkeypatch):
    accounts.create("f@example.org", "funder")
    checked = hash_checks(monkeypatch)
    wrong = accounts.login(app.test_client(), "f@example.org", "not the password")
    assert len(checked) == 1
    unknown = accounts.login(app.test_client(), "nobody@example.org", "not the password")
    assert len(checked) == 2
    strip = lambda r: r.data.decode().replace("nobody@example.org", "f@example.org")  # noqa: E731
    assert wrong.status_code == unknown.status_code == 400 and strip(wrong) == strip(unknown)
    assert "Wrong email or password." in strip(wrong)
    assert [a for a in audit(app) if a[1] == "login-failed"] == [("anonymous", "login-failed")] * 2


def test_no_password_hash_or_secret_reaches_any_log(app, client, caplog):
    """Sign up, log in, change the password, reset it, make an API token: the audit log and the server log
    hold none of the passwords, their hashes, the session secret, the token or the reset token, except the
    reset link in the server log (no mail server: the documented way the admin passes it on)."""
    caplog.set_level(logging.DEBUG)
    first, second, third = "first password", "second password", "third password"
    client.post("/signup", data={"name": "Nell", "email": "nell@example.org", "password": first, "role": "funder"})
    client.post("/login", data={"email": "nell@example.org", "password": first})
    client.post("/login", data={"email": "nell@example.org", "password": "a wrong password"})
    client.post("/account", data={"current_password": first, "new_password": second, "confirm": second})
    with app.test_request_context():
        session_secret = app.session_interface.get_signing_serializer(app).loads(
            client.get_cookie("session").value)[SESSION_KEY]
    page = client.post("/tokens", data={"name": "ci"}).data.decode()
    api_token = re.search(r"swm_[A-Za-z0-9_-]{43}", page).group(0)
    client.post("/logout")
    client.post("/forgot", data={"email": "nell@example.org"})
    link = reset_link(caplog)
    client.get(link)
    client.post("/reset", data={"new_password": third, "confirm": third})
    reset_token = link.rpartition("/")[2]
    with web_db.sessions(app).begin() as session:
        hashes = [session.execute(select(User.password_hash)).scalar_one()]
        hashes += [t for t in session.execute(select(UserSession.token_hash)).scalars()]
        hashes += [t for t in session.execute(select(PasswordReset.token_hash)).scalars()]
        rows = [" ".join(str(v) for v in (a.who, a.action, a.entity, a.entity_id, a.details))
                for a in session.execute(select(AuditLog)).scalars()]
    secrets = [first, second, third, "a wrong password", session_secret, api_token, reset_token, *hashes]
    for secret in secrets:
        assert not any(secret in row for row in rows), secret
    logged = [r.getMessage() for r in caplog.records]
    assert [line for line in logged if any(s in line for s in secrets)] == [
        line for line in logged if "password reset for nell@example.org" in line]
    assert len([line for line in logged if reset_token in line]) == 1
    assert {"sign-up", "login", "login-failed", "change-password", "logout", "request-password-reset",
            "reset-password"} <= {row.split()[1] for row in rows}


def test_forgot_refuses_a_post_without_csrf(tmp_path, web_template, caplog):
    from tests.web_fixtures import make_app
    app = make_app(tmp_path, web_template, WTF_CSRF_ENABLED=True)
    Accounts(app).create("f@example.org", "funder")
    assert app.test_client().post("/forgot", data={"email": "f@example.org"}).status_code == 400
    assert "password reset for" not in caplog.text
    web_db.dispose(app)


def test_swarm_serves_request_log_hides_the_reset_and_confirmation_tokens(tmp_path, monkeypatch, caplog):
    """werkzeug's request log (swarm serve) writes each path: a reset or confirmation link's token is hidden
    there."""
    import threading
    import urllib.error
    import urllib.request

    import werkzeug.serving

    from tests.swarm import run_on
    from web.logs import HideResetTokens

    served = []
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda host, port, app, **kw: served.append(app))
    werkzeug_log = logging.getLogger("werkzeug")
    monkeypatch.setattr(werkzeug_log, "filters", [])
    assert run_on(f"sqlite:///{tmp_path / 'serve.sqlite3'}", "serve", "--port", "5058").exit_code == 0
    assert any(isinstance(f, HideResetTokens) for f in werkzeug_log.filters)
    server = werkzeug.serving.make_server("127.0.0.1", 0, served[0])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        token = "Zq9-secret-token-4711"
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            for kind in ("reset", "confirm"):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/{kind}/{token}", timeout=10)
                except urllib.error.HTTPError:
                    pass
    finally:
        server.shutdown()
        thread.join()
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("/reset/[token hidden]" in line for line in lines), lines
    assert any("/confirm/[token hidden]" in line for line in lines), lines
    assert not any(token in line for line in lines)


def sign_up(client, email, password="long enough"):
    return client.post("/signup", data={"name": "Drill Co", "email": email, "password": password, "role": "actor"})


def confirmation_link(message):
    return re.search(r"http://localhost(/confirm/\S+)", message.get_content()).group(1)


def test_with_a_mail_server_signing_up_then_logging_in_answers_alike_for_a_taken_and_a_new_email(
        any_app, mailbox, caplog):
    """The two-step probe: sign up with a password of one's choosing, then log in with it. Both steps answer
    the same (status and page) whether the email had an account or not; the owners learn it by mail."""
    with_mail(any_app)
    Accounts(any_app).create("taken@example.org", "actor")
    caplog.set_level(logging.DEBUG)
    answers = []
    for email in ("taken@example.org", "new@example.org"):
        client = any_app.test_client()
        signed = sign_up(client, email)
        flashed = client.get("/login").data.decode()
        logged = client.post("/login", data={"email": email, "password": "long enough"})
        answers.append((signed.status_code, signed.headers["Location"], flashed, logged.status_code,
                        logged.data.decode().replace(email, "X")))
    assert answers[0] == answers[1]
    assert answers[0][:2] == (302, "/login") and answers[0][3] == 400
    assert "check your email to confirm your account" in answers[0][2]
    assert "Wrong email or password." in answers[0][4]
    notice, confirmation = [m for m in mailbox if not isinstance(m, tuple)]
    assert notice["To"] == "taken@example.org" and "someone tried to sign up" in notice["Subject"]
    assert "log in" in notice.get_content() and "http://localhost/forgot" in notice.get_content()
    assert confirmation["To"] == "new@example.org" and "confirm your account" in confirmation["Subject"]
    assert confirmation_link(confirmation).rpartition("/")[2] not in caplog.text
    assert Accounts(any_app).login(any_app.test_client(), "taken@example.org").status_code == 302  # unchanged


def test_an_unconfirmed_account_cannot_log_in_and_fails_as_a_wrong_password_after_one_hash_check(
        app, accounts, mailbox, monkeypatch):
    with_mail(app)
    accounts.create("f@example.org", "funder")
    sign_up(app.test_client(), "new@example.org")
    checked = hash_checks(monkeypatch)
    unconfirmed = accounts.login(app.test_client(), "new@example.org", "long enough")
    assert len(checked) == 1
    wrong = accounts.login(app.test_client(), "f@example.org", "not the password")
    assert unconfirmed.status_code == wrong.status_code == 400
    assert unconfirmed.data.decode().replace("new@example.org", "X") == wrong.data.decode().replace("f@example.org", "X")
    assert [a for a in audit(app) if a[1] == "login-failed"] == [("anonymous", "login-failed")] * 2


def test_the_confirmation_link_confirms_once_then_the_account_logs_in(any_app, mailbox):
    with_mail(any_app)
    client = any_app.test_client()
    sign_up(client, "new@example.org")
    link = confirmation_link(mailbox[-1])
    r = client.get(link)
    assert (r.status_code, r.headers["Location"]) == (302, "/confirm")     # the token leaves the URL at once
    r = client.get("/confirm")
    assert (r.status_code, r.headers["Location"]) == (302, "/login")
    assert "Email confirmed: log in as new@example.org" in client.get("/login").data.decode()
    assert client.post("/login", data={"email": "new@example.org", "password": "long enough"}).status_code == 302
    assert ("new@example.org", "confirm-email") in audit(any_app)
    again = any_app.test_client()
    again.get(link)
    again.get("/confirm")
    assert "Not confirmed: this confirmation link is unknown, used or expired" in again.get("/login").data.decode()
    assert [a for a in audit(any_app) if a[1] == "confirm-email"] == [("new@example.org", "confirm-email")]


def test_an_expired_confirmation_link_confirms_nothing(any_app, mailbox):
    with_mail(any_app)
    client = any_app.test_client()
    sign_up(client, "new@example.org")
    link = confirmation_link(mailbox[-1])
    with web_db.sessions(any_app).begin() as session:
        session.execute(EmailConfirmation.__table__.update().values(expires_at=utcnow() - timedelta(seconds=1)))
    client.get(link)
    client.get("/confirm")
    assert "unknown, used or expired" in client.get("/login").data.decode()
    assert client.post("/login", data={"email": "new@example.org", "password": "long enough"}).status_code == 400
    with web_db.sessions(any_app).begin() as session:
        assert session.execute(select(User.confirmed_at).where(User.email == "new@example.org")).scalar_one() is None


def test_a_password_reset_confirms_an_unconfirmed_account(app, mailbox):
    """Its link reached the owner too: the way in for one who lost the confirmation message."""
    with_mail(app)
    client = app.test_client()
    sign_up(client, "new@example.org")
    client.post("/forgot", data={"email": "new@example.org"})
    client.get(re.search(r"http://localhost(/reset/\S+)", mailbox[-1].get_content()).group(1))
    client.post("/reset", data={"new_password": "a new long one", "confirm": "a new long one"})
    assert client.post("/login", data={"email": "new@example.org", "password": "a new long one"}).status_code == 302


def test_without_a_mail_server_a_new_account_logs_in_at_once(any_app, mailbox):
    client = any_app.test_client()
    sign_up(client, "new@example.org")
    assert "you are signed up as actor" in client.get("/login").data.decode()
    assert client.post("/login", data={"email": "new@example.org", "password": "long enough"}).status_code == 302
    assert mailbox == []
