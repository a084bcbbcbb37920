"""Accounts in the services: logins and server-side sessions (expiry, logout, ending the others), password
changes and one-time resets, strength, no enumeration through login timing, and what the audit log records."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from market import services
from market.errors import InvalidInput
from market.models import AuditLog, PasswordReset, UserSession, utcnow
from market.services import credentials, logins, passwords

PASSWORD = "correct horse"


@pytest.fixture
def user_id(db):
    with db.sessions.begin() as session:
        user = services.create_user(session, None, "f@example.org", "Fay", "funder",
                                    passwords.hash_password(PASSWORD))
        return user.id


def log_in(db, password=PASSWORD, email="f@example.org"):
    with db.sessions.begin() as session:
        found = services.log_in(session, email, password, "127.0.0.1")
        return None if found is None else found[1]


def live(db, secret, **limits):
    with db.sessions.begin() as session:
        user = services.session_user(session, secret, **limits)
        return None if user is None else user.id


def audit_rows(db):
    with db.sessions.begin() as session:
        return [(a.who, a.action, a.entity, a.details) for a in session.execute(
            select(AuditLog).where(AuditLog.action != "create").order_by(AuditLog.id)).scalars()]


def later(monkeypatch, **delta):
    """The services' clock moved on by `delta` (no test waits)."""
    moved = utcnow() + timedelta(**delta)
    for module in (logins, credentials):
        monkeypatch.setattr(module, "utcnow", lambda: moved)


def test_login_starts_a_session_that_logout_ends(db, user_id):
    secret = log_in(db)
    assert secret and live(db, secret) == user_id
    with db.sessions.begin() as session:
        row = session.execute(select(UserSession)).scalar_one()
        assert row.token_hash == services.tokens.hash_token(secret) and secret not in row.token_hash
        services.log_out(session, secret, "127.0.0.1")
    assert live(db, secret) is None
    assert [(who, action) for who, action, _, _ in audit_rows(db)] == [("f@example.org", "login"),
                                                                        ("f@example.org", "logout")]


def test_failed_logins_are_audited_the_same_way_without_the_password(db, user_id):
    assert log_in(db, "wrong password") is None
    assert log_in(db, email="nobody@example.org") is None
    assert log_in(db, email="my secret pw") is None                 # a password typed into the email field
    assert audit_rows(db) == [
        ("anonymous", "login-failed", "user", {"source": "127.0.0.1"}),
        ("anonymous", "login-failed", "user", {"email": "nobody@example.org", "source": "127.0.0.1"}),
        ("anonymous", "login-failed", "user", {"email": "(not an email address)", "source": "127.0.0.1"})]


def test_an_unknown_email_checks_a_password_hash_as_a_wrong_password_does(db, user_id, monkeypatch):
    checked = []
    real = passwords.check_password_hash
    monkeypatch.setattr(passwords, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    log_in(db, "wrong password")
    log_in(db, email="nobody@example.org")
    assert len(checked) == 2 and checked[0] != checked[1]          # one check each: the account's, a dummy


def test_sessions_expire_idle_and_at_their_lifetime(db, user_id, monkeypatch):
    idle = log_in(db)
    later(monkeypatch, hours=2, minutes=1)
    assert live(db, idle) is None
    monkeypatch.undo()
    assert live(db, idle) is None                                   # ended for good, not just too old
    kept_busy = log_in(db)
    for minutes in range(100, 12 * 60, 100):                        # used every 100 minutes: never idle
        later(monkeypatch, minutes=minutes)
        assert live(db, kept_busy) == user_id
    later(monkeypatch, hours=12, minutes=1)
    assert live(db, kept_busy) is None


def test_last_seen_is_written_at_most_once_a_minute(db, user_id, monkeypatch):
    secret = log_in(db)

    def seen():
        with db.sessions.begin() as session:
            return session.execute(select(UserSession.last_seen_at)).scalar_one()

    first = seen()
    later(monkeypatch, seconds=30)
    live(db, secret)
    assert seen() == first
    later(monkeypatch, seconds=61)
    live(db, secret)
    assert seen() != first


def test_a_password_change_ends_the_other_sessions_only(db, user_id):
    here, elsewhere = log_in(db), log_in(db)
    with pytest.raises(InvalidInput) as wrong, db.sessions.begin() as session:
        services.change_password(session, user_id, "not it at all", "a brand new one", keep_session=here)
    assert "current_password" in wrong.value.fields
    with pytest.raises(InvalidInput) as weak, db.sessions.begin() as session:
        services.change_password(session, user_id, PASSWORD, "password123", keep_session=here)
    assert weak.value.fields == {"new_password": passwords.weakness("password123")}
    assert live(db, elsewhere) == user_id
    with db.sessions.begin() as session:
        services.change_password(session, user_id, PASSWORD, "a brand new one", keep_session=here)
    assert live(db, here) == user_id and live(db, elsewhere) is None
    assert log_in(db) is None and log_in(db, "a brand new one")
    assert ("f@example.org", "change-password", "user", {"sessions_ended": 1}) in audit_rows(db)


def test_a_reset_token_works_once_within_its_hour_and_ends_every_session(db, user_id, monkeypatch):
    secret = log_in(db)
    with db.sessions.begin() as session:
        assert services.request_password_reset(session, "nobody@example.org") is None
        user, token = services.request_password_reset(session, "F@example.org")
        assert user.id == user_id
    with db.sessions.begin() as session:
        stored = session.execute(select(PasswordReset)).scalar_one()
        assert stored.token_hash == services.tokens.hash_token(token)
    with pytest.raises(InvalidInput) as weak, db.sessions.begin() as session:
        services.reset_password(session, token, "f@example.org-2024")
    assert "new_password" in weak.value.fields
    with db.sessions.begin() as session:
        services.reset_password(session, token, "reset and new")
    assert live(db, secret) is None and log_in(db, "reset and new")
    with pytest.raises(InvalidInput) as used, db.sessions.begin() as session:
        services.reset_password(session, token, "once more, new")
    assert used.value.fields == {"token": credentials.BAD_TOKEN}
    with db.sessions.begin() as session:
        _, stale = services.request_password_reset(session, "f@example.org")
    later(monkeypatch, hours=1, seconds=1)
    with pytest.raises(InvalidInput) as expired, db.sessions.begin() as session:
        services.reset_password(session, stale, "too late now")
    assert expired.value.fields == {"token": credentials.BAD_TOKEN}
    with db.sessions.begin() as session:
        assert check_password_hash(services.user_by_email(session, "f@example.org").password_hash, "reset and new")
    actions = [(who, action) for who, action, _, _ in audit_rows(db)]
    assert ("anonymous", "request-password-reset") in actions and ("f@example.org", "reset-password") in actions


def test_exports_and_downloads_are_audited(db):
    from tests.market.helpers import import_round
    round_id = import_round(db)
    with db.sessions.begin() as session:
        services.export_round(session, None, round_id)
        services.record_download(session, None, round_id, 7, "allocation.csv")
    with db.sessions.begin() as session:
        rows = [(a.who, a.action, a.entity, a.entity_id, a.round_id, a.details) for a in session.execute(
            select(AuditLog).where(AuditLog.action.in_(["export", "download"])).order_by(AuditLog.id)).scalars()]
    assert rows == [("cli", "export", "round", str(round_id), round_id, {}),
                    ("cli", "download", "clearing_run", "7", round_id, {"file": "allocation.csv"})]


def test_an_unconfirmed_sign_up_logs_in_only_after_its_one_time_confirmation(db, user_id):
    """An account made by create_user (`swarm user create`, the demo) is confirmed; a sign-up waiting for
    its link fails to log in with its right password exactly as with a wrong one, and the link works once."""
    assert log_in(db) is not None
    with db.sessions.begin() as session:
        new = services.sign_up(session, "new@example.org", "Nina", "actor", "long enough", confirmed=False)
        token = services.request_email_confirmation(session, new)
    assert log_in(db, "long enough", "new@example.org") is None
    assert audit_rows(db)[-1][:2] == ("anonymous", "login-failed")
    with db.sessions.begin() as session:
        assert services.confirm_email(session, token).email == "new@example.org"
    assert log_in(db, "long enough", "new@example.org") is not None
    with pytest.raises(InvalidInput, match="unknown, used or expired"), db.sessions.begin() as session:
        services.confirm_email(session, token)
    assert [row[:2] for row in audit_rows(db) if row[1] == "confirm-email"] == [("new@example.org", "confirm-email")]


def test_a_confirmation_link_past_its_lifetime_confirms_nothing(db, monkeypatch):
    with db.sessions.begin() as session:
        new = services.sign_up(session, "new@example.org", "Nina", "actor", "long enough", confirmed=False)
        token = services.request_email_confirmation(session, new)
    later(monkeypatch, hours=48, seconds=1)
    with pytest.raises(InvalidInput, match="unknown, used or expired"), db.sessions.begin() as session:
        services.confirm_email(session, token)
    assert log_in(db, "long enough", "new@example.org") is None
