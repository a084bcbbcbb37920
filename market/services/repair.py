"""When an actor fails (issue 18): marking an award failed, queueing and recording a repair clearing of the
challenges it touches (market/repair_market.py), and committing the repair once an analyst has reviewed it.

Money, in one "repair" ledger transaction at the commit (market/ledger.py):
  the failed awards' milestones     what they still hold in escrow goes back to each pledge that gave it
                                    (refund entries naming the milestone), in full: the failed work is not paid;
  contracts under way               on a completed challenge, their unpaid milestones are funded as the repair's
                                    flows say (their funding rows rewritten, the escrow moved by the difference:
                                    escrow(p, k) +d, commitment(p) -d); on a challenge that cannot be completed,
                                    they are cancelled and their escrow refunded, as for the failed awards;
  new awards (standby bids called)  committed as at the round's clearing: escrow(p, k) +a, commitment(p) -a, with
                                    a delivery milestone and a holdback per item, on the round's terms.
So a pledge's net commitment (committed less refunded) never grows: the repair only spends money it had in
escrow on those challenges, and what it does not spend goes back. Money already released stays released: it was
paid for verified work, and statements show it as spent on delivered work.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from solver.allocation import Allocation
from solver.money import format_money_grouped, parse_money

from .. import ledger, schemas
from ..errors import Conflict, InvalidInput, NotFound, WrongState
from ..ledger import Posting
from ..models import (Account, Award, AwardFailure, Bid, BidItem, Challenge, ClearingRun, Component, DeliveryReport,
                      LedgerEntry, LedgerTransaction,
                      FailureState, ReportState,
                      Flow, Job, JobState, Milestone, MilestoneFunding, MilestoneState, Pledge, RoundActor,
                      User, utcnow)
from ..repair_market import (NotRepairable, RepairPlan, awarded_bid_ids, committed_at, committed_awards,
                             new_awards, repair_document, standby_open, standby_prices,
                             touched_challenge_ids, unspent_by_milestone)
from ..records import declared_reliability, records
from ..snapshot import digest
from ..split import split_table
from . import notifications
from .clearing import INFEASIBLE, audit_who
from .common import STAFF, audit, by_id, lock_round, require_role
from .jobs import _check_options, _finish, _own_running, add_job
from .settlement import is_committed, item_milestones, terms

REPAIR = "repair"
STOPPABLE = (MilestoneState.OPEN, MilestoneState.SUBMITTED, MilestoneState.REJECTED)


def fail_award(session: Session, user: User | None, award_id: Any, data: dict[str, Any]) -> AwardFailure:
    """An analyst marks an award of a committed clearing (or repair) failed, data = {reason}: its unpaid
    milestones stop (failed), their escrow waits for the repair. Refused while a dispute is open on it."""
    require_role(user, STAFF, "mark awards failed")
    values = schemas.load(schemas.made(schemas.ExclusionSchema), data)
    award = by_id(session, Award, award_id)
    if award is None:
        raise NotFound(f"no award {award_id}")
    run = session.get(ClearingRun, award.run_id)
    assert run is not None
    lock_round(session, run.round_id)
    if award.id not in {a.id for a in committed_awards(session, run.round_id)}:
        raise WrongState(f"award {award.id} is not a contract: only awards of a committed clearing or repair fail")
    if session.scalar(select(AwardFailure.id).where(AwardFailure.award_id == award.id)) is not None:
        raise WrongState(f"award {award.id} is marked failed already")
    milestones = list(session.scalars(select(Milestone).where(Milestone.award_id == award.id)
                                      .order_by(Milestone.id).with_for_update()))
    if any(m.state == MilestoneState.DISPUTED for m in milestones):
        raise WrongState(f"award {award.id} has a milestone in dispute: decide the dispute first")
    stopped = [m for m in milestones if m.state in STOPPABLE]
    if not stopped:
        raise WrongState(f"award {award.id} has nothing left to deliver: every milestone is paid or ended")
    for m in stopped:
        m.state = MilestoneState.FAILED.value
    close_reports(session, user, [m.id for m in stopped], f"the award failed: {values['reason']}")
    failure = AwardFailure(round_id=run.round_id, award_id=award.id, reason=values["reason"],
                           failed_by=audit_who(user))
    session.add(failure)
    session.flush()
    audit(session, user, "fail", "award", award.id, run.round_id, failure=failure.id, reason=values["reason"],
          stopped=[m.id for m in stopped])
    told = [notifications.actor_user(session, award.actor_id)]
    for m in stopped:
        told += notifications.funder_users(session, m.id)
    notifications.notify(session, told, "award failed", f"Award {award.id} was marked failed: {values['reason']}; "
                         f"its {len(stopped)} unpaid milestone(s) stopped, their escrow waits for a repair",
                         f"/failures/{failure.id}", run.round_id)
    return failure


def close_reports(session: Session, user: User | None, milestone_ids: list[int], why: str) -> None:
    """Reports still waiting on stopped milestones are closed as rejected, with why: no verifier reviews them."""
    for report in session.scalars(select(DeliveryReport).where(DeliveryReport.milestone_id.in_(milestone_ids),
                                                               DeliveryReport.state == ReportState.SUBMITTED)):
        report.state = ReportState.REJECTED.value
        report.reviewed_by, report.reviewer_id = audit_who(user), getattr(user, "id", None)
        report.reviewed_at, report.reason = utcnow(), why


def award_round_id(session: Session, user: User | None, award_id: Any) -> int:
    require_role(user, STAFF, "read awards")
    award = by_id(session, Award, award_id)
    if award is None:
        raise NotFound(f"no award {award_id}")
    run = session.get(ClearingRun, award.run_id)
    assert run is not None
    return run.round_id


def get_failure_any(session: Session, failure_id: Any) -> AwardFailure:
    """The failure, for whoever may act on its re-tender (the caller checks who, and says "no re-tender")."""
    failure = by_id(session, AwardFailure, failure_id)
    if failure is None:
        raise NotFound(f"no re-tender {failure_id} is open")
    return failure


def failed_actor(session: Session, failure: AwardFailure) -> int | None:
    return session.scalar(select(Award.actor_id).where(Award.id == failure.award_id))


def touched_challenges(session: Session, failure: AwardFailure) -> list[Challenge]:
    """The challenges the failed award's bid touches, in round order."""
    ids = touched_challenge_ids(session, [failure.award_id])
    return list(session.scalars(select(Challenge).where(Challenge.id.in_(ids))
                                .order_by(Challenge.position, Challenge.id)))


def get_failure(session: Session, user: User | None, failure_id: Any) -> AwardFailure:
    require_role(user, STAFF, "read award failures")
    failure = by_id(session, AwardFailure, failure_id)
    if failure is None:
        raise NotFound(f"no award failure {failure_id}")
    return failure


def round_failures(session: Session, user: User | None, round_id: int) -> list[AwardFailure]:
    require_role(user, STAFF, "read award failures")
    return list(session.scalars(select(AwardFailure).where(AwardFailure.round_id == round_id)
                                .order_by(AwardFailure.id)))


def repair_runs_of(session: Session, failure_id: int) -> list[ClearingRun]:
    """The repair runs of a failure (and of those repaired with it), oldest first."""
    return list(session.scalars(select(ClearingRun).where(ClearingRun.kind == REPAIR,
                                                          ClearingRun.failure_id == failure_id)
                                .order_by(ClearingRun.id)))


def repair_market(session: Session, user: User | None, failure_id: Any,
                  solved: dict[str, Any] | None = None) -> tuple[dict[str, Any], RepairPlan]:
    """The repair market of an open failure, as it would be solved now (analysts; `swarm repair market`); with
    the market a run `solved`, its bids' reliabilities as they were then (track records move on)."""
    failure = get_failure(session, user, failure_id)
    try:
        return repair_document(session, failure, solved_with=None if solved is None else reliabilities_in(solved))
    except NotRepairable as exc:
        raise WrongState(str(exc)) from None


def submit_repair(session: Session, user: User | None, failure_id: Any, *, backend: str = "cbc",
                  time_limit: float | None = None, gap: float | None = None) -> Job:
    """Queue a repair clearing of an open failure (a job of kind "repair"; one job per round at a time)."""
    failure = get_failure(session, user, failure_id)
    problems = _check_options(backend, time_limit, gap)
    if problems:
        raise InvalidInput(problems)
    lock_round(session, failure.round_id)
    if failure.state != FailureState.OPEN:
        raise WrongState(f"failure {failure.id} is {failure.state}: its repair is committed already")
    job = add_job(session, user, failure.round_id, kind=REPAIR, failure_id=failure.id, backend=backend,
                  explain=True, time_limit=time_limit, gap=gap)
    audit(session, user, "repair-queued", "job", job.id, failure.round_id, failure=failure.id, backend=backend)
    return job


def reliabilities_in(document: dict[str, Any]) -> dict[str, float]:
    return {b["id"]: float(b["reliability"]) for a in document.get("actors", []) for b in a.get("bids", [])
            if "reliability" in b}


def snapshot_for_repair(session: Session, user: User | None, failure_id: int) -> tuple[dict[str, Any], str]:
    document, _ = repair_market(session, user, failure_id)
    return document, digest(document)


def record_repair(session: Session, user: User | None, failure_id: int, document: dict[str, Any],
                  fingerprint: str, allocation: Allocation) -> ClearingRun:
    """Save a solved repair as a run of kind "repair" (never the round's result) with its new awards (the standby
    bids it calls) and its flows, if the failure's market is still what was solved."""
    require_role(user, STAFF, "repair awards")
    failure = get_failure(session, user, failure_id)
    lock_round(session, failure.round_id)
    now_document, plan = repair_market(session, user, failure_id, solved=document)
    if digest(now_document) != fingerprint:
        raise Conflict(f"failure {failure_id}'s challenges changed while the repair was solved; nothing was recorded, "
                       "repair again")
    solver = allocation.solver
    run = ClearingRun(round_id=failure.round_id, kind=REPAIR, failure_id=failure.id, digest=fingerprint,
                      backend=str(solver.get("backend", "")), status=allocation.status,
                      seconds=float(solver.get("seconds", 0.0)), value=float(allocation.value),
                      cost_cents=allocation.cost, market=document, allocation=allocation.to_document(),
                      is_result=False, created_by=audit_who(user))
    session.add(run)
    session.flush()
    called = plan.standby_bids | plan.tender_bids
    bids = {b.key: b for b in session.scalars(select(Bid).where(Bid.id.in_(list(called.values()))))}
    for award in allocation.awards:
        if award.bid in called:
            bid = bids[award.bid]
            session.add(Award(run_id=run.id, bid_id=bid.id, actor_id=bid.actor_id, price_cents=award.price))
    pledges = dict(session.execute(select(Pledge.key, Pledge.id).where(Pledge.round_id == failure.round_id)).all())
    components = {path: cid for cid, path in plan.component_paths.items()}
    for flow in allocation.flows:
        session.add(Flow(run_id=run.id, pledge_id=pledges[flow.pledge], component_id=components[flow.component],
                         amount_cents=flow.amount))
    session.flush()
    audit(session, user, "repair", "failure", failure.id, failure.round_id, run=run.id, status=run.status,
          value=allocation.value, cost_cents=run.cost_cents, digest=fingerprint)
    return run


def finish_repair(session: Session, job_id: int, worker: str, user: User | None, failure_id: int,
                  document: dict[str, Any], fingerprint: str, allocation: Allocation) -> Job | None:
    """As jobs.finish_clearing, for a repair job: record the repair run and mark the job succeeded, in one
    transaction; None (nothing written) if the job is no longer this worker's."""
    job = _own_running(session, job_id, worker)
    if job is None:
        return None
    run = record_repair(session, user, failure_id, document, fingerprint, allocation)
    job.run_id = run.id
    _finish(job, JobState.SUCCEEDED, None)
    return job


@dataclass(frozen=True)
class NewAward:
    bid: str
    actor: str                      # its name (or key)
    price_cents: int
    items: list[tuple[str, int]]    # component path, price


@dataclass(frozen=True)
class RepairReview:
    """What committing a repair run would do, for the analyst to read first."""
    run_id: int
    failure_id: int
    status: str
    failed: list[str]               # the failed awards' actors (names)
    completed: list[str]            # challenge ids the repair completes
    abandoned: list[str]            # challenge ids it cannot complete: their escrow goes back
    new_awards: list[NewAward]
    cost_cents: int                 # what the repair pays to actors (fixed bids' unpaid prices and new awards)
    new_cost_cents: int             # of which to the newly awarded
    in_escrow_cents: int            # the escrow the repair market had (re-tender money apart)
    refunded_cents: int             # what of that escrow goes back to the pledges
    reliability: dict[str, float]   # per completed challenge, with the repair
    committed: bool
    new_money_cents: int = 0        # of re-tender pledges, what the repair uses


def repair_run(session: Session, user: User | None, run_id: Any) -> ClearingRun:
    require_role(user, STAFF, "read repairs")
    run = by_id(session, ClearingRun, run_id)
    if run is None or run.kind != REPAIR:
        raise NotFound(f"no repair run {run_id}")
    return run


def review(session: Session, user: User | None, run_id: Any) -> RepairReview:
    run = repair_run(session, user, run_id)
    doc = run.allocation
    failure = session.get(AwardFailure, run.failure_id)
    assert failure is not None
    plan_failed = _failed_actor_names(session, run)
    infeasible = run.status == INFEASIBLE
    completed = [] if infeasible else [c["id"] for c in doc["challenges"] if c["completed"]]
    abandoned = [c["id"] for c in doc["challenges"] if infeasible or not c["completed"]]
    called = []
    actor_names = {a["id"]: a.get("name") or a["id"] for a in run.market["actors"]}
    for award in new_awards(run.market, doc):
        called.append(NewAward(award["bid"], actor_names.get(award["actor"], award["actor"]),
                                   parse_money(award["price"]), [(i["component"], parse_money(i["price"]))
                                                            for i in award["items"]]))
    # Re-tender pledges are new money until a repair commits them: what they do not spend was never committed, so
    # it does not "go back". (One committed by an earlier repair is escrow like any other here.)
    earlier = select(LedgerEntry.pledge_id).join(LedgerTransaction).where(
        LedgerTransaction.round_id == run.round_id, LedgerEntry.account == Account.COMMITMENT.value,
        (LedgerTransaction.run_id.is_(None)) | (LedgerTransaction.run_id != run.id))
    fresh = set(session.scalars(select(Pledge.key).where(Pledge.round_id == run.round_id,
                                                         Pledge.tender_failure_id.is_not(None),
                                                         Pledge.id.not_in(earlier))))
    amounts = {p["id"]: parse_money(p["amount"]) for f in run.market["funders"] for p in f["pledges"]}
    spent = {p["id"]: parse_money(p["spent"]) for p in doc["pledges"]}
    escrow = sum(cents for key, cents in amounts.items() if key not in fresh)
    back = sum(cents - spent.get(key, 0) for key, cents in amounts.items() if key not in fresh)
    return RepairReview(run.id, failure.id, run.status, plan_failed, completed, abandoned, called,
                        parse_money(doc["cost"]), sum(a.price_cents for a in called), escrow, back,
                        {c["id"]: c["reliability"] for c in doc["challenges"] if c["id"] in completed},
                        failure.resolved_run_id == run.id,
                        sum(spent.get(key, 0) for key in amounts if key in fresh))


def _failed_actor_names(session: Session, run: ClearingRun) -> list[str]:
    rows = session.execute(select(RoundActor.name, RoundActor.key).join(Award, Award.actor_id == RoundActor.id)
                           .join(AwardFailure, AwardFailure.award_id == Award.id)
                           .where(AwardFailure.round_id == run.round_id,
                                  (AwardFailure.state == FailureState.OPEN) | (AwardFailure.resolved_run_id == run.id))
                           .order_by(AwardFailure.id)).all()
    return [name or key for name, key in rows]


def commit_repair(session: Session, user: User | None, run_id: Any) -> AwardFailure:
    """Commit a reviewed repair run: move the money as the module says, make the new awards' milestones, resolve
    the failures it repairs. Refused if the failures' challenges changed since it was solved."""
    require_role(user, STAFF, "commit repairs")
    run = repair_run(session, user, run_id)
    lock_round(session, run.round_id)
    failure = session.get(AwardFailure, run.failure_id)
    assert failure is not None
    if failure.state != FailureState.OPEN:
        raise WrongState(f"failure {failure.id} is {failure.state}: its repair is committed already")
    if not is_committed(session, run.round_id):
        raise WrongState(f"round {run.round_id}'s clearing is not committed")
    try:
        document, plan = repair_document(session, failure, solved_with=reliabilities_in(run.market))
    except NotRepairable as exc:
        raise WrongState(str(exc)) from None
    if digest(document) != run.digest:
        raise Conflict(f"failure {failure.id}'s challenges changed since repair run {run.id} was solved (a payout, "
                       "a new failure, a standby offer withdrawn): repair again")
    moved = _move_money(session, user, run, plan)
    abandoned = moved["abandoned"]
    now = utcnow()
    for failure_id in plan.failure_ids:
        row = session.get(AwardFailure, failure_id)
        assert row is not None
        # Refunded when the repair completes none of the challenges; repaired when it completes some (the audit
        # row names any it abandoned).
        row.state = (FailureState.REFUNDED if set(abandoned) == set(plan.challenge_ids)
                     else FailureState.REPAIRED).value
        row.resolved_run_id = run.id
        row.resolved_at = now
    session.flush()
    audit(session, user, "repair-commit", "failure", failure.id, run.round_id, run=run.id,
          failures=plan.failure_ids, **{k: v for k, v in moved.items() if k != "told"})
    _tell(session, run, plan, moved)
    return failure


def _move_money(session: Session, user: User | None, run: ClearingRun, plan: RepairPlan) -> dict[str, Any]:
    doc = run.allocation
    infeasible = run.status == INFEASIBLE
    challenge_ids = dict(session.execute(select(Challenge.key, Challenge.id)
                                         .where(Challenge.id.in_(plan.challenge_ids))).all())
    completed = set() if infeasible else {challenge_ids[c["id"]] for c in doc["challenges"] if c["completed"]}
    component_challenge = dict(session.execute(select(Component.id, Component.challenge_id)
                                               .where(Component.id.in_(list(plan.component_paths)))).all())
    by_path = {path: cid for cid, path in plan.component_paths.items()}
    pledge_ids = dict(session.execute(select(Pledge.key, Pledge.id).where(Pledge.round_id == run.round_id)).all())
    milestones = {m.id: m for m in session.scalars(select(Milestone).where(
        Milestone.id.in_(plan.failed + plan.under_way)).with_for_update())}
    unspent = unspent_by_milestone(session, sorted(milestones))
    postings: list[Posting] = []
    refunded = 0

    def give_back(m: Milestone) -> None:
        nonlocal refunded
        for pledge_id, cents in unspent[m.id].items():
            if cents > 0:
                postings.append(Posting(Account.REFUND, pledge_id, cents, m.component_id, m.id))
                postings.append(Posting(Account.ESCROW, pledge_id, -cents, m.component_id))
                refunded += cents

    for milestone_id in plan.failed:
        give_back(milestones[milestone_id])
    cancelled = []
    for milestone_id in plan.under_way:
        m = milestones[milestone_id]
        if component_challenge[m.component_id] not in completed:
            give_back(m)
            m.state = MilestoneState.CANCELLED.value
            cancelled.append(m.id)
    close_reports(session, user, cancelled, "cancelled: a repair could not complete its challenge")

    # What each pledge pays into each component, as the repair's flows say (only completed challenges have any).
    flows: dict[int, list[tuple[int, int]]] = {}
    if not infeasible:
        for flow in doc["flows"]:
            flows.setdefault(by_path[flow["component"]], []).append((pledge_ids[flow["pledge"]],
                                                                     parse_money(flow["amount"])))
    # The priced items on each component: under-way items (their unpaid milestones) and new awards' items.
    under_way_items: dict[int, list[list[Milestone]]] = {}
    by_item: dict[int, list[Milestone]] = {}
    for milestone_id in plan.under_way:
        m = milestones[milestone_id]
        if milestone_id not in cancelled:
            by_item.setdefault(m.bid_item_id, []).append(m)
    for ms in by_item.values():
        under_way_items.setdefault(ms[0].component_id, []).append(ms)
    awarded = list(session.scalars(select(Award).where(Award.run_id == run.id).order_by(Award.id)))
    new_items: dict[int, list[tuple[Award, BidItem, int]]] = {}
    prices = {(a["bid"], i["component"]): parse_money(i["price"]) for a in doc["awards"] for i in a["items"]}
    bid_keys = dict(session.execute(select(Bid.id, Bid.key).where(Bid.id.in_([a.bid_id for a in awarded]))).all())
    for award in awarded:
        for item in session.scalars(select(BidItem).where(BidItem.bid_id == award.bid_id).order_by(BidItem.position,
                                                                                                  BidItem.id)):
            price = prices[(bid_keys[award.bid_id], plan.component_paths[item.component_id])]
            new_items.setdefault(item.component_id, []).append((award, item, price))

    escrow_change: dict[tuple[int, int], int] = {}
    agreed = terms(session, run.round_id)
    due = utcnow() + timedelta(days=agreed.delivery_days)
    quantities = dict(session.execute(select(Component.id, Component.quantity)
                                      .where(Component.id.in_(list(plan.component_paths)))).all())
    made = 0
    for component_id in sorted(set(flows) | set(under_way_items) | set(new_items)):
        paying = sorted(flows.get(component_id, []))
        old_items = under_way_items.get(component_id, [])
        fresh = new_items.get(component_id, [])
        item_prices = [sum(m.amount_cents for m in ms) for ms in old_items] + [price for _, _, price in fresh]
        if sum(item_prices) != sum(cents for _, cents in paying):
            raise WrongState(f"component {plan.component_paths[component_id]}: the repair's flows do not pay its "
                             "items exactly; nothing was committed")
        per_item = split_table(item_prices, [cents for _, cents in paying])
        for ms, parts in zip(old_items, per_item[:len(old_items)]):
            per_milestone = split_table([m.amount_cents for m in ms], parts)
            for m, funding in zip(ms, per_milestone):
                for pledge_id, cents in unspent[m.id].items():
                    key = (pledge_id, component_id)
                    escrow_change[key] = escrow_change.get(key, 0) - cents
                session.execute(delete(MilestoneFunding).where(MilestoneFunding.milestone_id == m.id))
                for (pledge_id, _), cents in zip(paying, funding):
                    if cents:
                        session.add(MilestoneFunding(milestone_id=m.id, pledge_id=pledge_id, amount_cents=cents))
                        key = (pledge_id, component_id)
                        escrow_change[key] = escrow_change.get(key, 0) + cents
        for (award, item, price), parts in zip(fresh, per_item[len(old_items):]):
            made += item_milestones(session, run.round_id, award, item, item.quantity or quantities[component_id],
                                    price, [(pledge_id, cents) for (pledge_id, _), cents in zip(paying, parts)],
                                    agreed, due)
            for (pledge_id, _), cents in zip(paying, parts):
                key = (pledge_id, component_id)
                escrow_change[key] = escrow_change.get(key, 0) + cents
    commitment: dict[int, int] = {}
    for (pledge_id, component_id), cents in sorted(escrow_change.items()):
        if cents:
            postings.append(Posting(Account.ESCROW, pledge_id, cents, component_id))
            commitment[pledge_id] = commitment.get(pledge_id, 0) + cents
    for pledge_id, cents in sorted(commitment.items()):
        postings.append(Posting(Account.COMMITMENT, pledge_id, -cents))
    session.flush()
    transaction = None
    if any(p.amount_cents for p in postings):
        transaction = ledger.post(session, run.round_id, REPAIR, postings, audit_who(user),
                                  memo=f"repair run {run.id}", run_id=run.id).id
    return {"transaction": transaction, "refunded_cents": refunded, "cancelled": cancelled, "milestones": made,
            "abandoned": sorted(set(plan.challenge_ids) - completed), "new_awards": [a.id for a in awarded]}


def _tell(session: Session, run: ClearingRun, plan: RepairPlan, moved: dict[str, Any]) -> None:
    currency = run.market.get("currency", "USD")
    for award in session.scalars(select(Award).where(Award.run_id == run.id).order_by(Award.id)):
        notifications.notify(session, [notifications.actor_user(session, award.actor_id)], "standby called",
                             f"Your standby bid was called in to replace a failed award: you are awarded "
                             f"{format_money_grouped(award.price_cents)} {currency}; see your milestones",
                             f"/rounds/{run.round_id}/milestones", run.round_id)
    funders: list[int | None] = []
    for milestone_id in plan.failed + plan.under_way:
        funders += notifications.funder_users(session, milestone_id)
    text = (f"The repair of failure {', '.join(str(i) for i in plan.failure_ids)} was committed: "
            + (f"{format_money_grouped(moved['refunded_cents'])} {currency} of escrow went back to the pledges "
               "that gave it" if moved["abandoned"] else "the challenges go on with replacement actors"))
    notifications.notify(session, funders, "repair committed", text, f"/rounds/{run.round_id}/statement",
                         run.round_id)


@dataclass(frozen=True)
class Standby:
    bid: str
    actor: str
    price_cents: int                # on standby: its standby price, or its own
    reliability: float
    challenge_reliability: float    # the challenge's, were it to replace the award there


@dataclass(frozen=True)
class AwardInForce:
    """An award in force (of the committed clearing or a committed repair), with its standby alternatives per
    component: the losing bids standing by that cover that component, and the reliability its challenge would
    have with each in place of this award."""
    award_id: int
    bid: str
    actor: str
    price_cents: int
    reliability: float
    failure: str | None             # "open", "repaired", "refunded": marked failed
    record: str                     # its actor's track record, in words (market/records.py)
    components: list[tuple[str, float, list[Standby]]]    # path, its challenge's reliability now, standbys


def awards_in_force(session: Session, user: User | None, round_id: int, now: Any = None) -> list[AwardInForce]:
    """For analysts: each contract of the round, and the standby bids that could replace it (sealed bids: never
    shown to funders or other actors)."""
    require_role(user, STAFF, "read awards and standby bids")
    awards = committed_awards(session, round_id)
    failures = dict(session.execute(select(AwardFailure.award_id, AwardFailure.state)
                                    .where(AwardFailure.round_id == round_id)).all())
    bids = {b.id: b for b in session.scalars(select(Bid).where(Bid.round_id == round_id)
                                             .options(selectinload(Bid.items)))}
    actors = {a.id: a for a in session.scalars(select(RoundActor).where(RoundActor.round_id == round_id))}
    paths = {cid: (challenge_id, f"{c}/{k}") for cid, challenge_id, c, k in session.execute(
        select(Component.id, Challenge.id, Challenge.key, Component.key).join(Component.challenge)
        .where(Challenge.round_id == round_id))}

    def reliability(bid: Bid) -> float:
        return declared_reliability(bid, actors[bid.actor_id])

    alive = [a for a in awards if failures.get(a.id) is None]
    per_challenge: dict[int, float] = {}
    for award in alive:
        for challenge_id in {paths[i.component_id][0] for i in bids[award.bid_id].items}:
            per_challenge[challenge_id] = per_challenge.get(challenge_id, 1.0) * reliability(bids[award.bid_id])
    since, awarded = committed_at(session, round_id), awarded_bid_ids(session, round_id)
    now = now or utcnow()
    standing = [b for b in bids.values() if standby_open(b, since, now, awarded)]
    known = records(session, list(actors))
    out = []
    for award in awards:
        bid = bids[award.bid_id]
        rows = []
        for item in bid.items:
            challenge_id, path = paths[item.component_id]
            now_rel = per_challenge.get(challenge_id, 1.0)
            without = now_rel / reliability(bid) if failures.get(award.id) is None else now_rel
            options = [Standby(s.key, actors[s.actor_id].name or actors[s.actor_id].key, sum(standby_prices(s)),
                               reliability(s), without * reliability(s))
                       for s in sorted(standing, key=lambda b: (sum(standby_prices(b)), b.id))
                       if any(i.component_id == item.component_id for i in s.items)]
            rows.append((path, now_rel, options))
        found = known[bid.actor_id]
        out.append(AwardInForce(award.id, bid.key, actors[bid.actor_id].name or actors[bid.actor_id].key,
                                award.price_cents, reliability(bid), failures.get(award.id),
                                f"{found.verified} verified, {found.late} late, {found.failed} failed; by its record "
                                f"{found.estimate(reliability(bid)):.3f}", rows))
    return out
