"""Clearing a round: snapshot, solve, verify, record; the round is untouched unless all succeed.

Three steps, so no write transaction is held open during a solve that may take minutes:
  1. read the closed (or already cleared) round as a market document, in one transaction;
  2. parse it with the solver's loader, clear it, check the allocation with the engine's checker;
  3. in a second transaction, lock the round, make sure it is still closed or cleared and its
     document still has the same digest, then save the run with its awards and flows, mark it
     the result (earlier runs stay, no longer marked) and set the round cleared; an `infeasible` clearing
     (market format 1.1: fixed bids that cannot all be accepted) is saved as a run only (`record_run`).
Any failure before the second commit leaves the round exactly as it was. A solve that fails, in any way
the engine or a backend can fail, is a ClearingFailed that says why in the product's words (the checker's
sentences name the pledge or bid at fault), recorded in the audit log as "clear-failed" with that reason.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, sessionmaker

from solver.allocation import Allocation
from solver.clearing import ClearingError, ClearOptions, clear
from solver.loading import MarketError
from solver.market import Market
from solver.verify import verify_allocation

from ..errors import ClearingFailed, Conflict, WrongState
from ..models import (Award, Bid, Challenge, ClearingRun, Component, Flow, LedgerTransaction, Pledge, Round,
                      RoundStatus, User)
from ..snapshot import digest, round_document, to_market
from .common import STAFF, audit, lock_round, require_role, touch

CLEARABLE = (RoundStatus.CLOSED, RoundStatus.CLEARED)
INFEASIBLE = "infeasible"           # market format 1.1: no allocation accepts every fixed bid

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cleared:
    run_id: int
    round_id: int
    market: Market
    allocation: Allocation


def clear_round(sessions: sessionmaker[Session], user: User | None, round_id: int,
                options: ClearOptions = ClearOptions()) -> Cleared:
    """Clear a closed round (or re-clear a cleared one). Owns its transactions, hence the sessionmaker."""
    with sessions.begin() as session:
        document, fingerprint = snapshot_for_clearing(session, user, round_id)
    try:
        market, allocation = solve(document, round_id, options)
    except ClearingFailed as exc:
        with sessions.begin() as session:
            audit(session, user, "clear-failed", "round", round_id, round_id, reason=str(exc),
                  backend=options.backend, digest=fingerprint)
        raise
    with sessions.begin() as session:
        run = record_run(session, user, round_id, document, fingerprint, allocation)
        run_id = run.id
    return Cleared(run_id=run_id, round_id=round_id, market=market, allocation=allocation)


def snapshot_for_clearing(session: Session, user: User | None, round_id: int) -> tuple[dict[str, Any], str]:
    require_role(user, STAFF, "clear rounds")
    rnd = lock_round(session, round_id)
    require_clearable(session, rnd)
    document = round_document(session, rnd)
    return document, digest(document)


def solve(document: dict[str, Any], round_id: int, options: ClearOptions) -> tuple[Market, Allocation]:
    try:
        market = to_market(document, f"round {round_id}")
    except MarketError as exc:
        raise ClearingFailed(f"round {round_id} is not a valid market: {exc}") from None
    try:
        allocation = clear(market, options)
    except ClearingError as exc:
        raise ClearingFailed(f"round {round_id} could not be cleared: {exc}") from None
    except Exception as exc:        # a backend's own crash (highspy, PuLP, a solver binary): said, not a 500
        logger.exception("clearing round %s failed", round_id)
        raise ClearingFailed(f"round {round_id} could not be cleared: the {options.backend} solver failed "
                             f"({type(exc).__name__}: {exc})") from None
    problems = verify_allocation(market, allocation.to_document())
    if problems:
        raise ClearingFailed(f"round {round_id}: the allocation fails the checker: " + "; ".join(problems[:5]))
    return market, allocation


def record_run(session: Session, user: User | None, round_id: int, document: dict[str, Any], fingerprint: str,
               allocation: Allocation) -> ClearingRun:
    """Save a clearing as the round's result, if the round is still what was cleared. An `infeasible` one
    (version 1.1: its fixed bids cannot all be accepted) is saved as a run for the analysts to read, with its
    reasons, but is no result: the round keeps its status and its result, so that bids can still be unfixed
    or excluded (only while open or closed) and the round cleared again."""
    require_role(user, STAFF, "clear rounds")
    rnd = lock_round(session, round_id)
    require_clearable(session, rnd)
    if digest(round_document(session, rnd)) != fingerprint:
        raise Conflict(f"round {round_id} changed while it was being cleared; nothing was recorded, clear it again")
    solver = allocation.solver
    result = allocation.status != INFEASIBLE
    run = ClearingRun(round_id=rnd.id, digest=fingerprint, backend=str(solver.get("backend", "")),
                      status=allocation.status, seconds=float(solver.get("seconds", 0.0)),
                      value=float(allocation.value), cost_cents=allocation.cost, market=document,
                      allocation=allocation.to_document(), is_result=result, created_by=audit_who(user))
    if not result:
        session.add(run)
        session.flush()
        audit(session, user, "clear-infeasible", "round", rnd.id, rnd.id, run=run.id, digest=fingerprint,
              backend=run.backend, reasons=sorted({r for u in allocation.unfunded for r in u.reasons})[:20])
        return run
    session.execute(update(ClearingRun).where(ClearingRun.round_id == rnd.id, ClearingRun.is_result.is_(True))
                    .values(is_result=False))
    session.add(run)
    session.flush()
    save_awards(session, run, rnd.id, allocation)
    save_flows(session, run, rnd.id, allocation)
    before = rnd.status
    rnd.status = RoundStatus.CLEARED.value
    touch(rnd)
    session.flush()
    audit(session, user, "clear", "round", rnd.id, rnd.id, run=run.id, before=before, digest=fingerprint,
          status=run.status, value=allocation.value, cost_cents=run.cost_cents, backend=run.backend)
    return run


def save_awards(session: Session, run: ClearingRun, round_id: int, allocation: Allocation) -> None:
    bids = {key: (bid_id, actor_id) for key, bid_id, actor_id in session.execute(
        select(Bid.key, Bid.id, Bid.actor_id).where(Bid.round_id == round_id))}
    for award in allocation.awards:
        bid_id, actor_id = bids[award.bid]
        session.add(Award(run_id=run.id, bid_id=bid_id, actor_id=actor_id, price_cents=award.price))
    session.flush()


def save_flows(session: Session, run: ClearingRun, round_id: int, allocation: Allocation) -> None:
    pledges = dict(session.execute(select(Pledge.key, Pledge.id).where(Pledge.round_id == round_id)).all())
    components = {f"{c}/{k}": cid for c, k, cid in session.execute(
        select(Challenge.key, Component.key, Component.id).join(Component.challenge)
        .where(Challenge.round_id == round_id))}
    for flow in allocation.flows:
        session.add(Flow(run_id=run.id, pledge_id=pledges[flow.pledge], component_id=components[flow.component],
                         amount_cents=flow.amount))
    session.flush()


def result_run(session: Session, round_id: int) -> ClearingRun | None:
    return session.execute(select(ClearingRun).where(ClearingRun.round_id == round_id,
                                                     ClearingRun.is_result.is_(True))).scalar_one_or_none()


def runs(session: Session, round_id: int) -> list[ClearingRun]:
    return list(session.execute(select(ClearingRun).where(ClearingRun.round_id == round_id)
                                .order_by(ClearingRun.id)).scalars())


def audit_who(user: User | None) -> str:
    return "cli" if user is None else user.email


def require_clearable(session: Session, rnd: Round) -> None:
    """Closed or cleared, and its result not committed (services/settlement.py)."""
    if rnd.status not in CLEARABLE:
        hint = ": close it first" if rnd.status == RoundStatus.OPEN else ""
        raise WrongState(f"round {rnd.id} is {rnd.status}; only a closed or cleared round can be cleared{hint}")
    # Its money is promised once committed (services/settlement.py): the result stands.
    if session.scalar(select(exists().where(LedgerTransaction.round_id == rnd.id, LedgerTransaction.kind == "commit"))):
        raise WrongState(f"round {rnd.id}'s clearing is committed: its money is promised, so it cannot be cleared "
                         "again")


