"""Sign up, log in, log out. Passwords are hashed (werkzeug). A login starts a server-side session
(market.services.logins): the signed cookie carries its secret beside Flask-Login's user id, and each request
asks the database whether that session is still live, so logging out, a password change or reset, and the
idle timeout (SESSION_IDLE_TIMEOUT, default 2 h) and lifetime (SESSION_LIFETIME, 12 h) end a copied cookie
too. Flask-Login's remember-me cookie is never set, and one sent anyway signs no one in (it has no session).

Neither sign-up nor login tells a stranger whether an email has an account: signing up with a taken email
answers as a new account does (and changes nothing), and a login answers "wrong email or password" after
checking a password hash either way. With a mail server (MAIL_SERVER) a new account must also confirm its
email before its first login (the link is mailed; a taken email's owner is mailed a notice instead), so that
signing up with a password and then logging in with it fails alike for a new and a taken email. With none,
nobody could receive a link, so a new account logs in at once (README: what that leaves open)."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session as cookie, url_for
from flask.typing import ResponseReturnValue
from flask_login import UserMixin, current_user, login_required, login_user, logout_user

from market import services
from market.errors import InvalidInput
from market.models import User
from market.services.credentials import CONFIRM_LIFETIME

from .db import sessions
from .extensions import login_manager
from .forms import status, ActionForm, LoginForm, SignupForm, attach_errors
from .mail import mail_configured, send_confirmation_link, send_signup_notice

bp = Blueprint("auth", __name__)


@dataclass
class Account(UserMixin):
    """The logged-in user as the services see it (id, email, name, role), detached from any session."""
    id: int
    email: str
    name: str
    role: str

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(user.id, user.email, user.name, user.role)

    def get_id(self) -> str:
        return str(self.id)


SESSION_KEY = "sid"     # the server-side session's secret, in Flask's signed cookie


@login_manager.user_loader
def load_user(user_id: str) -> Account | None:
    """The cookie's user while its server-side session is live; anyone else is signed out."""
    if not (user_id.isascii() and user_id.isdigit()) or not isinstance(cookie.get(SESSION_KEY), str):
        return None
    with sessions().begin() as session:
        user = services.session_user(session, cookie[SESSION_KEY], current_app.config["SESSION_IDLE_TIMEOUT"],
                                     current_app.config["SESSION_LIFETIME"])
        return Account.of(user) if user is not None and user.id == int(user_id) else None


def session_secret() -> str | None:
    return cookie.get(SESSION_KEY)


def current() -> Account:
    return current_user._get_current_object()


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    # Browsers read "/\\host" like "//host" and drop tabs and newlines ("/\t/host"); a control character
    # cannot go into a Location header at all: only a plain local path may follow a login.
    plain = target.isprintable() and " " not in target
    local = plain and target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if local and not parts.scheme and not parts.netloc else None


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> ResponseReturnValue:
    form = SignupForm()
    if form.validate_on_submit():
        confirm = mail_configured()
        try:
            with sessions().begin() as session:
                created = services.sign_up(session, form.email.data, form.name.data, form.role.data,
                                           form.password.data, confirmed=not confirm)
                token = services.request_email_confirmation(session, created) if confirm and created else None
        except InvalidInput as exc:
            attach_errors(form, exc.fields, lambda path: getattr(form, path, None) if path else None)
        else:
            email = form.email.data.strip().lower()
            if created is None:
                current_app.logger.info("sign-up refused: %s already has an account (nothing changed)", email)
            # The same answer whether or not the email had an account: its owner logs in as before.
            if not confirm:
                flash(f"Thank you: you are signed up as {form.role.data}. Log in with your email and password.",
                      "success")
                return redirect(url_for("auth.login"))
            if token is not None:
                send_confirmation_link(email, url_for("account.confirm_link", token=token, _external=True),
                                       CONFIRM_LIFETIME.total_seconds() / 3600)
            else:
                send_signup_notice(email, url_for("auth.login", _external=True),
                                   url_for("account.forgot", _external=True))
            flash("Thank you: check your email to confirm your account, then log in with your email and password "
                  f"(the link works for {CONFIRM_LIFETIME.total_seconds() / 3600:g} h).", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/signup.html", form=form), status(form)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    if form.validate_on_submit():
        with sessions().begin() as session:
            found = services.log_in(session, form.email.data, form.password.data, request.remote_addr)
            if found is not None and session_secret():      # the new login replaces the browser's old one
                services.log_out(session, cookie.pop(SESSION_KEY), request.remote_addr)
            signed_in = None if found is None else (Account.of(found[0]), found[1])
        if signed_in is not None:
            account, cookie[SESSION_KEY] = signed_in
            login_user(account)
            flash(f"Logged in as {account.email} ({account.role}).", "success")
            return redirect(_safe_next(request.args.get("next")) or url_for("challenges.home"))
        form.form_errors.append("Wrong email or password.")
    return render_template("auth/login.html", form=form), status(form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    if ActionForm().validate_on_submit():
        with sessions().begin() as session:
            services.log_out(session, cookie.pop(SESSION_KEY, ""), request.remote_addr)
        logout_user()
        flash("Logged out.", "info")
    return redirect(url_for("challenges.home"))


@bp.before_app_request
def _load_user_first() -> None:
    """Load the logged-in user before any view opens its transaction (SQLite: one writer at a time,
    and every transaction begins IMMEDIATE, so a nested load would wait on the view's own lock)."""
    current_user._get_current_object()
