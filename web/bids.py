"""Actors: sealed bids on one component or a bundle, "my bids", change or withdraw while the round is
open, and after clearing won or lost and why. Nobody else's bid is ever shown or reachable here."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from market import reads, records, sealing, services
from market.errors import Forbidden, InvalidInput, Withdrawn
from market.explain import bid_outcome
from market.models import Role, RoundStatus
from market.repair_market import awarded_bid_ids
from market.services import delivery, settlement
from market.services.common import STAFF, get_round
from solver.money import format_money_grouped

from .auth import current
from .db import sessions
from .forms import status, ActionForm, BidForm, choices, attach_errors, row_resolver

bp = Blueprint("bids", __name__, url_prefix="/rounds/<int(max=9223372036854775807):round_id>/bids")
KEY = "/<string(maxlength=64):key>"
TOP = {"reliability": "reliability", "load": "load", "exclusive_group": "exclusive_group", "items": "items",
       "standby_days": "standby_days", "standby_price": "standby_price"}


@bp.before_request
@login_required
def _logged_in() -> None:
    return None


def _require_actor() -> None:
    if current().role != Role.ACTOR:
        raise Forbidden(f"only actors bid; you are logged in as {current().role}")


def _choices(session: Any, round_id: int, form: BidForm) -> None:
    options = choices([("", "(choose a component)")] + reads.bid_components(session, round_id))
    for entry in form.items.entries:
        entry.form.component.choices = options


def _item_rows(bid: Any) -> list[dict[str, str]]:
    return [{"component": f"{i.component.challenge.key}/{i.component.key}",
             "quantity": "" if i.quantity is None else str(i.quantity),
             "price": format_money_grouped(i.price_cents)} for i in bid.items]


@bp.route("")
def mine(round_id: int) -> ResponseReturnValue:
    user = current()
    if user.role not in (Role.ACTOR, *STAFF):
        raise Forbidden("only actors have bids: bids are sealed")
    with sessions().begin() as session:
        rnd = get_round(session, round_id)
        bids = services.visible_bids(session, user, round_id)
        run = reads.result(session, round_id)
        viewer = sealing.viewer(session, user, round_id)
        milestones = settlement.bid_milestones(session, [b.id for b in bids])
        awarded = awarded_bid_ids(session, round_id)
        record = records.own_record(session, user, round_id) if user.role == Role.ACTOR else None
        progress = delivery.details_of(session, [m.id for ms in milestones.values() for m in ms])
        rows = []
        for b in bids:
            outcome = None
            if run is not None and not b.withdrawn:
                try:
                    outcome = bid_outcome(run.market, run.allocation, b.key, viewer)
                except KeyError:            # placed after the clearing's snapshot: not possible, rounds close
                    outcome = None
            rows.append({"key": b.key, "items": _item_rows(b), "price": sum(i.price_cents for i in b.items),
                         "reliability": b.reliability, "load": b.load, "exclusive_group": b.exclusive_group,
                         "withdrawn": b.withdrawn, "excluded": b.excluded_reason,
                         "fixed": b.fixed, "fixed_reason": b.fixed_reason,
                         "standby_days": b.standby_days, "standby_price": b.standby_price_cents,
                         "standby_withdrawn": b.standby_withdrawn_at is not None,
                         "standby_withdrawable": (b.standby_days is not None and b.standby_withdrawn_at is None
                                                  and not b.withdrawn and b.id not in awarded),
                         "actor": b.actor.name or b.actor.key, "outcome": outcome,
                         "milestones": milestones.get(b.id, [])})
    return render_template("bids/mine.html", rnd=rnd, bids=rows, cleared=run is not None, action=ActionForm(),
                           progress=progress, record=record,
                           may_fix=user.role in STAFF and rnd.status in (RoundStatus.OPEN, RoundStatus.CLOSED))


@bp.route("/new", methods=["GET", "POST"])
def new(round_id: int) -> ResponseReturnValue:
    _require_actor()
    form = BidForm()
    with sessions().begin() as session:
        rnd = get_round(session, round_id)
        _choices(session, round_id, form)
    if rnd.status != RoundStatus.OPEN:
        flash(f"Round {rnd.id} is {rnd.status}: bids are accepted only while it is open.", "error")
    if form.validate_on_submit():
        data, rows = form.payload()
        try:
            with sessions().begin() as session:
                key = services.bid(session, current(), round_id, data).key
        except InvalidInput as exc:
            attach_errors(form, exc.fields, row_resolver(form, "items", rows, TOP))
        else:
            flash(f"Bid {key} saved. It stays sealed: no one but you and the analysts sees it.", "success")
            return redirect(url_for(".mine", round_id=round_id))
    return render_template("bids/form.html", rnd=rnd, form=form, key=None), status(form)


@bp.route(KEY + "/edit", methods=["GET", "POST"])
def edit(round_id: int, key: str) -> ResponseReturnValue:
    _require_actor()
    with sessions().begin() as session:
        rnd = get_round(session, round_id)
        try:
            row = services.bid_for(session, current(), round_id, key, change=True)
        except Withdrawn:
            abort(404)                                  # a withdrawn bid has no form
        prefill = {"items": _item_rows(row), "reliability": "" if row.reliability is None else f"{row.reliability:g}",
                   "load": f"{row.load:g}" if row.load else "", "exclusive_group": row.exclusive_group or "",
                   "standby_days": "" if row.standby_days is None else str(row.standby_days),
                   "standby_price": "" if row.standby_price_cents is None
                   else format_money_grouped(row.standby_price_cents)}
        form = BidForm() if BidForm().is_submitted() else BidForm(data=prefill)
        _choices(session, round_id, form)
    if form.validate_on_submit():
        data, rows = form.payload()
        try:
            with sessions().begin() as session:
                services.change_bid(session, current(), round_id, key, data)
        except InvalidInput as exc:
            attach_errors(form, exc.fields, row_resolver(form, "items", rows, TOP))
        else:
            flash(f"Bid {key} changed.", "success")
            return redirect(url_for(".mine", round_id=round_id))
    return render_template("bids/form.html", rnd=rnd, form=form, key=key), status(form)


@bp.route(KEY + "/withdraw", methods=["POST"])
def withdraw(round_id: int, key: str) -> ResponseReturnValue:
    _require_actor()
    if ActionForm().validate_on_submit():
        with sessions().begin() as session:
            services.withdraw_bid(session, current(), round_id, key)
        flash(f"Bid {key} withdrawn.", "success")
    return redirect(url_for(".mine", round_id=round_id))


@bp.route(KEY + "/standby/withdraw", methods=["POST"])
def withdraw_standby(round_id: int, key: str) -> ResponseReturnValue:
    """The actor takes back its standby offer (after the clearing too, until a repair calls the bid in)."""
    _require_actor()
    if ActionForm().validate_on_submit():
        with sessions().begin() as session:
            services.bids.withdraw_standby(session, current(), round_id, key)
        flash(f"Bid {key}'s standby offer withdrawn: it will not be called in.", "success")
    return redirect(url_for(".mine", round_id=round_id))
