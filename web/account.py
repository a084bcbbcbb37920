"""The signed-in user's account page (change the password), and the forgotten-password pages: ask for a
reset link by email (the answer is the same whether or not the email has an account), then set a new
password from the link; and confirming a new account's email from its link (web.auth). A link's token goes
from the URL into the signed cookie at once and the page redirects, so that the token is in no later URL,
Referer or form."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session as cookie, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, logout_user

from market import services
from market.errors import InvalidInput
from market.services.credentials import RESET_LIFETIME

from .auth import SESSION_KEY, current, session_secret
from .db import sessions
from .forms import status, ChangePasswordForm, ForgotPasswordForm, NewPasswordForm, attach_errors
from .mail import send_reset_link

bp = Blueprint("account", __name__)
RESET_KEY = "reset_token"
CONFIRM_KEY = "confirm_token"


@bp.route("/account", methods=["GET", "POST"])
@login_required
def index() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            with sessions().begin() as session:
                services.change_password(session, current().id, form.current_password.data,
                                         form.new_password.data, keep_session=session_secret())
        except InvalidInput as exc:
            attach_errors(form, exc.fields, lambda path: getattr(form, path, None) if path else None)
        else:
            flash("Password changed; every other session of your account is ended.", "success")
            return redirect(url_for(".index"))
    return render_template("auth/account.html", form=form), status(form)


@bp.route("/forgot", methods=["GET", "POST"])
def forgot() -> ResponseReturnValue:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        with sessions().begin() as session:
            found = services.request_password_reset(session, form.email.data, request.remote_addr)
            sent = None if found is None else (found[0].email, found[1])
        if sent is not None:
            email, token = sent
            send_reset_link(email, url_for(".reset_link", token=token, _external=True),
                            RESET_LIFETIME.total_seconds() / 3600)
        flash("If an account exists for that email, a reset link has been sent to it: it works once, "
              f"for {RESET_LIFETIME.total_seconds() / 3600:g} h.", "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form), status(form)


@bp.route("/reset/<string(maxlength=200):token>")
def reset_link(token: str) -> ResponseReturnValue:
    cookie[RESET_KEY] = token
    return redirect(url_for(".reset"))


@bp.route("/reset", methods=["GET", "POST"])
def reset() -> ResponseReturnValue:
    form = NewPasswordForm()
    token = cookie.get(RESET_KEY)
    if not isinstance(token, str):
        form.form_errors.append("Open the link of your reset message again, or ask for a new one.")
        return render_template("auth/reset.html", form=form), 400
    if form.validate_on_submit():
        try:
            with sessions().begin() as session:
                services.reset_password(session, token, form.new_password.data)
        except InvalidInput as exc:
            attach_errors(form, exc.fields, lambda path: getattr(form, path, None) if path else None)
        else:
            cookie.pop(RESET_KEY, None)
            cookie.pop(SESSION_KEY, None)
            if current_user.is_authenticated:
                logout_user()
            flash("Password changed, and every session of your account ended: log in with the new password.",
                  "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form), status(form)


@bp.route("/confirm/<string(maxlength=200):token>")
def confirm_link(token: str) -> ResponseReturnValue:
    cookie[CONFIRM_KEY] = token
    return redirect(url_for(".confirm"))


@bp.route("/confirm")
def confirm() -> ResponseReturnValue:
    """Confirm the email of the cookie's token (a token no one can guess, spent at once: no CSRF form needed)."""
    token = cookie.pop(CONFIRM_KEY, None)
    try:
        with sessions().begin() as session:
            email = services.confirm_email(session, token if isinstance(token, str) else "", request.remote_addr).email
    except InvalidInput as exc:
        flash(f"Not confirmed: {exc.fields['token']}.", "error")
        return redirect(url_for("auth.login"))
    flash(f"Email confirmed: log in as {email} with your password.", "success")
    return redirect(url_for("auth.login"))
