"""Re-tenders (issue 18): when an award fails, an analyst may open a short re-tender; signed-in actors bid on the
challenges it touches and funders add money to their repair, here. Which re-tenders are open, and on which
challenges, any signed-in user may read; the bids stay sealed (their actor and the analysts see them)."""
from __future__ import annotations


from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from market import reads
from market.errors import Forbidden, InvalidInput, NotFound
from market.models import Role
from market.services import repair, tender
from market.services.common import STAFF, get_round
from solver.money import format_money

from .auth import current
from .db import sessions
from .forms import BidForm, TenderForm, TenderPledgeForm, attach_errors, choices, row_resolver, status

bp = Blueprint("tenders", __name__)
FAILURE = "<int(max=9223372036854775807):failure_id>"
TOP = {"reliability": "reliability", "load": "load", "items": "items"}


@bp.before_request
@login_required
def _logged_in() -> None:
    return None


@bp.route("/tenders")
def index() -> ResponseReturnValue:
    with sessions().begin() as session:
        rows = [(f, get_round(session, f.round_id), repair.touched_challenges(session, f))
                for f in tender.open_tenders(session)]
    return render_template("tenders/index.html", rows=rows)


@bp.route(f"/tenders/{FAILURE}")
def page(failure_id: int) -> ResponseReturnValue:
    with sessions().begin() as session:
        failure = repair.get_failure_any(session, failure_id)
        is_open = tender.tender_open(failure)
        if not is_open and current().role not in STAFF:
            raise NotFound(f"no re-tender {failure_id} is open")    # a failure is told only by an open re-tender
        rnd = get_round(session, failure.round_id)
        challenges = repair.touched_challenges(session, failure)
    return render_template("tenders/page.html", failure=failure, rnd=rnd, challenges=challenges, is_open=is_open,
                           role=current().role)


@bp.route(f"/failures/{FAILURE}/tender", methods=["POST"])
def open_(failure_id: int) -> ResponseReturnValue:
    form = TenderForm()
    if form.validate_on_submit():
        try:
            with sessions().begin() as session:
                row = tender.open_tender(session, current(), failure_id, {"days": (form.days.data or "").strip()})
                until = row.tender_until
        except InvalidInput as exc:
            flash("Re-tender not opened: " + "; ".join(exc.fields.values()), "error")
        else:
            assert until is not None
            flash(f"Re-tender open until {until:%Y-%m-%d %H:%M} UTC; the round's actors and funders were told.",
                  "success")
    return redirect(url_for("failures.failure", failure_id=failure_id))


@bp.route(f"/tenders/{FAILURE}/bid", methods=["GET", "POST"])
def bid(failure_id: int) -> ResponseReturnValue:
    form = BidForm()
    with sessions().begin() as session:
        failure = tender.open_failure(session, failure_id)
        rnd = get_round(session, failure.round_id)
        keys = {c.key for c in repair.touched_challenges(session, failure)}
        options = choices([("", "(choose a component)")] + [(path, label) for path, label in
                                                            reads.bid_components(session, failure.round_id)
                                                            if path.split("/", 1)[0] in keys])
    for entry in form.items.entries:
        entry.form.component.choices = options
    if current().role != Role.ACTOR:
        flash("Only actors bid in a re-tender.", "error")
        return redirect(url_for(".page", failure_id=failure_id))
    if form.validate_on_submit():
        data, rows = form.payload()
        data = {k: v for k, v in data.items() if k in ("items", "reliability", "load")}
        try:
            with sessions().begin() as session:
                key = tender.tender_bid(session, current(), failure_id, data).key
        except InvalidInput as exc:
            attach_errors(form, exc.fields, row_resolver(form, "items", rows, TOP))
        except Forbidden as exc:                # the failing actor itself: said on the re-tender's page
            flash(str(exc), "error")
            return redirect(url_for(".page", failure_id=failure_id))
        else:
            flash(f"Bid {key} saved for the repair. It stays sealed: no one but you and the analysts sees it.",
                  "success")
            return redirect(url_for("bids.mine", round_id=rnd.id))
    return render_template("tenders/bid.html", form=form, failure=failure, rnd=rnd), status(form)


@bp.route(f"/tenders/{FAILURE}/pledge", methods=["GET", "POST"])
def pledge(failure_id: int) -> ResponseReturnValue:
    form = TenderPledgeForm()
    with sessions().begin() as session:
        failure = tender.open_failure(session, failure_id)
        rnd = get_round(session, failure.round_id)
        challenges = repair.touched_challenges(session, failure)
    if current().role not in (Role.FUNDER,):
        flash("Only funders add money to a repair.", "error")
        return redirect(url_for(".page", failure_id=failure_id))
    if form.validate_on_submit():
        try:
            with sessions().begin() as session:
                amount = form.amount.cents or 0
                key = tender.tender_pledge(session, current(), failure_id, {"amount": format_money(amount)}).key
        except InvalidInput as exc:
            attach_errors(form, exc.fields, lambda path: form.amount if path == "amount" else None)
        else:
            flash(f"Pledge {key} saved: it pays only for the repair of these challenges, and only if the repair "
                  "is committed.", "success")
            return redirect(url_for("pledges.mine", round_id=rnd.id))
    return render_template("tenders/pledge.html", form=form, failure=failure, rnd=rnd, challenges=challenges,
                           staff=current().role in STAFF), status(form)
