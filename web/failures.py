"""When an actor fails (issue 18), for analysts: a round's contracts with the standby bids that could replace each,
marking an award failed, a failure's page (its repair market, repair jobs and their reviews) and committing a
reviewed repair. Everything here is staff-only: standby bids are sealed bids."""
from __future__ import annotations

import json

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from market import queue as job_queues
from market import services
from market.errors import Forbidden, InvalidInput, JobActive
from market.services import repair
from market.services.common import STAFF, get_round

from .auth import current
from .db import sessions
from .forms import ActionForm, WriteOffForm
from .queue import job_queue

bp = Blueprint("failures", __name__)
ROW = "<int(max=9223372036854775807):{}>"


@bp.before_request
@login_required
def _staff_only() -> None:
    if current().role not in STAFF:
        raise Forbidden("only analysts and admins handle failed awards")


@bp.route(f"/rounds/{ROW.format('round_id')}/awards")
def awards(round_id: int) -> ResponseReturnValue:
    with sessions().begin() as session:
        rnd = get_round(session, round_id)
        rows = repair.awards_in_force(session, current(), round_id)
        failures = repair.round_failures(session, current(), round_id)
    return render_template("failures/awards.html", rnd=rnd, rows=rows, failures=failures, form=WriteOffForm())


@bp.route(f"/rounds/{ROW.format('round_id')}/options", methods=["POST"])
def options(round_id: int) -> ResponseReturnValue:
    """The round's schedule, its programme (for rollover) and which reliability its clearing uses."""
    if ActionForm().validate_on_submit():
        data = {"reliability_source": request.form.get("reliability_source", ""),
                "programme": (request.form.get("programme") or "").strip() or None}
        for name in ("opens_at", "closes_at"):          # the schedule (absent once the round is cleared)
            if name in request.form:
                data[name] = request.form.get(name) or None
        try:
            with sessions().begin() as session:
                services.rounds.set_round_options(session, current(), round_id, data)
        except InvalidInput as exc:
            flash("Round options not saved: " + "; ".join(f"{k}: {v}" for k, v in exc.fields.items()), "error")
        else:
            flash("Round options saved.", "success")
    return redirect(url_for("analyst.round_page", round_id=round_id) + "#options")


@bp.route(f"/awards/{ROW.format('award_id')}/fail", methods=["POST"])
def fail(award_id: int) -> ResponseReturnValue:
    form = WriteOffForm()
    if not form.validate_on_submit():
        with sessions().begin() as session:
            round_id = repair.award_round_id(session, current(), award_id)
        flash("Give a reason to mark the award failed.", "error")
        return redirect(url_for(".awards", round_id=round_id))
    with sessions().begin() as session:
        failure = repair.fail_award(session, current(), award_id, {"reason": form.reason.data or ""})
        failure_id = failure.id
    flash(f"Award {award_id} marked failed: its unpaid milestones stopped. Run a repair to replace it.", "success")
    return redirect(url_for(".failure", failure_id=failure_id))


@bp.route(f"/failures/{ROW.format('failure_id')}")
def failure(failure_id: int) -> ResponseReturnValue:
    with sessions().begin() as session:
        row = repair.get_failure(session, current(), failure_id)
        rnd = get_round(session, row.round_id)
        reviews = [repair.review(session, current(), run.id) for run in repair.repair_runs_of(session, failure_id)]
    return render_template("failures/failure.html", rnd=rnd, failure=row, reviews=reviews, action=ActionForm())


@bp.route(f"/failures/{ROW.format('failure_id')}/market.json")
def market(failure_id: int) -> ResponseReturnValue:
    with sessions().begin() as session:
        document, _ = repair.repair_market(session, current(), failure_id)
    return Response(json.dumps(document, indent=2, ensure_ascii=False) + "\n", mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="repair-{failure_id}.json"'})


@bp.route(f"/failures/{ROW.format('failure_id')}/repair", methods=["POST"])
def run(failure_id: int) -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        return redirect(url_for(".failure", failure_id=failure_id))
    try:
        job_id = job_queues.submit_repair(sessions(), job_queue(), current(), failure_id)
    except JobActive as exc:
        flash(str(exc), "error")
        return redirect(url_for(".failure", failure_id=failure_id))
    flash(f"Repair job {job_id} queued: its result appears on this page once solved.", "success")
    return redirect(url_for("analyst.job_page", job_id=job_id))


@bp.route(f"/repairs/{ROW.format('run_id')}/commit", methods=["POST"])
def commit(run_id: int) -> ResponseReturnValue:
    form = ActionForm()
    if not form.validate_on_submit() or request.form.get("reviewed") != "yes":
        flash("Tick that you reviewed the repair before committing it: the money moves at once.", "error")
        with sessions().begin() as session:
            failure_id = repair.repair_run(session, current(), run_id).failure_id
        return redirect(url_for(".failure", failure_id=failure_id))
    with sessions().begin() as session:
        row = repair.commit_repair(session, current(), run_id)
        failure_id, state = row.id, row.state
    flash(f"Repair run {run_id} committed: failure {failure_id} {state}.", "success")
    return redirect(url_for(".failure", failure_id=failure_id))
