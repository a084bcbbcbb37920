"""Sign up, log in, log out. Passwords are hashed (werkzeug); sessions are Flask-Login's."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from market import services
from market.errors import InvalidInput
from market.models import User
from market.services.common import by_id

from .db import sessions
from .extensions import login_manager
from .forms import status, ActionForm, LoginForm, SignupForm, attach_errors

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


@login_manager.user_loader
def load_user(user_id: str) -> Account | None:
    if not (user_id.isascii() and user_id.isdigit()):
        return None
    with sessions().begin() as session:
        user = by_id(session, User, int(user_id))
        return None if user is None else Account.of(user)


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
        try:
            with sessions().begin() as session:
                user = services.sign_up(session, form.email.data, form.name.data, form.role.data,
                                        generate_password_hash(form.password.data))
                account = Account.of(user)
        except InvalidInput as exc:
            attach_errors(form, exc.fields, lambda path: getattr(form, path, None) if path else None)
        else:
            login_user(account)
            flash(f"Welcome, {account.name}: you are signed up as {account.role}.", "success")
            return redirect(url_for("challenges.home"))
    return render_template("auth/signup.html", form=form), status(form)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    if form.validate_on_submit():
        with sessions().begin() as session:
            user = services.user_by_email(session, form.email.data)
            ok = user is not None and user.password_hash and check_password_hash(user.password_hash,
                                                                                  form.password.data)
            account = Account.of(user) if ok and user is not None else None
        if account is not None:
            login_user(account)
            flash(f"Logged in as {account.email} ({account.role}).", "success")
            return redirect(_safe_next(request.args.get("next")) or url_for("challenges.home"))
        form.form_errors.append("Wrong email or password.")
    return render_template("auth/login.html", form=form), status(form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    if ActionForm().validate_on_submit():
        logout_user()
        flash("Logged out.", "info")
    return redirect(url_for("challenges.home"))


@bp.before_app_request
def _load_user_first() -> None:
    """Load the logged-in user before any view opens its transaction (SQLite: one writer at a time,
    and every transaction begins IMMEDIATE, so a nested load would wait on the view's own lock)."""
    current_user._get_current_object()
