"""Funders' statements (issue 17): per round, what a funder pledged, what the committed clearing took, what it
has paid in, what verified work released to actors (per milestone: component, actor, verification date and
evidence), what is held back until the things have kept working, and what its money bought in the
challenge's own units; and a portfolio of those statements across rounds.

Every figure comes from the ledger's entries (market/ledger.py) and the milestones' verified reports, never
from a stored total. A funder reads its own statements; analysts and admins read any funder's.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound
from ..models import (Account, AwardFailure, Challenge, Component, DisputeState, LedgerEntry, LedgerTransaction,
                      Milestone, MilestoneFunding, MilestoneKind, MilestoneState, Pledge, ReportState, Role, Round,
                      RoundActor, RoundFunder, User)
from ..text import spreadsheet_cell
from solver.money import format_money_grouped
from .common import STAFF, get_round, require_role
from .delivery import FileView, MilestoneDetail, details_of
from .settlement import is_committed, pledges_money


@dataclass(frozen=True)
class Line:
    """One milestone a funder's pledge pays for: what it is, the funder's part, and what became of it."""
    pledge: str
    milestone_id: int
    challenge: str              # the challenge's title (or key)
    component: str              # "challenge/component"
    unit: str                   # the component's unit, e.g. "boreholes"
    component_quantity: int     # how many the component asks for
    actor: str
    kind: str                   # delivery or holdback
    quantity: int               # the units this milestone pays for
    state: str
    funded_cents: int           # this pledge's part of the milestone
    released_cents: int         # of it, paid to the actor on a verified report (or an analyst's decision)
    refunded_cents: int         # of it, gone back to the funder (written off, a deduction upheld)
    verified_at: datetime | None
    accepted_quantity: int | None
    evidence: list[FileView]
    award_failed: bool = False  # its award was marked failed (issue 18): paid before, or stopped

    @property
    def bought(self) -> str:
        """What the money bought, in the challenge's own units: "2 of 12 boreholes in Kitui, verified 2027-03-02"."""
        what = f"{self.quantity} of {self.component_quantity} {self.unit} in {self.challenge}"
        if self.state == MilestoneState.WRITTEN_OFF:
            return f"{what}: written off, not delivered; what it held went back"
        if self.state == MilestoneState.FAILED:
            return f"{what}: {self.actor} failed, not delivered; what it held went to the repair or back to you"
        if self.state == MilestoneState.CANCELLED:
            return f"{what}: cancelled, its challenge could not be completed after a failure; what it held went back"
        if self.verified_at is None:
            return f"{what}, not verified yet"
        done = (f"{self.accepted_quantity} of {self.component_quantity} {self.unit} in {self.challenge}"
                if self.accepted_quantity != self.quantity else what)
        verb = "still working, verified" if self.kind == MilestoneKind.HOLDBACK else "verified"
        later = "; spent on delivered work: its actor failed later" if self.award_failed else ""
        return f"{done}, {verb} {self.verified_at:%Y-%m-%d}{later}"


@dataclass(frozen=True)
class Statement:
    """A funder's money in one round, in cents."""
    round_id: int
    round_name: str
    currency: str
    funder: str                 # its name (or key)
    funder_key: str
    committed: bool             # the round's clearing is committed
    pledged_cents: int          # the pledges' amounts (withdrawn ones left out)
    committed_cents: int        # what the committed clearing took from them into escrow
    deposited_cents: int        # paid in
    owed_cents: int             # committed, not yet paid in
    released_cents: int         # paid to actors for verified work
    refunded_cents: int         # gone back from escrow to the funder (written off, deductions upheld, failures
                                # not repaired)
    due_back_cents: int         # deposited beyond what is still committed: to be paid back
    held_back_cents: int        # in escrow for holdbacks: paid once the things have kept working
    in_escrow_cents: int        # all still in escrow (held back included)
    lines: list[Line]
    # Issue 18: escrow of failed awards that repairs committed to replacement actors (net: a repair may also
    # re-fund a contract under way from other pledges); refunded from the failed work, then spent on its repair.
    repaired_cents: int = 0
    # Rollover (issue 18): money that came back and was pledged again in the programme's next rounds (out), and
    # this round's pledges that are such money from earlier rounds (in), with where from and to.
    rolled_out_cents: int = 0
    rolled_in_cents: int = 0
    rolled: tuple[str, ...] = ()

    @property
    def unused_cents(self) -> int:
        """Pledged but not taken by the clearing: never owed."""
        return self.pledged_cents - self.committed_cents


def statement(session: Session, user: User | None, round_id: int, funder_key: str | None = None) -> Statement:
    """The statement of the user's funder in the round (analysts, admins, the command line: `funder_key`'s).
    A funder asking for another's, or with no pledge in the round, finds it absent."""
    rnd = get_round(session, round_id)
    query = select(RoundFunder).where(RoundFunder.round_id == round_id)
    if user is not None and user.role not in STAFF:
        require_role(user, (Role.FUNDER,), "have statements")
        query = query.where(RoundFunder.user_id == user.id)
        if funder_key is not None:
            query = query.where(RoundFunder.key == funder_key)
    elif funder_key is None:
        raise InvalidInput({"funder": "say whose statement: the funder's key in the round"})
    else:
        query = query.where(RoundFunder.key == funder_key)
    funder = session.scalar(query)
    if funder is None:
        raise NotFound(f"no statement of yours in round {round_id}" if user is not None and user.role not in STAFF
                       else f"no funder {funder_key!r} in round {round_id}")
    return _statement(session, rnd, funder)


def round_funders(session: Session, user: User | None, round_id: int) -> list[tuple[str, str]]:
    """The round's funders (key, name) whose statements analysts and admins may read."""
    require_role(user, STAFF, "read other funders' statements")
    get_round(session, round_id)
    return [(f.key, f.name or f.key) for f in session.scalars(
        select(RoundFunder).where(RoundFunder.round_id == round_id).order_by(RoundFunder.position, RoundFunder.id))]


def portfolio(session: Session, user: User) -> list[Statement]:
    """A funder's statements in every round it pledged in, newest round first."""
    require_role(user, (Role.FUNDER,), "have a portfolio")
    funders = session.execute(select(Round, RoundFunder).join(RoundFunder, RoundFunder.round_id == Round.id)
                              .where(RoundFunder.user_id == user.id).order_by(Round.id.desc())).all()
    return [_statement(session, rnd, funder) for rnd, funder in funders]


def _statement(session: Session, rnd: Round, funder: RoundFunder) -> Statement:
    pledges = [p for p in session.scalars(select(Pledge).where(Pledge.funder_id == funder.id).order_by(Pledge.id))
               if not p.withdrawn]
    keys = {p.id: p.key for p in pledges}
    money = pledges_money(session, list(keys))
    rows = session.execute(
        select(MilestoneFunding.pledge_id, MilestoneFunding.amount_cents, Milestone, Challenge, Component, RoundActor)
        .join(Milestone, Milestone.id == MilestoneFunding.milestone_id)
        .join(Component, Component.id == Milestone.component_id).join(Challenge, Challenge.id == Component.challenge_id)
        .join(RoundActor, RoundActor.id == Milestone.actor_id)
        .where(MilestoneFunding.pledge_id.in_(list(keys))).order_by(Milestone.id, MilestoneFunding.pledge_id)).all()
    found = details_of(session, sorted({m.id for _, _, m, _, _, _ in rows}))
    failed_awards = set(session.scalars(select(AwardFailure.award_id).where(AwardFailure.round_id == rnd.id)))
    lines = []
    held = 0
    for pledge_id, cents, m, challenge, component, actor in rows:
        verified_at, accepted_quantity, evidence = _verification(found[m.id])
        released = money[pledge_id].released_by_milestone.get(m.id, 0)
        refunded = money[pledge_id].refunded_by_milestone.get(m.id, 0)
        if m.kind == MilestoneKind.HOLDBACK:
            held += cents - released - refunded
        lines.append(Line(keys[pledge_id], m.id, challenge.title or challenge.key, f"{challenge.key}/{component.key}",
                          component.unit or "units", component.quantity, actor.name or actor.key, m.kind, m.quantity,
                          m.state, cents, released, refunded, verified_at, accepted_quantity, evidence,
                          m.award_id in failed_awards))
    totals = list(money.values())
    moved = sum(repaired_by_pledge(session, pledges).values())
    return Statement(rnd.id, rnd.name or f"Round {rnd.id}", rnd.currency, funder.name or funder.key, funder.key,
                     is_committed(session, rnd.id), sum(p.amount_cents for p in pledges),
                     sum(m.committed for m in totals) - moved, sum(m.deposited for m in totals),
                     sum(m.owed for m in totals), sum(m.released for m in totals),
                     sum(m.refunded for m in totals) - moved, sum(m.due_back for m in totals), held,
                     sum(m.in_escrow for m in totals), lines, moved, *_rolled(session, pledges))


def _rolled(session: Session, pledges: list[Pledge]) -> tuple[int, int, tuple[str, ...]]:
    """Rolled out of these pledges, rolled into them, and a sentence for each."""
    ids = [p.id for p in pledges]
    out_rows = session.execute(select(Pledge.rolled_from_id, Pledge.key, Pledge.round_id, Pledge.amount_cents)
                               .where(Pledge.rolled_from_id.in_(ids)).order_by(Pledge.id)).all()
    keys = {p.id: p.key for p in pledges}
    sources = {p.id: p for p in session.scalars(select(Pledge).where(
        Pledge.id.in_([p.rolled_from_id for p in pledges if p.rolled_from_id is not None])))}
    notes = [f"{keys.get(source or 0, '?')}: {format_money_grouped(cents)} rolled over to round {round_id} as "
             f"pledge {key}" for source, key, round_id, cents in out_rows]
    rolled_in = 0
    for p in pledges:
        if p.rolled_from_id is not None and p.rolled_from_id in sources:
            origin = sources[p.rolled_from_id]
            notes.append(f"{p.key}: {format_money_grouped(p.amount_cents)} rolled over from round {origin.round_id} "
                         f"(pledge {origin.key})")
            rolled_in += p.amount_cents
    return sum(int(c) for *_, c in out_rows), rolled_in, tuple(notes)


def repaired_by_pledge(session: Session, pledges: list[Pledge]) -> dict[int, int]:
    """Per pledge, what repair transactions committed of it (net): money its failed work gave back, spent again on
    the replacement. A re-tender pledge's first commitment, by the repair of its own failure, is new money taken,
    not escrow moved, so it is left out; later repairs move its money like any other's."""
    own_run = dict(session.execute(select(AwardFailure.id, AwardFailure.resolved_run_id).where(
        AwardFailure.id.in_([p.tender_failure_id for p in pledges if p.tender_failure_id is not None]))).all())
    first = {p.id: own_run.get(p.tender_failure_id) for p in pledges if p.tender_failure_id is not None}
    out: dict[int, int] = {}
    for pledge_id, run_id, cents in session.execute(
            select(LedgerEntry.pledge_id, LedgerTransaction.run_id, func.sum(LedgerEntry.amount_cents))
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(LedgerTransaction.kind == "repair", LedgerEntry.account == Account.COMMITMENT,
                   LedgerEntry.pledge_id.in_([p.id for p in pledges]))
            .group_by(LedgerEntry.pledge_id, LedgerTransaction.run_id)):
        if pledge_id in first and run_id == first[pledge_id]:
            continue
        out[pledge_id] = out.get(pledge_id, 0) - int(cents)
    return out


def _verification(detail: MilestoneDetail) -> tuple[datetime | None, int | None, list[FileView]]:
    """When the milestone was verified, for how many units, on what evidence: its accepted report, or a
    rejection an analyst decided for the actor (all units; the disputed report's evidence). None: not yet."""
    accepted = [r for r in detail.reports if r.state == ReportState.ACCEPTED]
    if accepted:
        return accepted[-1].reviewed_at, accepted[-1].accepted_quantity, accepted[-1].files
    won = [d for d in detail.disputes if d.state == DisputeState.FOR_ACTOR and d.kind == "rejection"]
    if won:
        report = next(r for r in detail.reports if r.id == won[-1].report_id)
        return won[-1].decided_at, detail.quantity, report.files
    return None, None, []


CSV_HEADER = ("round", "funder", "pledge", "milestone", "component", "actor", "kind", "quantity", "state",
              "your_part", "released", "refunded", "verified_on", "accepted_quantity", "bought", "evidence_files")


def csv_rows(found: Statement, money: Any) -> list[tuple[Any, ...]]:
    """The statement's lines as CSV rows (money as decimal strings by `money`), after CSV_HEADER. Text that a
    spreadsheet would run as a formula (names and file names are the users') is quoted."""
    cell = spreadsheet_cell
    return [(found.round_id, cell(found.funder_key), cell(line.pledge), line.milestone_id, cell(line.component),
             cell(line.actor), line.kind, line.quantity, line.state, money(line.funded_cents),
             money(line.released_cents), money(line.refunded_cents),
             "" if line.verified_at is None else f"{line.verified_at:%Y-%m-%d}",
             "" if line.accepted_quantity is None else line.accepted_quantity, cell(line.bought),
             cell(" ".join(f.name for f in line.evidence))) for line in found.lines]

