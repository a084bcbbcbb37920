"""Funders' statements (issue 17): a statement per round (a page that prints cleanly, and CSV) and the
portfolio across rounds. A funder reads its own; analysts and admins read any funder's (?funder=KEY)."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from market.services import statements
from market.services.common import STAFF, get_round
from solver.money import format_money

from .auth import current
from .db import sessions

bp = Blueprint("statements", __name__)
ROUND = "/rounds/<int(max=9223372036854775807):round_id>"


@bp.before_request
@login_required
def _logged_in() -> None:
    return None


def _funder() -> str | None:
    return (request.args.get("funder") or "").strip()[:64] or None


@bp.route("/statements")
def portfolio() -> ResponseReturnValue:
    """Every round the funder pledged in: its money in each and in total (per currency)."""
    with sessions().begin() as session:
        found = statements.portfolio(session, current())
    totals: dict[str, dict[str, int]] = {}
    for s in found:
        into = totals.setdefault(s.currency, {})
        for name in ("pledged_cents", "committed_cents", "deposited_cents", "owed_cents", "released_cents",
                     "held_back_cents", "in_escrow_cents"):
            into[name] = into.get(name, 0) + getattr(s, name)
    return render_template("statements/portfolio.html", statements=found, totals=totals)


@bp.route(ROUND + "/statement")
def page(round_id: int) -> ResponseReturnValue:
    """A funder's own statement; analysts and admins choose a funder first (?funder=KEY)."""
    choosing = current().role in STAFF and _funder() is None
    with sessions().begin() as session:
        if choosing:
            rnd = get_round(session, round_id)
            funders = statements.round_funders(session, current(), round_id)
        else:
            found = statements.statement(session, current(), round_id, _funder())
    if choosing:        # rendered after the transaction, as every page (the inbox count reads in its own)
        return render_template("statements/choose.html", rnd=rnd, funders=funders)
    return render_template("statements/statement.html", s=found, funder_arg=_funder())


@bp.route(ROUND + "/statement.csv")
def csv_file(round_id: int) -> ResponseReturnValue:
    if current().role in STAFF and _funder() is None:
        return redirect(url_for(".page", round_id=round_id))       # choose whose statement first
    with sessions().begin() as session:
        found = statements.statement(session, current(), round_id, _funder())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(statements.CSV_HEADER)
    writer.writerows(statements.csv_rows(found, format_money))
    name = f"round-{round_id}-{found.funder_key}.statement.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "private, no-store"})
