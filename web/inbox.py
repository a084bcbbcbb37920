"""Each user's inbox (issue 17): what happened to their awards, milestones, reports, money and disputes, newest
first, with a link to where it happened; marked read by its user. The unread count is in the navigation."""
from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from market.services import notifications

from .auth import current
from .db import sessions
from .forms import ActionForm

bp = Blueprint("inbox", __name__, url_prefix="/inbox")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def unread() -> dict[str, object]:
        if not getattr(current_user, "is_authenticated", False):
            return {"unread": 0}
        try:
            with sessions().begin() as session:
                return {"unread": notifications.unread(session, current_user.id)}
        except SQLAlchemyError:         # the page says what went wrong (the database away); the count can wait
            return {"unread": 0}


@bp.before_request
@login_required
def _logged_in() -> None:
    return None


@bp.route("")
def index() -> ResponseReturnValue:
    with sessions().begin() as session:
        rows = [{"id": n.id, "kind": n.kind, "text": n.text, "link": n.link, "created_at": n.created_at,
                 "read": n.read_at is not None} for n in notifications.inbox(session, current())]
    return render_template("inbox.html", rows=rows, action=ActionForm())


@bp.route("/read", methods=["POST"])
def read() -> ResponseReturnValue:
    if ActionForm().validate_on_submit():
        with sessions().begin() as session:
            count = notifications.mark_read(session, current())
        flash(f"{count} marked read.", "success")
    return redirect(url_for(".index"))
