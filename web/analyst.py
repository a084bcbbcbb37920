"""Analysts (and admins): rounds, challenges and components, open / close / clear, clearing jobs (a page
per job that follows it while it runs, cancel, retry), clearing runs, and downloads: the round as a market
file, the allocation as JSON and as CSV (each one in the audit log)."""
from __future__ import annotations

import csv
import dataclasses
import io
import json
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from markupsafe import Markup
from sqlalchemy.orm import Session

from market import queue as job_queues, reads, services
from market.errors import InvalidInput, JobActive, NotFound
from market.models import ClearingRun, RoundStatus
from market.services import delivery, jobs, settlement, verification
from market.services.common import get_round
from market.text import spreadsheet_cell
from solver.money import format_money

from . import job_figures
from .auth import current
from .changes import reasoned_change
from .db import sessions
from .forms import (status, ActionForm, ChallengeForm, ClearForm, ExclusionForm, RoundForm, TermsForm, VerifierForm,
                    attach_errors, choices, row_resolver)
from .queue import job_queue

bp = Blueprint("analyst", __name__, url_prefix="/analyst")
ROUND = "/rounds/<int(max=9223372036854775807):round_id>"
JOB = "/jobs/<int(max=9223372036854775807):job_id>"
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
    return _round_page(round_id, None)


def _round_page(round_id: int, clear_form: ClearForm | None) -> ResponseReturnValue:
    """The round's page; `clear_form` is the clear form sent back with its errors (else one prefilled with
    the defaults for the round's size)."""
    with sessions().begin() as session:
        rnd = get_round(session, round_id)
        challenges = reads.challenges(session, round_id)
        runs = services.runs(session, round_id)
        pledges = [{"kind": "pledge", "key": p.key, "owner": p.funder.name or p.funder.key, "cents": p.amount_cents,
                    "withdrawn": p.withdrawn, "excluded": p.excluded_reason}
                   for p in services.visible_pledges(session, current(), round_id)]
        bids = [{"kind": "bid", "key": b.key, "owner": b.actor.name or b.actor.key,
                 "cents": sum(i.price_cents for i in b.items), "withdrawn": b.withdrawn, "excluded": b.excluded_reason,
                "fixed": (b.fixed_reason or "fixed") if b.fixed else None}
                for b in services.visible_bids(session, current(), round_id)]
        counts = {"pledges": len([p for p in pledges if not p["withdrawn"]]),
                  "bids": len([b for b in bids if not b["withdrawn"]])}
        defaults = jobs.limits_for_round(session, round_id)
        money = settlement.round_money(session, round_id)
        agreed = settlement.terms(session, round_id)
        recent = [{"job": j, "shown": job_figures.shown(j)} for j in jobs.round_jobs(session, current(), round_id, 10)]
        verifiers = verification.assignments(session, current(), round_id)
        waiting = delivery.waiting_reports(session, current(), round_id)
        disputes = services.disputes.open_disputes(session, current(), round_id)
    verifier_form = VerifierForm(formdata=None)
    verifier_form.challenge.choices = choices([("", "the whole round")]
                                              + [(c.key, c.title or c.key) for c in challenges])
    if clear_form is None:
        clear_form = ClearForm(formdata=None, data={"solver": "cbc", "time_limit": f"{defaults.time_limit:g}",
                                                    "gap": "" if defaults.gap is None else f"{defaults.gap:g}"})
    return (render_template("analyst/round.html", rnd=rnd, challenges=challenges, runs=runs, counts=counts, money=money,
                            terms=agreed, terms_form=TermsForm(formdata=None, data={
                                k: str(v) for k, v in dataclasses.asdict(agreed).items()}),
                            pledges=pledges, bids=bids, action=ActionForm(), clear_form=clear_form,
                            defaults=defaults, jobs=recent, verifiers=verifiers, verifier_form=verifier_form,
                            waiting=waiting, disputes=disputes),
            status(clear_form))


@bp.route(ROUND + "/<any(pledge, bid):kind>s/<key>/<any(exclude, include):verb>", methods=["POST"])
def exclusion(round_id: int, kind: str, key: str, verb: str) -> ResponseReturnValue:
    """Leave a pledge or a bid out of the clearing with a reason, or take it back (services.exclude)."""
    excluding = verb == "exclude"

    def change(session: Session) -> None:
        if excluding:
            services.exclude(session, current(), round_id, kind, key, {"reason": form.reason.data})
        else:
            services.include(session, current(), round_id, kind, key)

    form = ExclusionForm() if excluding else ActionForm()
    return reasoned_change(
        form, change, redirect(url_for(".round_page", round_id=round_id) + "#exclusions"),
        failed=f"{kind.capitalize()} {key} was not {'excluded' if excluding else 'taken back'}",
        success=(f"{kind.capitalize()} {key} excluded from the clearing." if excluding
                 else f"{kind.capitalize()} {key} is back in the clearing."))


@bp.route(ROUND + "/bids/<string(maxlength=64):key>/<any(fix, unfix):verb>", methods=["POST"])
def fixing(round_id: int, key: str, verb: str) -> ResponseReturnValue:
    """Mark a bid fixed (contracted already: every clearing must accept it) or unfix it, with a reason
    (services.fix_bid / unfix_bid, audited); back to the round's bids."""
    fixes = verb == "fix"

    def change(session: Session) -> None:
        (services.fix_bid if fixes else services.unfix_bid)(session, current(), round_id, key,
                                                            {"reason": form.reason.data})

    form = ExclusionForm()
    return reasoned_change(
        form, change, redirect(url_for("bids.mine", round_id=round_id) + f"#bid-{key}"),
        failed=f"Bid {key} was not {'fixed' if fixes else 'unfixed'}",
        success=(f"Bid {key} is fixed: every clearing of the round must accept it." if fixes
                 else f"Bid {key} is no longer fixed: it competes like any other bid."))


@bp.route(ROUND + "/terms", methods=["POST"])
def terms(round_id: int) -> ResponseReturnValue:
    """Set the round's settlement terms (until its clearing is committed)."""
    form = TermsForm()

    def change(session: Session) -> None:
        settlement.set_terms(session, current(), round_id, form.values())

    return reasoned_change(form, change, redirect(url_for(".round_page", round_id=round_id) + "#terms"),
                           failed="The terms were not changed", success="Settlement terms saved.")


@bp.route(ROUND + "/verifiers", methods=["POST"])
def assign_verifier(round_id: int) -> ResponseReturnValue:
    """Assign a verifier to the round or one of its challenges (services/verification.py checks conflicts)."""
    form = VerifierForm()

    def change(session: Session) -> None:
        verification.assign_verifier(session, current(), round_id, {"email": form.email.data,
                                                                   "challenge": form.challenge.data or None})

    return reasoned_change(form, change, redirect(url_for(".round_page", round_id=round_id) + "#verifiers"),
                           failed="The verifier was not assigned",
                           success=lambda: f"{form.email.data} assigned to verify "
                                           + (f"challenge {form.challenge.data}." if form.challenge.data
                                              else "the round."))


@bp.route(ROUND + "/verifiers/<int(max=9223372036854775807):assignment_id>/remove", methods=["POST"])
def unassign_verifier(round_id: int, assignment_id: int) -> ResponseReturnValue:
    def change(session: Session) -> None:
        verification.unassign_verifier(session, current(), round_id, assignment_id)

    return reasoned_change(ActionForm(), change, redirect(url_for(".round_page", round_id=round_id) + "#verifiers"),
                           failed="The assignment was not removed", success="Verifier assignment removed.")


@bp.route(ROUND + "/commit", methods=["POST"])
def commit(round_id: int) -> ResponseReturnValue:
    """Commit the cleared round's result: every flow becomes its pledge's commitment into escrow (the ledger)."""
    def change(session: Session) -> None:
        services.commit_run(session, current(), round_id)

    return reasoned_change(ActionForm(), change, redirect(url_for(".round_page", round_id=round_id)),
                            failed=f"Round {round_id} was not committed",
                            success=f"Round {round_id} committed: its flows are held in escrow for the funders "
                                    "to deposit.")


@bp.route(ROUND + "/<any(open, close, reopen, clear):verb>", methods=["POST"])
def transition(round_id: int, verb: str) -> ResponseReturnValue:
    if verb == "clear":
        return _clear(round_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for(".round_page", round_id=round_id))
    change, changed = {"open": (services.open_round, "opened"), "close": (services.close_round, "closed"),
                       "reopen": (services.reopen_round, "reopened")}[verb]
    with sessions().begin() as session:
        change(session, current(), round_id)
    flash(f"Round {round_id} {changed}.", "success")
    return redirect(url_for(".round_page", round_id=round_id))


def _clear(round_id: int) -> ResponseReturnValue:
    """Close an open round, then queue its clearing as a job and show the job's page. The queue is asked
    first, so that with the queue away (503) the round is left as it was."""
    form = ClearForm()
    if not form.validate_on_submit():
        return _round_page(round_id, form)
    queue = job_queue()
    queue.ping()
    sm = sessions()
    with sm.begin() as session:
        if get_round(session, round_id).status == RoundStatus.OPEN:
            services.close_round(session, current(), round_id)
    try:
        job_id = job_queues.submit(sm, queue, current(), round_id, backend=form.solver.data,
                                   time_limit=_number(form.time_limit.number), gap=_number(form.gap.number))
    except JobActive as exc:
        return _refused_second(round_id, exc)
    except InvalidInput as exc:
        attach_errors(form, exc.fields, lambda p: getattr(form, "solver" if p == "backend" else p, None))
        return _round_page(round_id, form)
    return redirect(url_for(".job_page", job_id=job_id))


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _refused_second(round_id: int, exc: JobActive) -> ResponseReturnValue:
    """A clearing of the round is queued or running already: say so, with a link to it."""
    with sessions().begin() as session:
        active = jobs.active_job(session, round_id)
    if active is None:          # it ended meanwhile
        flash(str(exc), "error")
    else:
        flash(Markup('{} <a href="{}">See job {}</a>.').format(str(exc), url_for(".job_page", job_id=active.id),
                                                               active.id), "error")
    return redirect(url_for(".round_page", round_id=round_id))


# ---------------------------------------------------------------- clearing jobs

@bp.route(JOB)
def job_page(job_id: int) -> ResponseReturnValue:
    """A clearing job: its state and the solver's progress; while it runs, the page follows it (static/job.js
    polls job_json; without JavaScript a <noscript> refresh reloads it)."""
    with sessions().begin() as session:
        job = jobs.get_job(session, current(), job_id)
        rnd = get_round(session, job.round_id)
        figures, shown, limits = job_figures.figures(job), job_figures.shown(job), job_figures.limits_text(job)
        run = session.get(ClearingRun, job.run_id) if job.run_id is not None else None
        # Market 1.1: a clearing in which the fixed bids cannot all be accepted is recorded but is no result
        infeasible = ([r for u in run.allocation.get("unfunded", []) for r in u.get("reasons", [])]
                      if run is not None and run.status == "infeasible" else None)
    return render_template("analyst/job.html", job=figures, shown=shown, limits=limits, rnd=rnd,
                           action=ActionForm(), infeasible=infeasible)


@bp.route(JOB + ".json")
def job_json(job_id: int) -> ResponseReturnValue:
    """The job page's figures, for its script."""
    with sessions().begin() as session:
        job = jobs.get_job(session, current(), job_id)
        body = job_figures.figures(job) | {"shown": job_figures.shown(job)}
    return jsonify(body)


@bp.route(JOB + "/cancel", methods=["POST"])
def job_cancel(job_id: int) -> ResponseReturnValue:
    if ActionForm().validate_on_submit():
        with sessions().begin() as session:
            job = jobs.cancel_job(session, current(), job_id)
            done = job.state == "cancelled"
        flash(f"Job {job_id} cancelled." if done
              else f"Job {job_id}: asked to stop; it ends cancelled within a few seconds.", "success")
    return redirect(url_for(".job_page", job_id=job_id))


@bp.route(JOB + "/retry", methods=["POST"])
def job_retry(job_id: int) -> ResponseReturnValue:
    """A new job with this failed (or cancelled) one's options."""
    if not ActionForm().validate_on_submit():
        return redirect(url_for(".job_page", job_id=job_id))
    with sessions().begin() as session:
        round_id = jobs.get_job(session, current(), job_id).round_id
    try:
        new_id = job_queues.retry(sessions(), job_queue(), current(), job_id)
    except JobActive as exc:
        return _refused_second(round_id, exc)
    return redirect(url_for(".job_page", job_id=new_id))


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
        writer.writerow([spreadsheet_cell(r["pledge"]), spreadsheet_cell(r["funder"]),
                         spreadsheet_cell(r["challenge"]), spreadsheet_cell(r["component"]),
                         format_money(r["amount_cents"])])
    return _download(out.getvalue(), f"round-{round_id}-run-{run_id}.allocation.csv", "text/csv")
