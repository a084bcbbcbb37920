"""Rounds and challenges for everyone: the list, each challenge (gap signals while open, the outcome
after clearing), and the results with the Sankey diagram of money. Bids are never shown here:
while a round is open only whether a component has an eligible bid; after clearing only the awards,
and the rest as `market.sealing` lets the viewer see it."""
from __future__ import annotations

from pathlib import Path

import plotly
from flask import Blueprint, Response, render_template, send_from_directory
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session

from market import reads, sealing, services
from market.models import RoundStatus, utcnow
from market.services.common import as_utc, get_round

from .db import sessions

bp = Blueprint("challenges", __name__)

PLOTLY_DIR = Path(plotly.__file__).resolve().parent / "package_data"
ROUND = "/rounds/<int(max=9223372036854775807):round_id>"


def seer(session: Session, round_id: int) -> sealing.Viewer:
    """Who is looking, for what they may see of a cleared round (signed in or not)."""
    if current_user.is_authenticated:
        return sealing.viewer(session, current_user, round_id)
    return sealing.anonymous(session, round_id)


@bp.route("/")
def home() -> ResponseReturnValue:
    with sessions().begin() as session:
        rounds = reads.rounds(session)
    return render_template("home.html", rounds=rounds)


@bp.route(ROUND)
def round_page(round_id: int) -> ResponseReturnValue:
    with sessions().begin() as session:
        rnd = get_round(session, round_id)
        challenges = reads.challenge_rows(session, round_id)
        signals = reads.gap_signals(session, round_id, challenges) if rnd.status == RoundStatus.OPEN else None
        run = reads.result(session, round_id)
        outcomes = reads.challenge_outcomes(run, seer(session, round_id)) if run is not None else None
    return render_template("challenges/round.html", rnd=rnd, challenges=challenges, signals=signals,
                           outcomes=outcomes, accepting_closed=rnd.closes_at is not None
                           and as_utc(rnd.closes_at) <= utcnow())


@bp.route(ROUND + "/challenges/<string(maxlength=64):key>")
def challenge_page(round_id: int, key: str) -> ResponseReturnValue:
    with sessions().begin() as session:
        rnd = get_round(session, round_id)
        challenge = reads.challenge(session, round_id, key)
        signal = reads.gap_signals(session, round_id, [challenge])[0] if rnd.status == RoundStatus.OPEN else None
        run = reads.result(session, round_id)
        outcome = reads.challenge_outcomes(run, seer(session, round_id)).get(key) if run is not None else None
    return render_template("challenges/challenge.html", rnd=rnd, challenge=challenge, signal=signal,
                           outcome=outcome)


@bp.route(ROUND + "/progress")
def progress(round_id: int) -> ResponseReturnValue:
    """After the commit, for everyone: per challenge, milestones verified and money released (totals only)."""
    with sessions().begin() as session:
        rnd = get_round(session, round_id)
        found = services.progress.round_progress(session, round_id)
    return render_template("challenges/progress.html", rnd=rnd, progress=found)


@bp.route(ROUND + "/results")
def results(round_id: int) -> ResponseReturnValue:
    with sessions().begin() as session:
        rnd = get_round(session, round_id)
        run = reads.result(session, round_id)
        if run is not None:
            viewer = seer(session, round_id)
            outcomes = reads.challenge_outcomes(run, viewer)
            graph = reads.sankey(run, viewer)
            titles = {c["id"]: c.get("title") or c["id"] for c in run.market.get("challenges", [])}
            totals = reads.money_totals(run, viewer)
    # Rendered after the transaction: the page's context (the inbox count) reads in one of its own, and on SQLite
    # a second transaction waits for the first's lock.
    if run is None:
        return render_template("challenges/results.html", rnd=rnd, run=None), 200
    return render_template("challenges/results.html", rnd=rnd, run=run, outcomes=outcomes, graph=graph,
                           titles=titles, totals=totals,
                           staff=getattr(current_user, "role", "") in ("analyst", "admin"))


@bp.route("/vendor/plotly.min.js")
def plotly_js() -> Response:
    """plotly's own bundle from the installed package: no CDN."""
    return send_from_directory(PLOTLY_DIR, "plotly.min.js", mimetype="text/javascript", max_age=86400)
