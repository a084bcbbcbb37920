"""A repair market (issue 18): the challenges an award failure touches, re-cleared as a `swarm-market/1.1` document
that the engine, `swarm verify` and outside checkers read like any other market file.

What it holds, built from the database as the round stands now:
  challenges  every challenge a failed award's bid touches (and, transitively, those of any other open failure on
              them), with all their components, as in the round;
  fixed bids  every other award in force on them, restricted to its items on those challenges: an item whose
              milestones are all paid is priced 0, and a bid with nothing left to pay has reliability 1 (delivered
              and paid); otherwise each item is priced at what is still unpaid of it (its milestones not yet
              accepted), at the bid's declared reliability. An item written off (not delivered) is left out;
  standby     losing bids whose actor offered to stand by, still valid (the offer's days since the round's
              clearing was committed, not withdrawn, not already called) and wholly on those challenges, at their
              standby price, split over their items in proportion to their own prices;
  re-tender   the bids and new pledges made in the failures' re-tender (services/tender.py), as they are;
  money       each pledge's escrow still held for milestones on those challenges (those under way and those of
              the failed awards), as a pledge of that amount, with its scope, max_share, match,
              max_challenge_share and conditions; a condition's `min` is less what the named funder already paid
              out into each of those challenges (that work is priced 0 here), and a condition met already is
              left out. Its min_spend is not carried: the pledge already met it at the round's clearing, and the
              repair only moves money it committed then.
An award that failed once is never in force again, and an item whose delivery a repair cancelled or an analyst
wrote off is not delivered: the repair covers it again. The failing actor's own standby and re-tender bids are
left out, and so is a standby bid whose actor holds a contract of the same exclusive group anywhere in the round.
A round clearing on track records (market/records.py) repairs on them too, with the estimates as they were when
the run was solved (`solved_with`).
Capacity limits are not carried either: they bounded the round's clearing, and the repair only replaces work the
clearing had already given out.

Everything is in a fixed order, so the same state gives the same document and the same digest: a repair run is
committed only if the document still has the digest it was solved from (services/repair.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from solver.analysis.repair import narrow_scope
from solver.loading import FORMAT_1_1
from solver.money import format_money, parse_money

from .models import (Account, Award, AwardFailure, Bid, BidItem, Challenge, Component, FailureState,
                     LedgerEntry, LedgerTransaction, Milestone, MilestoneFunding, MilestoneKind, MilestoneState,
                     Pledge, Round, RoundActor, RoundFunder, as_utc, utcnow)
from .records import declared_reliability, records
from .snapshot import challenge_entry, number, pledge_entry

# Milestones whose money is still in escrow, waiting: under way, or of a failed award not yet repaired.
UNDER_WAY = (MilestoneState.OPEN, MilestoneState.SUBMITTED, MilestoneState.REJECTED)


class NotRepairable(ValueError):
    """Why the challenges cannot be re-cleared now (a dispute open on them, nothing committed)."""


@dataclass
class RepairPlan:
    """What a repair market was built from, by row id: what a commit of its result moves."""
    failure_ids: list[int]
    challenge_ids: list[int]
    component_paths: dict[int, str]                     # component id -> "challenge/component"
    failed_award_ids: list[int]
    # Milestones whose escrow is in the market: under way (their item a fixed bid) and failed (refunded).
    under_way: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    fixed_bids: dict[str, int] = field(default_factory=dict)         # bid key -> award id in force
    standby_bids: dict[str, int] = field(default_factory=dict)       # bid key -> bid id
    tender_bids: dict[str, int] = field(default_factory=dict)        # bid key -> bid id, from the re-tender
    pledge_escrow: dict[int, int] = field(default_factory=dict)      # pledge id -> cents in the market
    new_pledges: dict[int, int] = field(default_factory=dict)        # pledge id -> its amount (re-tender money)


def committed_at(session: Session, round_id: int) -> datetime | None:
    """When the round's clearing was committed (its money promised): the start of standby offers' days."""
    return session.scalar(select(LedgerTransaction.created_at).where(
        LedgerTransaction.round_id == round_id, LedgerTransaction.kind == "commit").order_by(LedgerTransaction.id))


def committed_run_ids(session: Session, round_id: int) -> list[int]:
    """The runs whose awards are contracts: the committed clearing, then each committed repair, in order."""
    first = session.scalars(select(LedgerTransaction.run_id).where(
        LedgerTransaction.round_id == round_id, LedgerTransaction.kind == "commit")).all()
    repairs = session.scalars(select(AwardFailure.resolved_run_id).where(
        AwardFailure.round_id == round_id, AwardFailure.resolved_run_id.is_not(None))).all()
    return sorted({r for r in list(first) + list(repairs) if r is not None})


def awarded_bid_ids(session: Session, round_id: int) -> set[int]:
    """Bids awarded in force or once: by the committed clearing or a committed repair."""
    runs = committed_run_ids(session, round_id)
    return set(session.scalars(select(Award.bid_id).where(Award.run_id.in_(runs))))


def committed_awards(session: Session, round_id: int) -> list[Award]:
    runs = committed_run_ids(session, round_id)
    return list(session.scalars(select(Award).where(Award.run_id.in_(runs)).order_by(Award.id)))


def standby_open(bid: Bid, since: datetime | None, now: datetime, awarded: set[int]) -> bool:
    """A losing bid's standby offer stands: made, not withdrawn, within its days, not called (awarded)."""
    if bid.standby_days is None or bid.standby_withdrawn_at is not None or bid.withdrawn or bid.excluded_at:
        return False
    if since is None or bid.id in awarded:
        return False
    return now <= as_utc(since) + timedelta(days=bid.standby_days)


def standby_prices(bid: Bid) -> list[int]:
    """The bid's item prices on standby: its own, or its standby price over its items in proportion to them
    (largest remainders, ties to the earlier item), whole cents summing exactly."""
    own = [item.price_cents for item in bid.items]
    if bid.standby_price_cents is None:
        return own
    total, weight = bid.standby_price_cents, sum(own)
    if weight == 0:
        return [total] + [0] * (len(own) - 1) if own else []
    shares = [total * price // weight for price in own]
    order = sorted(range(len(own)), key=lambda i: (-(total * own[i] % weight), i))
    for i in order[:total - sum(shares)]:
        shares[i] += 1
    return shares


def unspent_by_milestone(session: Session, milestone_ids: list[int]) -> dict[int, dict[int, int]]:
    """Per milestone, per funding pledge: its funding less what was paid out or refunded of it."""
    out: dict[int, dict[int, int]] = {m: {} for m in milestone_ids}
    for milestone_id, pledge_id, cents in session.execute(
            select(MilestoneFunding.milestone_id, MilestoneFunding.pledge_id, MilestoneFunding.amount_cents)
            .where(MilestoneFunding.milestone_id.in_(milestone_ids))
            .order_by(MilestoneFunding.milestone_id, MilestoneFunding.pledge_id)):
        out[milestone_id][pledge_id] = cents
    for spent_on, by_pledge, spent in session.execute(
            select(LedgerEntry.milestone_id, LedgerEntry.pledge_id, func.sum(LedgerEntry.amount_cents))
            .where(LedgerEntry.milestone_id.in_(milestone_ids),
                   LedgerEntry.account.in_([Account.PAYABLE.value, Account.REFUND.value]))
            .group_by(LedgerEntry.milestone_id, LedgerEntry.pledge_id)):
        assert spent_on is not None
        out[spent_on][by_pledge] = out[spent_on].get(by_pledge, 0) - int(spent)
    return out


def touched_challenge_ids(session: Session, award_ids: list[int]) -> set[int]:
    """The challenges the awards' bids touch."""
    return set(session.scalars(select(Component.challenge_id).join(BidItem, BidItem.component_id == Component.id)
                               .join(Award, Award.bid_id == BidItem.bid_id).where(Award.id.in_(award_ids))))


def repair_document(session: Session, failure: AwardFailure, now: datetime | None = None,
                    solved_with: dict[str, float] | None = None) -> tuple[dict[str, Any], RepairPlan]:
    """The repair market of an open failure (and of every other open failure on the same challenges).
    `solved_with`: the bids' reliabilities a run was solved with (bid key -> reliability), used instead of the
    track records as they are now, so that a record moving on (a deadline passing, a report accepted in another
    round) does not make the run stale: the estimates it was solved with stand."""
    now = now or utcnow()
    rnd = session.get(Round, failure.round_id)
    assert rnd is not None
    if failure.state != FailureState.OPEN:
        raise NotRepairable(f"failure {failure.id} is {failure.state}: its repair is committed already")
    open_failures = list(session.scalars(select(AwardFailure).where(
        AwardFailure.round_id == rnd.id, AwardFailure.state == FailureState.OPEN).order_by(AwardFailure.id)))
    failures = [failure]
    challenge_ids = touched_challenge_ids(session, [failure.award_id])
    grew = True
    while grew:                         # every open failure on these challenges is repaired with this one
        grew = False
        for other in open_failures:
            if other in failures:
                continue
            theirs = touched_challenge_ids(session, [other.award_id])
            if theirs & challenge_ids:
                failures.append(other)
                challenge_ids |= theirs
                grew = True
    failed_awards = sorted(f.award_id for f in failures)
    challenges = list(session.scalars(
        select(Challenge).where(Challenge.id.in_(challenge_ids)).order_by(Challenge.position, Challenge.id)
        .options(selectinload(Challenge.components))))
    paths = {k.id: f"{c.key}/{k.key}" for c in challenges for k in c.components}
    plan = RepairPlan(sorted(f.id for f in failures), [c.id for c in challenges], paths, failed_awards)

    milestones = list(session.scalars(select(Milestone).where(Milestone.component_id.in_(list(paths)))
                                      .order_by(Milestone.id)))
    if any(m.state == MilestoneState.DISPUTED for m in milestones):
        raise NotRepairable("a dispute is open on these challenges' milestones: decide it first, then repair")
    by_item: dict[int, list[Milestone]] = {}
    for m in milestones:
        by_item.setdefault(m.bid_item_id, []).append(m)
    waiting = [m.id for m in milestones
               if m.state in UNDER_WAY or (m.state == MilestoneState.FAILED and m.award_id in failed_awards)]
    unspent = unspent_by_milestone(session, waiting)
    for m in milestones:
        if m.id not in unspent:
            continue
        (plan.failed if m.award_id in failed_awards else plan.under_way).append(m.id)
        for pledge_id, cents in unspent[m.id].items():
            if cents > 0:
                plan.pledge_escrow[pledge_id] = plan.pledge_escrow.get(pledge_id, 0) + cents

    actors: dict[int, dict[str, Any]] = {}
    actor_rows = {a.id: a for a in session.scalars(select(RoundActor).where(RoundActor.round_id == rnd.id))}

    def actor_entry(actor_id: int) -> dict[str, Any]:
        if actor_id not in actors:
            a = actor_rows[actor_id]
            entry: dict[str, Any] = {"id": a.key}
            if a.name is not None:
                entry["name"] = a.name
            entry["bids"] = []
            actors[actor_id] = entry
        return actors[actor_id]

    # Awards that failed once (repaired since, or failing now) are never in force again.
    ever_failed = set(session.scalars(select(AwardFailure.award_id).where(AwardFailure.round_id == rnd.id)))
    failed_actors = set(session.scalars(select(Award.actor_id).where(Award.id.in_(failed_awards))))
    tracked = rnd.reliability_source == "track_record"
    known = records(session, list(actor_rows), now) if tracked and solved_with is None else {}

    def reliability_of(bid: Bid) -> float:
        """The bid's reliability as the round's clearing takes it: declared, or by its actor's track record."""
        declared = declared_reliability(bid, actor_rows[bid.actor_id])
        if tracked and solved_with is not None and bid.key in solved_with:
            return solved_with[bid.key]
        record = known.get(bid.actor_id)
        return declared if record is None else round(record.estimate(declared), 9)

    contracts = committed_awards(session, rnd.id)
    in_force = [a for a in contracts if a.id not in ever_failed]
    bids = {b.id: b for b in session.scalars(
        select(Bid).where(Bid.id.in_([a.bid_id for a in in_force])).options(selectinload(Bid.items)))}
    for award in in_force:
        bid = bids[award.bid_id]
        items, unpaid_total = [], 0
        for item in bid.items:
            if item.component_id not in paths:
                continue
            own = by_item.get(item.id, [])
            if any(m.kind == MilestoneKind.DELIVERY and m.state in (MilestoneState.CANCELLED,
                                                                    MilestoneState.WRITTEN_OFF) for m in own):
                continue                # not delivered (written off, or cancelled by a repair): cover it again
            unpaid = sum(m.amount_cents for m in own if m.id in unspent)
            unpaid_total += unpaid
            entry: dict[str, Any] = {"component": paths[item.component_id]}
            if item.quantity is not None:
                entry["quantity"] = item.quantity
            entry["price"] = format_money(unpaid)
            items.append(entry)
        if not items:
            continue
        reliability = 1.0 if unpaid_total == 0 else reliability_of(bid)
        fixed: dict[str, Any] = {"id": bid.key, "items": items, "reliability": number(reliability), "fixed": True}
        actor_entry(bid.actor_id)["bids"].append(fixed)
        plan.fixed_bids[bid.key] = award.id

    since = committed_at(session, rnd.id)
    awarded = awarded_bid_ids(session, rnd.id)
    groups_taken = {(b.actor_id, b.exclusive_group) for b in session.scalars(
        select(Bid).where(Bid.id.in_([a.bid_id for a in in_force]))) if b.exclusive_group is not None}
    for bid in session.scalars(select(Bid).where(Bid.round_id == rnd.id, Bid.standby_days.is_not(None))
                               .order_by(Bid.id).options(selectinload(Bid.items))):
        if not standby_open(bid, since, now, awarded) or not bid.items or bid.actor_id in failed_actors:
            continue                    # the failing actor does not replace itself
        if bid.exclusive_group is not None and (bid.actor_id, bid.exclusive_group) in groups_taken:
            continue                    # its actor holds a contract of the same exclusive group, anywhere
        if any(item.component_id not in paths for item in bid.items):
            continue                    # a bundle reaching beyond these challenges cannot be called in part
        items = []
        for item, price in zip(bid.items, standby_prices(bid)):
            entry = {"component": paths[item.component_id]}
            if item.quantity is not None:
                entry["quantity"] = item.quantity
            entry["price"] = format_money(price)
            items.append(entry)
        standby: dict[str, Any] = {"id": bid.key, "items": items, "reliability": number(reliability_of(bid))}
        if bid.load:
            standby["load"] = number(bid.load)
        if bid.exclusive_group is not None:
            standby["exclusive_group"] = bid.exclusive_group
        actor_entry(bid.actor_id)["bids"].append(standby)
        plan.standby_bids[bid.key] = bid.id

    for bid in session.scalars(select(Bid).where(Bid.tender_failure_id.in_(plan.failure_ids),
                                                 Bid.withdrawn.is_(False), Bid.excluded_at.is_(None))
                               .order_by(Bid.id).options(selectinload(Bid.items))):
        if any(item.component_id not in paths for item in bid.items) or bid.actor_id in failed_actors:
            continue
        tendered: dict[str, Any] = {"id": bid.key, "items": [], "reliability": number(reliability_of(bid))}
        for item in bid.items:
            entry = {"component": paths[item.component_id]}
            if item.quantity is not None:
                entry["quantity"] = item.quantity
            entry["price"] = format_money(item.price_cents)
            tendered["items"].append(entry)
        actor_entry(bid.actor_id)["bids"].append(tendered)
        plan.tender_bids[bid.key] = bid.id
    for pledge_id, amount in session.execute(select(Pledge.id, Pledge.amount_cents).where(
            Pledge.tender_failure_id.in_(plan.failure_ids), Pledge.withdrawn.is_(False),
            Pledge.excluded_at.is_(None)).order_by(Pledge.id)):
        plan.new_pledges[pledge_id] = amount

    amounts = plan.pledge_escrow | plan.new_pledges
    pledges = list(session.scalars(select(Pledge).where(Pledge.id.in_(list(amounts))).order_by(Pledge.id)))
    named = {c["funder"] for p in pledges for c in (p.conditions or [])}
    funders = list(session.scalars(select(RoundFunder).where(RoundFunder.round_id == rnd.id)
                                   .order_by(RoundFunder.position, RoundFunder.id)))
    funder_docs = []
    keys = {c.key for c in challenges}
    paid_already = _paid_by_funder(session, plan)
    for f in funders:
        own_pledges = [p for p in pledges if p.funder_id == f.id]
        if not own_pledges and f.key not in named:
            continue
        doc_funder: dict[str, Any] = {"id": f.key}
        if f.name is not None:
            doc_funder["name"] = f.name
        doc_funder["pledges"] = [_conditions_left(_narrowed(pledge_entry(p, amounts[p.id], min_spend=False), keys),
                                                  _least_paid(paid_already, _in_scope(p.scope, challenges)))
                                 for p in own_pledges]
        funder_docs.append(doc_funder)

    document: dict[str, Any] = {
        "format": FORMAT_1_1, "name": f"{rnd.name or f'round {rnd.id}'}: repair of failure "
                                      f"{', '.join(str(i) for i in plan.failure_ids)}",
        "currency": rnd.currency,
        "challenges": [challenge_entry(c) for c in challenges],
        "funders": funder_docs,
        "actors": [actors[a.id] for a in sorted(actor_rows.values(), key=lambda a: (a.position, a.id))
                   if a.id in actors],
    }
    return document, plan


def _paid_by_funder(session: Session, plan: RepairPlan) -> dict[tuple[str, int], int]:
    """Per funder key and challenge of the repair, what the funder has paid out (released to actors) there:
    money outside the repair market that still counts towards a condition naming that funder."""
    component_challenge = dict(session.execute(select(Component.id, Component.challenge_id)
                                               .where(Component.id.in_(list(plan.component_paths)))).all())
    per: dict[tuple[str, int], int] = {}
    for key, component_id, cents in session.execute(
            select(RoundFunder.key, LedgerEntry.component_id, func.sum(LedgerEntry.amount_cents))
            .join(Pledge, Pledge.id == LedgerEntry.pledge_id).join(RoundFunder, RoundFunder.id == Pledge.funder_id)
            .where(LedgerEntry.account == Account.PAYABLE.value,
                   LedgerEntry.component_id.in_(list(plan.component_paths)))
            .group_by(RoundFunder.key, LedgerEntry.component_id)):
        if component_id is None:
            continue
        challenge = component_challenge[component_id]
        per[key, challenge] = per.get((key, challenge), 0) + int(cents)
    return per


def _least_paid(paid: dict[tuple[str, int], int], challenge_ids: list[int]) -> dict[str, int]:
    """Per funder, the least it paid out into any one of these challenges (those a pledge may pay into)."""
    funders = {key for key, _ in paid}
    return {key: min((paid.get((key, c), 0) for c in challenge_ids), default=0) for key in funders}


def _in_scope(scope: dict[str, Any] | None, challenges: list[Challenge]) -> list[int]:
    """The challenges a pledge's scope admits a component of (the format's scope rules, version 1.1 included)."""
    if scope is None:
        return [c.id for c in challenges]
    named = [scope.get(k) or [] for k in ("challenges", "components", "tags")]
    out = []
    for c in challenges:
        tags = set(c.tags or [])
        if any(named):
            hit = (c.key in named[0] or any(p.split("/", 1)[0] == c.key for p in named[1])
                   or bool(tags & set(named[2])))
        else:
            hit = "all_tags" in scope or "exclude_tags" in scope
        if hit and set(scope.get("all_tags") or []) <= tags and not tags & set(scope.get("exclude_tags") or []):
            out.append(c.id)
    return out


def _conditions_left(entry: dict[str, Any], paid: dict[str, int]) -> dict[str, Any]:
    """A pledge's conditions in a repair market: each named funder's `min` less what it already paid into every
    one of these challenges (the repair prices that work at 0); a condition met already is left out."""
    if "conditions" not in entry:
        return entry
    left = []
    for condition in entry["conditions"]:
        cents = parse_money(condition["min"]) - paid.get(condition["funder"], 0)
        if cents > 0:
            left.append({"funder": condition["funder"], "min": format_money(cents)})
    if left:
        entry["conditions"] = left
    else:
        del entry["conditions"]
    return entry


def _narrowed(entry: dict[str, Any], challenges: set[str]) -> dict[str, Any]:
    if "scope" in entry:
        entry["scope"] = narrow_scope(entry["scope"], challenges)
    return entry


def new_awards(market: dict[str, Any], allocation: dict[str, Any]) -> list[dict[str, Any]]:
    """A repair run's awards that are not its fixed bids (contracts already): the standby and re-tender bids it
    calls in, as its allocation writes them."""
    fixed = {b["id"] for a in market["actors"] for b in a["bids"] if b.get("fixed")}
    return [award for award in allocation["awards"] if award["bid"] not in fixed]
