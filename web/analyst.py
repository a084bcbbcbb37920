"""Analysts (and admins): rounds, challenges and components, open / close / clear, clearing runs, and
downloads: the round as a market file, the allocation as JSON and as CSV (each one in the audit log)."""
from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from market import reads, services
from market.errors import ClearingFailed, Conflict, InvalidInput, NotFound
from market.models import ClearingRun, RoundStatus
from market.services.common import get_round
from solver.clearing import ClearOptions
from solver.money import format_money

from .auth import current
from .db import sessions
from .forms import status, ActionForm, ChallengeForm, ExclusionForm, RoundForm, attach_errors, row_resolver

bp = Blueprint("analyst", __name__, url_prefix="/analyst")
ROUND = "/rounds/<int(max=9223372036854775807):round_id>"
CHALLENGE_TOP = {"id": "id", "title": "title", "tags": "tags", "value": "value", "reliability": "reliability",
                 "components": "id"}


@bp.before_request
@login_required
def _staff_only() -> None:
    reads.require_staff(current())


@bp.route("/", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    form = RoundForm()
    if form.validate_on_submit():
        try:
            with sessions().begin() as session:
                rnd = services.create_round(session, current(), {"name": form.name.data.strip(),
                                                                 "currency": form.currency.data.strip().upper(),
                                                                 "note": form.note.data or None})
                round_id = rnd.id
        except InvalidInput as exc:
            attach_errors(form, exc.fields, lambda p: getattr(form, p, None) if p else None)
        else:
            flash(f"Round {round_id} created as a draft: add its challenges, then open it.", "success")
            return redirect(url_for(".round_page", round_id=round_id))
    with sessions().begin() as session:
        rounds = reads.rounds(session)
    return render_template("analyst/index.html", rounds=rounds, form=form), status(form)


@bp.route(ROUND)
def round_page(round_id: int) -> ResponseReturnValue:
    with sessions().begin() as session:
        rnd = get_round(session, round_id)
        challenges = reads.challenges(session, round_id)
        runs = services.runs(session, round_id)
        pledges = [{"kind": "pledge", "key": p.key, "owner": p.funder.name or p.funder.key, "cents": p.amount_cents,
                    "withdrawn": p.withdrawn, "excluded": p.excluded_reason}
                   for p in services.visible_pledges(session, current(), round_id)]
        bids = [{"kind": "bid", "key": b.key, "owner": b.actor.name or b.actor.key,
                 "cents": sum(i.price_cents for i in b.items), "withdrawn": b.withdrawn, "excluded": b.excluded_reason}
                for b in services.visible_bids(session, current(), round_id)]
        counts = {"pledges": len([p for p in pledges if not p["withdrawn"]]),
                  "bids": len([b for b in bids if not b["withdrawn"]])}
    return render_template("analyst/round.html", rnd=rnd, challenges=challenges, runs=runs, counts=counts,
                           pledges=pledges, bids=bids, action=ActionForm())


@bp.route(ROUND + "/<any(pledge, bid):kind>s/<key>/<any(exclude, include):verb>", methods=["POST"])
def exclusion(round_id: int, kind: str, key: str, verb: str) -> ResponseReturnValue:
    """Leave a pledge or a bid out of the clearing with a reason, or take it back (services.exclude)."""
    form = ExclusionForm() if verb == "exclude" else ActionForm()
    back = redirect(url_for(".round_page", round_id=round_id) + "#exclusions")
    if not form.validate_on_submit():
        problems = [m for messages in form.errors.values() for m in messages]
        flash(f"{kind.capitalize()} {key} was not excluded: {'; '.join(problems)}.", "error")
        return back
    try:
        with sessions().begin() as session:
            if verb == "exclude":
                services.exclude(session, current(), round_id, kind, key, {"reason": form.reason.data})
            else:
                services.include(session, current(), round_id, kind, key)
    except InvalidInput as exc:
        flash(f"{kind.capitalize()} {key} was not excluded: {'; '.join(exc.fields.values())}.", "error")
        return back
    flash(f"{kind.capitalize()} {key} excluded from the clearing." if verb == "exclude"
          else f"{kind.capitalize()} {key} is back in the clearing.", "success")
    return back


@bp.route(ROUND + "/<any(open, close, reopen, clear):verb>", methods=["POST"])
def transition(round_id: int, verb: str) -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        return redirect(url_for(".round_page", round_id=round_id))
    if verb == "clear":
        sm = sessions()
        with sm.begin() as session:
            if get_round(session, round_id).status == RoundStatus.OPEN:
                services.close_round(session, current(), round_id)
        try:
            cleared = services.clear_round(sm, current(), round_id,
                                           ClearOptions(time_limit=float(current_app.config["CLEAR_TIME_LIMIT"])))
        except (ClearingFailed, Conflict) as exc:
            flash(str(exc), "error")
            return redirect(url_for(".round_page", round_id=round_id))
        done = sum(c.completed for c in cleared.allocation.challenges)
        flash(f"Round {round_id} cleared (run {cleared.run_id}, {cleared.allocation.status}): {done} of "
              f"{len(cleared.allocation.challenges)} challenges completed.", "success")
        return redirect(url_for("challenges.results", round_id=round_id))
    change, changed = {"open": (services.open_round, "opened"), "close": (services.close_round, "closed"),
                       "reopen": (services.reopen_round, "reopened")}[verb]
    with sessions().begin() as session:
        change(session, current(), round_id)
    flash(f"Round {round_id} {changed}.", "success")
    return redirect(url_for(".round_page", round_id=round_id))


def _challenge_form_page(round_id: int, key: str | None) -> ResponseReturnValue:
    with sessions().begin() as session:
        rnd = get_round(session, round_id)
        prefill = None
        if key is not None:
            c = reads.challenge(session, round_id, key)
            prefill = {"id": c.key, "title": c.title or "", "tags": ", ".join(c.tags), "value": f"{c.value:g}",
                       "reliability": "" if c.reliability is None else f"{c.reliability:g}",
                       "components": [{"id": k.key, "title": k.title or "", "unit": k.unit or "",
                                       "quantity": str(k.quantity), "critical": k.critical,
                                       "value": f"{k.value:g}" if k.value else "", "requires": ", ".join(k.requires),
                                       "min_reliability": "" if k.min_reliability is None else f"{k.min_reliability:g}",
                                       "max_unit_price": "" if k.max_unit_price_cents is None
                                       else format_money(k.max_unit_price_cents)} for k in c.components]}
    form = ChallengeForm() if request.method == "POST" or prefill is None else ChallengeForm(data=prefill)
    if form.validate_on_submit():
        data, rows = form.payload()
        try:
            with sessions().begin() as session:
                if key is None:
                    saved = services.add_challenge(session, current(), round_id, data).key
                else:
                    saved = services.change_challenge(session, current(), round_id, key, data).key
        except InvalidInput as exc:
            attach_errors(form, exc.fields, row_resolver(form, "components", rows, CHALLENGE_TOP))
        else:
            flash(f"Challenge {saved} saved.", "success")
            return redirect(url_for(".round_page", round_id=round_id))
    return render_template("analyst/challenge.html", rnd=rnd, form=form, key=key), status(form)


@bp.route(ROUND + "/challenges/new", methods=["GET", "POST"])
def new_challenge(round_id: int) -> ResponseReturnValue:
    return _challenge_form_page(round_id, None)


@bp.route(ROUND + "/challenges/<string(maxlength=64):key>/edit", methods=["GET", "POST"])
def edit_challenge(round_id: int, key: str) -> ResponseReturnValue:
    return _challenge_form_page(round_id, key)


def _run(session: Any, round_id: int) -> ClearingRun:
    """?run=ID (one of this round's runs), else the round's result."""
    wanted = request.args.get("run", "")
    get_round(session, round_id)
    if wanted:
        run = next((r for r in services.runs(session, round_id) if str(r.id) == wanted), None)
    else:
        run = reads.result(session, round_id)
    if run is None:
        raise NotFound(f"round {round_id} has no such clearing run" if wanted
                       else f"round {round_id} is not cleared yet")
    return run


def _download(body: str, name: str, mimetype: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route(ROUND + "/market.json")
def market_file(round_id: int) -> Response:
    with sessions().begin() as session:
        document = services.export_round(session, current(), round_id)
    return _download(json.dumps(document, indent=2, ensure_ascii=False) + "\n", f"round-{round_id}.market.json",
                     "application/json")


@bp.route(ROUND + "/allocation.json")
def allocation_json(round_id: int) -> Response:
    with sessions().begin() as session:
        run = _run(session, round_id)
        services.record_download(session, current(), round_id, run.id, "allocation.json")
        body = json.dumps(run.allocation, indent=2, ensure_ascii=False) + "\n"
        run_id = run.id
    return _download(body, f"round-{round_id}-run-{run_id}.allocation.json", "application/json")


@bp.route(ROUND + "/allocation.csv")
def allocation_csv(round_id: int) -> Response:
    """One row per flow: pledge, funder, challenge, component, amount (a decimal string, two digits)."""
    with sessions().begin() as session:
        run = _run(session, round_id)
        services.record_download(session, current(), round_id, run.id, "allocation.csv")
        rows = reads.flows_table(run)
        run_id = run.id
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["pledge", "funder", "challenge", "component", "amount"])
    for r in rows:
        writer.writerow([_cell(r["pledge"]), _cell(r["funder"]), _cell(r["challenge"]), _cell(r["component"]),
                         format_money(r["amount_cents"])])
    return _download(out.getvalue(), f"round-{round_id}-run-{run_id}.allocation.csv", "text/csv")


def _cell(text: str) -> str:
    """No formula injection when the CSV is opened in a spreadsheet (ids cannot start with these anyway)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
