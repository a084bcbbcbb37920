"""Funders: pledge, see "my pledges", change or withdraw while the round is open, and after clearing
see where every cent went and what was returned."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from market import reads, services
from market.errors import Forbidden, InvalidInput, Withdrawn
from market.models import Role, RoundStatus
from market.services.common import STAFF, get_round
from solver.money import format_money_grouped

from .auth import current
from .db import sessions
from .forms import status, ActionForm, PledgeForm, choices, attach_errors, row_resolver

bp = Blueprint("pledges", __name__, url_prefix="/rounds/<int(max=9223372036854775807):round_id>/pledges")
KEY = "/<string(maxlength=64):key>"
TOP = {"amount": "amount", "max_share": "max_share", "match": "match", "scope.challenges": "challenges",
       "scope.components": "components", "scope.tags": "tags", "scope": "challenges"}


@bp.before_request
@login_required
def _logged_in() -> None:
    return None


def _require_funder() -> None:
    if current().role != Role.FUNDER:
        raise Forbidden(f"only funders pledge; you are logged in as {current().role}")


def _choices(session: Any, round_id: int, form: PledgeForm) -> None:
    challenges = reads.challenges(session, round_id)
    form.challenges.choices = choices([(c.key, c.title or c.key) for c in challenges])
    form.tags.choices = choices([(t, t) for t in sorted({t for c in challenges for t in c.tags})])
    form.components.choices = choices([(f"{c.key}/{k.key}", f"{c.title or c.key}: {k.title or k.key}")
                                       for c in challenges for k in c.components])


@bp.route("")
def mine(round_id: int) -> ResponseReturnValue:
    user = current()
    if user.role not in (Role.FUNDER, *STAFF):
        raise Forbidden("only funders have pledges")
    with sessions().begin() as session:
        rnd = get_round(session, round_id)
        pledges = services.visible_pledges(session, user, round_id)
        run = reads.result(session, round_id)
        outcomes = {p.key: reads.pledge_outcome(run, p.key) for p in pledges} if run is not None else {}
        rows = [{"key": p.key, "amount": p.amount_cents, "scope": p.scope, "max_share": p.max_share,
                 "match": p.match, "listed": p.listed, "withdrawn": p.withdrawn, "excluded": p.excluded_reason,
                 "funder": p.funder.name or p.funder.key} for p in pledges]
    return render_template("pledges/mine.html", rnd=rnd, pledges=rows, outcomes=outcomes, action=ActionForm())


@bp.route("/new", methods=["GET", "POST"])
def new(round_id: int) -> ResponseReturnValue:
    _require_funder()
    form = PledgeForm()
    with sessions().begin() as session:
        rnd = get_round(session, round_id)
        _choices(session, round_id, form)
        form.amount.label.text = f"Amount ({rnd.currency})"
    if rnd.status != RoundStatus.OPEN:
        flash(f"Round {rnd.id} is {rnd.status}: pledges are accepted only while it is open.", "error")
    if form.validate_on_submit():
        try:
            with sessions().begin() as session:
                row = services.pledge(session, current(), round_id, form.payload())
                key, amount = row.key, row.amount_cents
        except InvalidInput as exc:
            attach_errors(form, exc.fields, row_resolver(form, "-", [], TOP))
        else:
            flash(f"Pledge {key} of {format_money_grouped(amount)} {rnd.currency} saved.", "success")
            return redirect(url_for(".mine", round_id=round_id))
    return render_template("pledges/form.html", rnd=rnd, form=form, key=None), status(form)


@bp.route(KEY + "/edit", methods=["GET", "POST"])
def edit(round_id: int, key: str) -> ResponseReturnValue:
    _require_funder()
    form = PledgeForm()
    with sessions().begin() as session:
        rnd = get_round(session, round_id)
        try:
            row = services.pledge_for(session, current(), round_id, key, change=True)
        except Withdrawn:
            abort(404)                                  # a withdrawn pledge has no form
        _choices(session, round_id, form)
        form.amount.label.text = f"Amount ({rnd.currency})"
        if not form.is_submitted():
            scope = row.scope or {}
            form.amount.data = format_money_grouped(row.amount_cents)
            form.challenges.data = scope.get("challenges", [])
            form.components.data = scope.get("components", [])
            form.tags.data = scope.get("tags", [])
            form.max_share.data = ("" if row.max_share is None
                                   else f"{Decimal(str(row.max_share)) * 100:f}".rstrip("0").rstrip("."))
            form.match.data = "" if row.match is None else f"{row.match:g}"
            form.listed.data = row.listed
    if form.validate_on_submit():
        try:
            with sessions().begin() as session:
                services.change_pledge(session, current(), round_id, key, form.payload())
        except InvalidInput as exc:
            attach_errors(form, exc.fields, row_resolver(form, "-", [], TOP))
        else:
            flash(f"Pledge {key} changed.", "success")
            return redirect(url_for(".mine", round_id=round_id))
    return render_template("pledges/form.html", rnd=rnd, form=form, key=key), status(form)


@bp.route(KEY + "/withdraw", methods=["POST"])
def withdraw(round_id: int, key: str) -> ResponseReturnValue:
    _require_funder()
    if ActionForm().validate_on_submit():
        with sessions().begin() as session:
            services.withdraw_pledge(session, current(), round_id, key)
        flash(f"Pledge {key} withdrawn.", "success")
    return redirect(url_for(".mine", round_id=round_id))
