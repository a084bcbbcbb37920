"""Milestones after the commit (issue 17): a milestone's page (its reports, evidence and next step) for whoever
may read it, the actor's delivery report form on it, the verifier's review form, and the verifier's queue.

Who may read a milestone is the services' rule (market/services/delivery.py `may_read`): its actor, its
verifiers, the funders paying for it, analysts. Anyone else gets the same 404 as for a milestone that does not
exist, so that no one learns which milestones there are.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

from market.errors import InvalidInput, WrongState
from market.models import Role
from market import services
from market.services import delivery, verification
from market.services.common import STAFF, get_round
from solver.money import format_money_grouped

from .auth import current
from .db import sessions
from .evidence import storage, uploads
from .forms import DecisionForm, DisputeForm, ReportForm, ReviewForm, WriteOffForm

bp = Blueprint("milestones", __name__)
MILESTONE = "/milestones/<int(max=9223372036854775807):milestone_id>"
REPORT = "/reports/<int(max=9223372036854775807):report_id>"


@bp.before_request
@login_required
def _logged_in() -> None:
    return None


@bp.route(MILESTONE)
def page(milestone_id: int) -> ResponseReturnValue:
    return _page(milestone_id, None, None)


def _page(milestone_id: int, report_form: ReportForm | None, review_form: ReviewForm | None,
          sent: FlaskForm | None = None) -> ResponseReturnValue:
    """The milestone's page with the forms its reader may use; a form sent back with its errors (`report_form`,
    `review_form`, or `sent`: a dispute, decision or write-off form) is shown in place of a fresh one."""
    user = current()
    with sessions().begin() as session:
        milestone = delivery.readable_milestone(session, user, milestone_id)
        detail = delivery.details(session, [milestone])[0]
        rnd = get_round(session, detail.round_id)
        owner = user.role == Role.ACTOR and delivery.is_owner(session, user, milestone)
        verifies = user.role not in STAFF and verification.may_verify(session, user, milestone)
    staff = user.role in STAFF
    waiting = next((r for r in detail.reports if r.state == "submitted"), None)
    arguing = next((d for d in detail.disputes if d.state == "open"), None)
    forms: dict[str, FlaskForm | None] = {
        "report": (report_form or ReportForm(formdata=None)) if owner and detail.may_report else None,
        "review": (review_form or ReviewForm(formdata=None)) if verifies and waiting is not None else None,
        "dispute": _fresh(sent, DisputeForm) if owner and detail.disputable is not None else None,
        "decision": _fresh(sent, DecisionForm) if staff and arguing is not None else None,
        "write_off": _fresh(sent, WriteOffForm) if staff and detail.may_write_off else None}
    failed = any(f is not None and f.errors for f in (report_form, review_form, sent))
    return (render_template("milestones/page.html", rnd=rnd, m=detail, owner=owner, verifies=verifies, staff=staff,
                            waiting=waiting, arguing=arguing, forms=forms), 422 if failed else 200)


def _fresh(sent: FlaskForm | None, kind: type[FlaskForm]) -> FlaskForm:
    return sent if isinstance(sent, kind) else kind(formdata=None)


@bp.route(MILESTONE + "/reports", methods=["POST"])
def report(milestone_id: int) -> ResponseReturnValue:
    """The actor reports the milestone delivered (its files are read only once the form holds)."""
    form = ReportForm()

    def do(session: Session) -> str:
        made = delivery.submit_report(session, current(), milestone_id, form.values(),
                                      uploads(form.files.data or []), storage())
        return f"Report {made.id} sent: a verifier reviews it; you will see the decision here."
    return _change(form, milestone_id, do, "The report was not saved") or _page(milestone_id, form, None)


@bp.route(REPORT + "/review", methods=["POST"])
def review(report_id: int) -> ResponseReturnValue:
    """A verifier accepts (in full, or fewer units) or rejects a report; back to its milestone."""
    form = ReviewForm()
    with sessions().begin() as session:
        milestone_id = delivery.report_milestone(session, current(), report_id)

    def do(session: Session) -> str:
        done = delivery.review_report(session, current(), report_id, form.values())
        currency = get_round(session, done.round_id).currency
        paid = (f": {format_money_grouped(done.released_cents)} {currency} released to the actor."
                if done.released_cents else ".")
        return f"Report {report_id} {done.state}{paid}"
    return _change(form, milestone_id, do, "The decision was not saved") or _page(milestone_id, None, form)


@bp.route(REPORT + "/dispute", methods=["POST"])
def dispute(report_id: int) -> ResponseReturnValue:
    """The actor disputes the decision on its report: the disputed money is frozen until an analyst decides."""
    form = DisputeForm()
    with sessions().begin() as session:
        milestone_id = delivery.report_milestone(session, current(), report_id)

    def do(session: Session) -> str:
        row = services.open_dispute(session, current(), report_id, {"reason": form.reason.data or ""})
        return f"Dispute {row.id} sent: an analyst decides; the disputed money stays in escrow until then."
    return _change(form, milestone_id, do, "The dispute was not sent") or _page(milestone_id, None, None, form)


@bp.route("/disputes/<int(max=9223372036854775807):dispute_id>/decision", methods=["POST"])
def decide(dispute_id: int) -> ResponseReturnValue:
    """An analyst decides a dispute; back to its milestone."""
    form = DecisionForm()
    with sessions().begin() as session:
        milestone_id = services.disputes.dispute_milestone(session, current(), dispute_id)

    def do(session: Session) -> str:
        row = services.decide_dispute(session, current(), dispute_id, form.values())
        return f"Dispute {row.id} decided {row.state.replace('_', ' ')}."
    return _change(form, milestone_id, do, "The dispute was not decided") or _page(milestone_id, None, None, form)


@bp.route(MILESTONE + "/write-off", methods=["POST"])
def write_off(milestone_id: int) -> ResponseReturnValue:
    """An analyst writes the milestone off: what it holds in escrow goes back to its funders."""
    form = WriteOffForm()

    def do(session: Session) -> str:
        services.write_off(session, current(), milestone_id, {"reason": form.reason.data or ""})
        return f"Milestone {milestone_id} written off: what it held went back to its funders."
    return _change(form, milestone_id, do, "The milestone was not written off") or _page(milestone_id, None, None,
                                                                                         form)


def _change(form: Any, milestone_id: int, do: Callable[[Session], str], refused: str) -> ResponseReturnValue | None:
    """When the form holds, run `do` in one transaction (it returns what to tell the user) and go back to the
    milestone; a refusal of the state is flashed there too. None: the form goes back with its errors."""
    if not form.validate_on_submit():
        return None
    try:
        with sessions().begin() as session:
            message = do(session)
    except InvalidInput as exc:
        _attach(form, exc.fields)
        flash(f"{refused}: {'; '.join(exc.fields.values())}.", "error")    # also where the form is not shown
        return None
    except WrongState as exc:
        flash(f"{refused}: {exc}.", "error")
    else:
        flash(message, "success")
    return redirect(url_for(".page", milestone_id=milestone_id))


def _attach(form: Any, problems: dict[str, str]) -> None:
    """The service's problems on the form's fields; those of no field (files[1]) on the files field."""
    for name, message in problems.items():
        field = getattr(form, name, None) or getattr(form, "files", None)
        if field is None:
            form.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]


@bp.route("/verification")
def queue() -> ResponseReturnValue:
    """Reports waiting for review: a verifier's own queue; analysts see every round's, overdue first."""
    user = current()
    with sessions().begin() as session:
        waiting = delivery.waiting_reports(session, user)
        currencies = delivery.round_currencies(session, {w.milestone.round_id for w in waiting})
    waiting.sort(key=lambda w: (not w.overdue, w.due))
    return render_template("milestones/queue.html", waiting=waiting, currencies=currencies,
                           staff=user.role in STAFF)
