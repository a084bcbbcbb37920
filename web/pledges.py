"""Funders: pledge, see "my pledges", change or withdraw while the round is open, and after clearing
see where every cent went and what was returned."""
from __future__ import annotations

from decimal import Decimal
import re
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy.orm import Session

from market import pledge_report, reads, scope_preview, sealing, services
from market.errors import Forbidden, InvalidInput, Withdrawn
from market.models import Role, RoundStatus
from market.services import delivery, settlement
from market.services.common import STAFF, get_round
from solver.money import format_money, format_money_grouped

from .auth import current
from .changes import reasoned_change
from .db import sessions
from .forms import status, ActionForm, DepositForm, PledgeForm, choices, attach_errors, row_resolver

bp = Blueprint("pledges", __name__, url_prefix="/rounds/<int(max=9223372036854775807):round_id>/pledges")
KEY = "/<string(maxlength=64):key>"
TOP = {"amount": "amount", "max_share": "max_share", "match": "match", "scope.challenges": "challenges",
       "scope.components": "components", "scope.tags": "tags", "scope.all_tags": "all_tags",
       "scope.exclude_tags": "exclude_tags", "scope": "challenges", "min_spend": "min_spend",
       "max_challenge_share": "max_challenge_share", "conditions": "conditions"}


@bp.before_request
@login_required
def _logged_in() -> None:
    return None


def _require_funder() -> None:
    if current().role != Role.FUNDER:
        raise Forbidden(f"only funders pledge; you are logged in as {current().role}")


def _choices(session: Any, round_id: int, form: PledgeForm, held: frozenset[str] = frozenset()) -> list[Any]:
    """Fill the form's choices; the round's challenges (for the preview). `held`: the funders the pledge's
    stored conditions name."""
    challenges = reads.challenges(session, round_id)
    form.challenges.choices = choices([(c.key, c.title or c.key) for c in challenges])
    tags = choices([(t, t) for t in sorted({t for c in challenges for t in c.tags})])
    form.tags.choices, form.all_tags.choices, form.exclude_tags.choices = tags, list(tags), list(tags)
    form.components.choices = choices([(f"{c.key}/{k.key}", f"{c.title or c.key}: {k.title or k.key}")
                                       for c in challenges for k in c.components])
    nameable = [(f.key, f.name or f.key) for f in services.condition_funders(session, current(), round_id)]
    # A funder a stored condition names that may no longer be named (it keeps a pledge unlisted since) stays
    # shown as chosen: the service keeps a condition the pledge holds already, and refuses naming it anew.
    chosen = {(e.form.funder.data or "").strip() for e in form.conditions.entries} - {k for k, _ in nameable} - {""}
    if chosen:
        # Only a funder this pledge already names is shown by name; any other key gets the same words whether
        # or not it is a funder of the round, so the form tells nobody who pledged unlisted (as the API).
        known = {f.key: f.name or f.key for f in services.condition_funders(session, None, round_id)
                 if f.key in held} if held else {}
        nameable += [(k, f"{known[k]} (kept; may not be named anew)" if k in known
                      else f"{k} (may not be named)") for k in sorted(chosen)]
    funders = choices([("", "(no condition)")] + nameable)
    if len(form.filled_conditions()) == len(form.conditions.entries) < form.conditions.max_entries:
        form.conditions.append_entry()              # always a free row
    for entry in form.conditions.entries:
        entry.form.funder.choices = funders
    return challenges


def _resolver(form: PledgeForm, rows: list[int]) -> Any:
    """A service's error paths -> the form's fields ("scope.all_tags[1]" -> all_tags, "conditions[0].min"
    -> that condition's row)."""
    resolve = row_resolver(form, "conditions", rows, TOP)

    def field(path: str) -> Any:
        if path.startswith("scope."):
            path = re.sub(r"\[\d+\]$", "", path)
        return resolve(path) or (form.conditions if path.startswith("conditions") else None)
    return field


def _save(form: PledgeForm, round_id: int, key: str | None) -> str | None:
    """Save the form's pledge (new when `key` is None); its key, or None with the errors on the form."""
    data, rows = form.payload()
    try:
        with sessions().begin() as session:
            if key is None:            # a new pledge: an optional field left empty is simply not given
                data = {k: v for k, v in data.items() if v is not None or k in ("scope", "max_share", "match")}
                key = services.pledge(session, current(), round_id, data).key
            else:
                services.change_pledge(session, current(), round_id, key, data)
    except InvalidInput as exc:
        attach_errors(form, exc.fields, _resolver(form, rows))
        return None
    return key


def _previewing() -> bool:
    """The form was sent with its "Preview" button: show what the scope admits, save nothing."""
    return request.method == "POST" and "preview" in request.form


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
        seer = sealing.viewer(session, user, round_id)
        reports = ({p.key: pledge_report.pledge_report(run, p.key, seer) for p in pledges}
                   if run is not None else {})
        titles = {c.key: c.title or c.key for c in reads.challenges(session, round_id)}
        funder_names = {f.key: f.name or f.key for f in services.condition_funders(session, None, round_id)}
        money = settlement.pledges_money(session, [p.id for p in pledges])
        funded = settlement.pledge_milestones(session, [p.id for p in pledges])
        progress = delivery.details_of(session, [f.milestone.id for fs in funded.values() for f in fs])
        rows = [{"key": p.key, "amount": p.amount_cents, "money": money[p.id], "milestones": funded.get(p.id, []),
                 "scope": p.scope, "max_share": p.max_share,
                 "match": p.match, "listed": p.listed, "withdrawn": p.withdrawn, "excluded": p.excluded_reason,
                 "funder": p.funder.name or p.funder.key, "words": scope_preview.describe(p.scope, titles),
                 "min_spend": p.min_spend_cents, "max_challenge_share": p.max_challenge_share,
                 "conditions": [(funder_names.get(c["funder"], c["funder"]), c["min_cents"])
                                for c in _conditions(p)]} for p in pledges]
    return render_template("pledges/mine.html", rnd=rnd, pledges=rows, outcomes=outcomes, reports=reports,
                           progress=progress,
                           action=ActionForm(), deposit=DepositForm(formdata=None),
                           records_deposits=user.role in (Role.FUNDER, Role.ADMIN))


@bp.route("/new", methods=["GET", "POST"])
def new(round_id: int) -> ResponseReturnValue:
    """The pledge form, with what its scope admits; "Preview" shows that without saving anything."""
    _require_funder()
    form = PledgeForm()
    with sessions().begin() as session:
        rnd = get_round(session, round_id)
        challenges = _choices(session, round_id, form)
        _labels(form, rnd.currency)
    if rnd.status != RoundStatus.OPEN:
        flash(f"Round {rnd.id} is {rnd.status}: pledges are accepted only while it is open.", "error")
    if not _previewing() and form.validate_on_submit():
        key = _save(form, round_id, None)
        if key is not None:
            flash(f"Pledge {key} of {format_money_grouped(form.amount.cents or 0)} {rnd.currency} saved.", "success")
            return redirect(url_for(".mine", round_id=round_id))
    preview = scope_preview.preview_of(challenges, form.scope_payload())
    return render_template("pledges/form.html", rnd=rnd, form=form, key=None, preview=preview,
                           previewing=_previewing()), status(form)


def _labels(form: PledgeForm, currency: str) -> None:
    form.amount.label.text = f"Amount ({currency})"
    form.min_spend.label.text = f"Minimum spend ({currency})"
    for entry in form.conditions.entries:
        entry.form.min.label.text = f"pays at least ({currency})"


def _prefill(form: PledgeForm, row: Any) -> None:
    """The stored pledge into the edit form."""
    scope = row.scope or {}
    form.amount.data = format_money_grouped(row.amount_cents)
    for name in scope_preview.SCOPE_KEYS:
        getattr(form, name).data = list(scope.get(name, []))
    form.max_share.data = _percent(row.max_share)
    form.max_challenge_share.data = _percent(row.max_challenge_share)
    form.min_spend.data = "" if row.min_spend_cents is None else format_money_grouped(row.min_spend_cents)
    form.match.data = "" if row.match is None else f"{row.match:g}"
    form.listed.data = row.listed
    form.rollover.data = row.rollover
    for entry, condition in zip(form.conditions.entries, _conditions(row)):
        entry.form.funder.data = condition["funder"]
        entry.form.min.data = format_money_grouped(condition["min_cents"])


def _percent(share: float | None) -> str:
    return "" if share is None else f"{Decimal(str(share)) * 100:f}".rstrip("0").rstrip(".")


def _conditions(row: Any) -> list[dict[str, Any]]:
    """A stored pledge's conditions as [{"funder": key, "min_cents": int}]."""
    return list(row.conditions or [])


@bp.route("/preview")
def preview_fragment(round_id: int) -> ResponseReturnValue:
    """The live list of the pledge form (static/scope_preview.js): what the scope in the query string
    (challenges=..&tags=..&all_tags=..&exclude_tags=..&components=..) admits, as the form's #preview holds
    it. Reads only the round's public figures; saves nothing."""
    _require_funder()
    scope = {k: request.args.getlist(k)[:1000] for k in scope_preview.SCOPE_KEYS}
    with sessions().begin() as session:
        rnd = get_round(session, round_id)
        preview = scope_preview.preview(session, round_id, {k: v for k, v in scope.items() if v} or None)
    return render_template("pledges/_preview.html", rnd=rnd, preview=preview, previewing=True)


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
        if not form.is_submitted():
            while len(form.conditions.entries) < min(len(_conditions(row)), form.conditions.max_entries):
                form.conditions.append_entry()
            _prefill(form, row)
        challenges = _choices(session, round_id, form, frozenset(c["funder"] for c in _conditions(row)))
        _labels(form, rnd.currency)
    if not _previewing() and form.validate_on_submit():
        if _save(form, round_id, key) is not None:
            flash(f"Pledge {key} changed.", "success")
            return redirect(url_for(".mine", round_id=round_id))
    preview = scope_preview.preview_of(challenges, form.scope_payload())
    return render_template("pledges/form.html", rnd=rnd, form=form, key=key, preview=preview,
                           previewing=_previewing()), status(form)


@bp.route(KEY + "/deposit", methods=["POST"])
def deposit(round_id: int, key: str) -> ResponseReturnValue:
    """Record money paid in for a committed pledge (its funder, or an admin for a bank transfer)."""
    form = DepositForm()

    def change(session: Session) -> None:
        services.record_deposit(session, current(), round_id, key,
                                {"amount": None if form.amount.cents is None else format_money(form.amount.cents),
                                 "reference": form.reference.data or ""})

    return reasoned_change(form, change, redirect(url_for(".mine", round_id=round_id) + f"#pledge-{key}"),
                           failed=f"No deposit recorded for pledge {key}",
                           success=lambda: f"Deposit of {format_money_grouped(form.amount.cents or 0)} recorded "
                                           f"for pledge {key}.")


@bp.route(KEY + "/withdraw", methods=["POST"])
def withdraw(round_id: int, key: str) -> ResponseReturnValue:
    _require_funder()
    if ActionForm().validate_on_submit():
        with sessions().begin() as session:
            services.withdraw_pledge(session, current(), round_id, key)
        flash(f"Pledge {key} withdrawn.", "success")
    return redirect(url_for(".mine", round_id=round_id))
