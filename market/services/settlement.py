"""After the clearing, money as a ledger (issue 17, first step): committing a cleared round's result, recording
what funders pay in, and checking the ledger.

Committing turns every flow of the result run into a commitment of that pledge into escrow for that component
(market/ledger.py), once: a committed round is not cleared again (its money is promised). The funder of a
pledge, or an admin for a bank transfer, records deposits against what the pledge owes; payment rails stay
outside, behind `DepositRail` (the manual, recorded one is the default).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from .. import ledger, schemas
from ..errors import Forbidden, InvalidInput, WrongState
from solver.money import format_money, parse_money

from ..ledger import Posting
from ..repair_market import new_awards
from ..split import split_table
from ..models import (Account, Award, AwardFailure, BidItem, Challenge, ClearingRun, Component, DeliveryReport, Dispute,
                      DisputeState, Flow, LedgerEntry, LedgerTransaction, Milestone, MilestoneFunding, MilestoneKind,
                      MilestoneState,
                      Pledge, SETTLED_STATES, Role, RoundStatus, ReportState, RoundActor, SettlementTerms, User, utcnow)
from . import notifications
from .access import pledge_for
from .clearing import audit_who, result_run
from .common import STAFF, audit, get_round, lock_round, require_role

COMMIT = "commit"


@dataclass(frozen=True)
class Terms:
    """A round's settlement terms: the share of each item's price held back until the thing has kept working
    for the service period, and a verifier's time to review a delivery report."""
    holdback_percent: int = 10
    service_days: int = 90
    review_days: int = 14
    delivery_days: int = 180            # from the commit to the deadline of each delivery report
    holdback_report_days: int = 30      # from the end of the service period to the holdback report's deadline


DEFAULT_TERMS = Terms()
DEPOSIT = "deposit"


def is_committed(session: Session, round_id: int) -> bool:
    return bool(session.scalar(select(exists().where(LedgerTransaction.round_id == round_id,
                                                     LedgerTransaction.kind == COMMIT))))


def commit_run(session: Session, user: User | None, round_id: int) -> LedgerTransaction:
    """Commit the round's result: one transaction, escrow(p, k) += flow, commitment(p) -= flow, per flow."""
    require_role(user, STAFF, "commit clearings")
    rnd = lock_round(session, round_id)
    if rnd.status != RoundStatus.CLEARED:
        raise WrongState(f"round {round_id} is {rnd.status}; only a cleared round's result can be committed")
    if is_committed(session, round_id):
        raise WrongState(f"round {round_id}'s clearing is committed already")
    run = result_run(session, round_id)
    assert run is not None                      # a cleared round has its result
    flows = session.scalars(select(Flow).where(Flow.run_id == run.id).order_by(Flow.id)).all()
    if not flows:
        raise WrongState(f"round {round_id}'s result moves no money: there is nothing to commit")
    postings = [p for flow in flows for p in (
        Posting(Account.ESCROW, flow.pledge_id, flow.amount_cents, flow.component_id),
        Posting(Account.COMMITMENT, flow.pledge_id, -flow.amount_cents))]
    row = ledger.post(session, round_id, COMMIT, postings, audit_who(user), memo=f"clearing run {run.id}",
                      run_id=run.id)
    made = make_milestones(session, round_id, run, flows)
    notifications.tell_commit(session, round_id, set(session.scalars(
        select(Milestone.actor_id).where(Milestone.round_id == round_id))))
    total = sum(flow.amount_cents for flow in flows)
    audit(session, user, "commit", "round", round_id, round_id, run=run.id, transaction=row.id,
          flows=len(flows), committed_cents=total, milestones=made)
    return row


def make_milestones(session: Session, round_id: int, run: ClearingRun, flows: Sequence[Flow]) -> int:
    """One delivery milestone per awarded item (its price less the holdback) and one holdback milestone (paid
    after the service period), each funded by the flows into the item's component: split over the items on
    the component in proportion to their prices, then over the two milestones, in whole cents with every total
    exact (market/split.py). Returns how many milestones were made."""
    into: dict[int, list[Flow]] = {}
    for flow in flows:
        into.setdefault(flow.component_id, []).append(flow)
    items = session.execute(
        select(Award, BidItem).join(BidItem, BidItem.bid_id == Award.bid_id).where(Award.run_id == run.id)
        .order_by(BidItem.component_id, Award.id, BidItem.id)).all()
    on_component: dict[int, list[tuple[Award, BidItem]]] = {}
    for award, item in items:
        on_component.setdefault(item.component_id, []).append((award, item))
    quantities = dict(session.execute(select(Component.id, Component.quantity)
                                      .where(Component.id.in_(list(on_component)))).all())
    agreed = terms(session, round_id)
    due = utcnow() + timedelta(days=agreed.delivery_days)
    made = 0
    for component_id, awarded in on_component.items():
        funders = sorted(into.get(component_id, []), key=lambda f: f.pledge_id)
        prices = [item.price_cents for _, item in awarded]
        if sum(prices) != sum(f.amount_cents for f in funders):
            raise WrongState(f"component {component_id}: its flows do not pay its accepted prices exactly; "
                             "nothing was committed")
        per_item = split_table(prices, [f.amount_cents for f in funders])
        for (award, item), parts in zip(awarded, per_item):
            made += item_milestones(session, round_id, award, item, item.quantity or quantities[component_id],
                                    item.price_cents,
                                    list(zip([f.pledge_id for f in funders], parts)), agreed, due)
    session.flush()
    return made


def item_milestones(session: Session, round_id: int, award: Award, item: BidItem, quantity: int, price_cents: int,
                    funding: list[tuple[int, int]], agreed: Terms, due: datetime) -> int:
    """The delivery milestone of an awarded item (its price less the holdback) and its holdback, funded by
    `funding` ((pledge id, cents) summing to the price), split over the two in whole cents; how many were made."""
    held = price_cents * agreed.holdback_percent // 100
    steps: list[tuple[MilestoneKind, int, int | None]] = [(MilestoneKind.DELIVERY, price_cents - held, None)]
    if held:
        steps.append((MilestoneKind.HOLDBACK, held, agreed.service_days))
    split = split_table([amount for _, amount, _ in steps], [cents for _, cents in funding])
    for (kind, amount, days), paid in zip(steps, split):
        milestone = Milestone(round_id=round_id, award_id=award.id, bid_item_id=item.id,
                              component_id=item.component_id, actor_id=award.actor_id, kind=kind.value,
                              quantity=quantity, amount_cents=amount, service_days=days,
                              due_at=due if kind == MilestoneKind.DELIVERY else None)
        session.add(milestone)
        session.flush()
        session.add_all(MilestoneFunding(milestone_id=milestone.id, pledge_id=pledge_id, amount_cents=cents)
                        for (pledge_id, _), cents in zip(funding, paid) if cents)
    return len(steps)



def terms(session: Session, round_id: int) -> Terms:
    row = session.get(SettlementTerms, round_id)
    return DEFAULT_TERMS if row is None else Terms(row.holdback_percent, row.service_days, row.review_days,
                                                   row.delivery_days, row.holdback_report_days)


def set_terms(session: Session, user: User | None, round_id: int, data: dict[str, Any]) -> Terms:
    """Change some of the round's terms (analysts, admins), until its clearing is committed: the milestones
    made then follow them. Audited "terms", with the terms before and after."""
    require_role(user, STAFF, "set settlement terms")
    values = schemas.load(schemas.made(schemas.TermsSchema), data, partial=True)
    lock_round(session, round_id)
    if is_committed(session, round_id):
        raise WrongState(f"round {round_id}'s clearing is committed: its milestones follow the terms it had then")
    before = terms(session, round_id)
    after = dataclasses.replace(before, **values)
    row = session.get(SettlementTerms, round_id)
    if row is None:
        row = SettlementTerms(round_id=round_id)
        session.add(row)
    for name, value in dataclasses.asdict(after).items():
        setattr(row, name, value)
    row.changed_at = utcnow()
    session.flush()
    audit(session, user, "terms", "round", round_id, round_id, before=dataclasses.asdict(before),
          after=dataclasses.asdict(after))
    return after


class DepositRail(Protocol):
    """Where a deposit comes from. Real rails (bank, mobile money) are outside this issue; they would
    confirm a deposit before it is recorded."""
    @property
    def name(self) -> str: ...

    def confirm(self, pledge: Pledge, amount_cents: int, reference: str) -> str: ...


@dataclass(frozen=True)
class ManualRail:
    """The default: the funder (or an admin, for a bank transfer) says it paid; the reference is kept."""
    name: str = "manual"

    def confirm(self, pledge: Pledge, amount_cents: int, reference: str) -> str:
        return reference


def record_deposit(session: Session, user: User | None, round_id: int, pledge_key: str, data: dict[str, Any],
                   rail: DepositRail = ManualRail()) -> LedgerTransaction:
    """Record money paid in for pledge `pledge_key`, `data` = {"amount": money, "reference": text}: at most
    what the pledge owes (committed less deposited). Its funder or an admin; another funder gets "no pledge"."""
    values = schemas.load(schemas.made(schemas.DepositSchema), data)
    lock_round(session, round_id, shared=True)
    pledge = pledge_for(session, user, round_id, pledge_key)
    if user is not None and user.role == Role.ANALYST:
        raise Forbidden("deposits are recorded by the pledge's funder, or by an admin for a bank transfer")
    require_role(user, (Role.FUNDER, Role.ADMIN), "record deposits")
    owed = pledge_money(session, pledge.id).owed
    amount = values["amount"]
    if owed <= 0:
        raise WrongState(f"pledge {pledge_key!r} owes nothing: "
                         + ("its round's clearing is not committed" if not is_committed(session, round_id)
                            else "it is deposited in full"))
    if amount > owed:
        raise InvalidInput({"amount": f"at most what the pledge owes, {format_money(owed)}"})
    reference = rail.confirm(pledge, amount, values["reference"])
    row = ledger.post(session, round_id, DEPOSIT, [Posting(Account.CASH, pledge.id, amount),
                                                   Posting(Account.DEPOSIT, pledge.id, -amount)],
                      audit_who(user), memo=f"{rail.name}: {reference}")
    audit(session, user, "deposit", "pledge", pledge.id, round_id, key=pledge_key, amount_cents=amount,
          rail=rail.name, reference=reference, transaction=row.id)
    return row


def pledge_money(session: Session, pledge_id: int) -> ledger.PledgeMoney:
    return pledges_money(session, [pledge_id])[pledge_id]


def check_ledger(session: Session, round_id: int) -> list[str]:
    """Every invariant of the round's ledger, from its entries (market/ledger.py `check`); [] when it holds."""
    committed = session.scalar(select(LedgerTransaction.run_id).where(
        LedgerTransaction.round_id == round_id, LedgerTransaction.kind == COMMIT).order_by(LedgerTransaction.id))
    prices: dict[int, int] = {}
    if committed is not None:
        run = session.get(ClearingRun, committed)
        assert run is not None
        rows = session.execute(select(BidItem.component_id, BidItem.price_cents)
                               .join(Award, Award.bid_id == BidItem.bid_id).where(Award.run_id == run.id))
        for component_id, price in rows:
            prices[component_id] = prices.get(component_id, 0) + price
        for component_id, price in repair_prices(session, round_id).items():
            prices[component_id] = prices.get(component_id, 0) + price
    funded = session.execute(
        select(MilestoneFunding.pledge_id, Milestone.component_id, func.sum(MilestoneFunding.amount_cents))
        .join(Milestone, Milestone.id == MilestoneFunding.milestone_id).where(Milestone.round_id == round_id)
        .group_by(MilestoneFunding.pledge_id, Milestone.component_id)).all()
    funding = {(pledge_id, component_id): int(cents) for pledge_id, component_id, cents in funded}
    # What verifications released: accepted reports, and disputes an analyst decided for the actor.
    released: dict[int, int] = {}
    for milestone_id, cents in session.execute(
            select(DeliveryReport.milestone_id, DeliveryReport.released_cents).where(
                DeliveryReport.round_id == round_id, DeliveryReport.state == ReportState.ACCEPTED)):
        released[milestone_id] = released.get(milestone_id, 0) + (cents or 0)
    for milestone_id, cents in session.execute(
            select(Dispute.milestone_id, Dispute.released_cents).where(
                Dispute.round_id == round_id, Dispute.state == DisputeState.FOR_ACTOR)):
        released[milestone_id] = released.get(milestone_id, 0) + (cents or 0)
    amounts = dict(session.execute(select(Milestone.id, Milestone.amount_cents)
                                   .where(Milestone.round_id == round_id)).all())
    return ledger.check(ledger.facts(session, round_id, prices, funding if committed is not None else None,
                                     released, amounts))


def repair_prices(session: Session, round_id: int) -> dict[int, int]:
    """Per component, the prices of the awards committed repairs added (issue 18: standby bids called in), as
    their runs priced them (a standby price may differ from the bid's own)."""
    out: dict[int, int] = {}
    resolved = select(AwardFailure.resolved_run_id).where(AwardFailure.round_id == round_id)
    runs = session.scalars(select(ClearingRun).where(ClearingRun.id.in_(resolved)).order_by(ClearingRun.id))
    paths = {f"{c}/{k}": cid for c, k, cid in session.execute(
        select(Challenge.key, Component.key, Component.id).join(Component.challenge)
        .where(Challenge.round_id == round_id))}
    for run in runs:
        for award in new_awards(run.market, run.allocation):
            for item in award["items"]:
                cents = parse_money(item["price"])
                out[paths[item["component"]]] = out.get(paths[item["component"]], 0) + cents
    return out


@dataclass(frozen=True)
class RoundMoney:
    committed: bool
    committed_cents: int
    deposited_cents: int
    phase: str                  # after the clearing: committed, delivering, settled (`phase`); else the status


def phase(session: Session, round_id: int) -> str:
    """Where a round is after its clearing: committed (money in escrow, no report yet), delivering (reports,
    reviews, payouts under way), settled (every milestone paid, refunded or written off, nothing in escrow, no
    dispute open); before its commit, its status (draft, open, closed, cleared)."""
    status = get_round(session, round_id).status
    if not is_committed(session, round_id):
        return status
    states = list(session.scalars(select(Milestone.state).where(Milestone.round_id == round_id)))
    escrow = session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).join(LedgerTransaction)
                            .where(LedgerTransaction.round_id == round_id, LedgerEntry.account == Account.ESCROW))
    if int(escrow or 0) == 0 and all(s in SETTLED_STATES for s in states):
        return "settled"
    if any(s != MilestoneState.OPEN for s in states):
        return "delivering"
    return "committed"


def round_money(session: Session, round_id: int) -> RoundMoney:
    """The round's totals from its ledger: whether its result is committed, how much, how much is deposited."""
    entries = session.execute(
        select(*ledger.ENTRY_COLUMNS).join(LedgerTransaction).where(LedgerTransaction.round_id == round_id))
    money = ledger.money_by_pledge(entries).values()
    return RoundMoney(is_committed(session, round_id), sum(m.committed for m in money),
                      sum(m.deposited for m in money), phase(session, round_id))


def pledges_money(session: Session, pledge_ids: list[int]) -> dict[int, ledger.PledgeMoney]:
    """Each pledge's money from the ledger (a pledge with no entries: all zero)."""
    entries = session.execute(select(*ledger.ENTRY_COLUMNS).where(LedgerEntry.pledge_id.in_(pledge_ids)))
    found = ledger.money_by_pledge(entries)
    return {p: found.get(p, ledger.PledgeMoney()) for p in pledge_ids}


@dataclass(frozen=True)
class MilestoneView:
    """A milestone as its actor, a funder or an analyst reads it (no funder names: those are the funders')."""
    id: int
    component: str              # "challenge/component"
    kind: str
    quantity: int
    amount_cents: int
    state: str
    service_days: int | None


def bid_milestones(session: Session, bid_ids: list[int]) -> dict[int, list[MilestoneView]]:
    """The milestones of each awarded bid (of the committed clearing), in order."""
    rows = session.execute(
        select(Milestone, Award.bid_id, Challenge.key, Component.key)
        .join(Award, Award.id == Milestone.award_id).join(Component, Component.id == Milestone.component_id)
        .join(Challenge, Challenge.id == Component.challenge_id)
        .where(Award.bid_id.in_(bid_ids)).order_by(Milestone.id)).all()
    out: dict[int, list[MilestoneView]] = {}
    for m, bid_id, challenge, component in rows:
        out.setdefault(bid_id, []).append(MilestoneView(m.id, f"{challenge}/{component}", m.kind, m.quantity,
                                                        m.amount_cents, m.state, m.service_days))
    return out


@dataclass(frozen=True)
class FundedMilestone:
    """What one pledge pays of one milestone, as its funder reads it."""
    milestone: MilestoneView
    actor: str                  # who delivers it (awards are public)
    paid_cents: int             # this pledge's part of the milestone's amount


def pledge_milestones(session: Session, pledge_ids: list[int]) -> dict[int, list[FundedMilestone]]:
    """For each pledge, the milestones its committed money funds, in order."""
    rows = session.execute(
        select(MilestoneFunding.pledge_id, MilestoneFunding.amount_cents, Milestone, RoundActor, Challenge.key,
               Component.key)
        .join(Milestone, Milestone.id == MilestoneFunding.milestone_id)
        .join(RoundActor, RoundActor.id == Milestone.actor_id)
        .join(Component, Component.id == Milestone.component_id).join(Challenge, Challenge.id == Component.challenge_id)
        .where(MilestoneFunding.pledge_id.in_(pledge_ids)).order_by(Milestone.id)).all()
    out: dict[int, list[FundedMilestone]] = {}
    for pledge_id, cents, m, actor, challenge, component in rows:
        view = MilestoneView(m.id, f"{challenge}/{component}", m.kind, m.quantity, m.amount_cents, m.state,
                             m.service_days)
        out.setdefault(pledge_id, []).append(FundedMilestone(view, actor.name or actor.key, cents))
    return out
