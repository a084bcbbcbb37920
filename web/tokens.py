"""API tokens page: a signed-in user makes and revokes personal tokens for the JSON API. A new token is
shown once, on the page that answers its creation; only its sha256 is stored."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from market import services
from market.errors import InvalidInput

from .auth import current
from .db import sessions
from .forms import ActionForm

bp = Blueprint("tokens", __name__, url_prefix="/tokens")


class TokenForm(FlaskForm):
    name = StringField("Name (what it is for)", validators=[Length(max=100)])


@bp.before_request
@login_required
def _logged_in() -> None:
    return None


def _page(form: TokenForm, secret: str | None = None, code: int = 200) -> ResponseReturnValue:
    with sessions().begin() as session:
        rows = [{"id": t.id, "name": t.name, "prefix": t.prefix, "created_at": t.created_at,
                 "last_used_at": t.last_used_at, "revoked": t.revoked_at is not None}
                for t in services.list_tokens(session, current(), current().id)]
    return render_template("tokens/index.html", form=form, tokens=rows, secret=secret, action=ActionForm()), code


@bp.route("", methods=["GET"])
def index() -> ResponseReturnValue:
    return _page(TokenForm())


@bp.route("", methods=["POST"])
def create() -> ResponseReturnValue:
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, code=400)
    try:
        with sessions().begin() as session:
            _, secret = services.create_token(session, current(), current().id, form.name.data or "")
    except InvalidInput as exc:
        form.name.errors = list(form.name.errors) + list(exc.fields.values())
        return _page(form, code=400)
    return _page(TokenForm(formdata=None), secret=secret, code=201)


@bp.route("/<int(max=9223372036854775807):token_id>/revoke", methods=["POST"])
def revoke(token_id: int) -> ResponseReturnValue:
    if ActionForm().validate_on_submit():
        with sessions().begin() as session:
            row = services.revoke_token(session, current(), token_id, owner_id=current().id)
            flash(f"Token {row.prefix}… revoked.", "info")
    return redirect(url_for("tokens.index"))
