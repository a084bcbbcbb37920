"""The money ledger: double entry in integer cents, one currency per round (the round's).

Every movement is one balanced transaction: its entries, debit positive and credit negative, sum to zero.
Balances are sums of entries, never stored. Entries are append-only (the database refuses changes); a
correction is a new transaction.

How money moves (each entry names the pledge it belongs to, so every cent stays attributed to its funder):
  commit   a clearing's flow of pledge p into component k:   escrow(p, k) +a,  commitment(p) -a
  deposit  the funder of p pays in d (recorded):              cash(p) +d,       deposit(p) -d
  release  a verified milestone m of component k pays r_p:    payable(p, k, m) +r_p,  escrow(p, k) -r_p
           (each funding pledge's part of the released amount; the actor is owed the payable)
  refund   a milestone m's escrow goes back to pledge p:        refund(p, k, m) +u,     escrow(p, k) -u
  repair   (issue 18) failed milestones refunded as above; a contract under way re-funded by the repair's flows,
           escrow(p, k) +d, commitment(p) -d (d of either sign); a new award committed as at the clearing.
           A pledge's net commitment (committed less refunded) never grows, and never exceeds its amount.

`check(facts)` recomputes every invariant from the entries alone (plus the pledges' amounts and the accepted
item prices the ledger must stay within); `swarm ledger check ROUND` prints what it finds.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Account, LedgerEntry, LedgerTransaction, Pledge


@dataclass(frozen=True)
class Posting:
    """One entry to post: account, pledge, component (escrow, payable), signed cents, milestone (payable)."""
    account: Account
    pledge_id: int
    amount_cents: int
    component_id: int | None = None
    milestone_id: int | None = None


class UnbalancedTransaction(ValueError):
    pass


def post(session: Session, round_id: int, kind: str, postings: Iterable[Posting], created_by: str,
         memo: str = "", run_id: int | None = None) -> LedgerTransaction:
    """Write one balanced transaction (inside the caller's transaction: nothing is written if it fails)."""
    entries = [p for p in postings if p.amount_cents != 0]
    if any(not isinstance(p.amount_cents, int) for p in entries):
        raise UnbalancedTransaction("ledger amounts are whole cents")
    if len(entries) < 2 or sum(p.amount_cents for p in entries) != 0:
        raise UnbalancedTransaction(f"a {kind} transaction must balance: its entries sum to "
                                    f"{sum(p.amount_cents for p in entries)} cents")
    row = LedgerTransaction(round_id=round_id, kind=kind, memo=memo, run_id=run_id, created_by=created_by)
    session.add(row)
    session.flush()
    session.add_all(LedgerEntry(transaction_id=row.id, account=p.account.value, pledge_id=p.pledge_id,
                                component_id=p.component_id, amount_cents=p.amount_cents,
                                milestone_id=p.milestone_id) for p in entries)
    session.flush()
    return row


@dataclass
class PledgeMoney:
    """What the entries say of one pledge, in cents."""
    committed: int = 0          # credited to its commitment (net of a repair's re-funding)
    committed_gross: int = 0    # every credit to its commitment, never reduced: what deposits stay within
    in_escrow: int = 0          # held for components
    deposited: int = 0          # paid in by the funder
    cash: int = 0               # received and not yet paid out
    released: int = 0           # paid to actors' payables for verified milestones
    refunded: int = 0           # gone back to the funder from escrow (written off, deductions upheld)
    escrow_by_component: dict[int, int] = field(default_factory=dict)
    released_by_component: dict[int, int] = field(default_factory=dict)
    released_by_milestone: dict[int, int] = field(default_factory=dict)
    refunded_by_component: dict[int, int] = field(default_factory=dict)
    refunded_by_milestone: dict[int, int] = field(default_factory=dict)

    @property
    def owed(self) -> int:
        """Committed, not refunded and not yet deposited: what the funder still has to pay in."""
        return max(0, self.committed - self.refunded - self.deposited)

    @property
    def due_back(self) -> int:
        """Deposited beyond what is still committed after refunds: to be paid back to the funder."""
        return max(0, self.deposited - (self.committed - self.refunded))


@dataclass(frozen=True)
class Facts:
    """What the check needs: the round's transactions with their entries, each pledge's amount, and the
    accepted item prices per component of the committed clearing."""
    # id, kind, entries (account, pledge, component, cents[, milestone])
    transactions: list[tuple[int, str, list[tuple[Any, ...]]]]
    pledge_amounts: Mapping[int, int]
    accepted_prices: Mapping[int, int]
    # What the milestones of each (pledge, component) are funded with; None: not asked (no milestones read).
    milestone_funding: Mapping[tuple[int, int], int] | None = None
    # Per milestone with an accepted verification, what it released: a payout of any other is refused.
    verified_releases: Mapping[int, int] = field(default_factory=dict)
    # Per milestone, its amount: what is paid out and refunded of it never exceeds it (empty: not asked).
    milestone_amounts: Mapping[int, int] = field(default_factory=dict)


def facts(session: Session, round_id: int, accepted_prices: Mapping[int, int],
          milestone_funding: Mapping[tuple[int, int], int] | None = None,
          verified_releases: Mapping[int, int] | None = None,
          milestone_amounts: Mapping[int, int] | None = None) -> Facts:
    rows = session.scalars(select(LedgerTransaction).where(LedgerTransaction.round_id == round_id)
                           .order_by(LedgerTransaction.id)).all()
    transactions = [(t.id, t.kind, [(e.account, e.pledge_id, e.component_id, e.amount_cents, e.milestone_id)
                                    for e in t.entries]) for t in rows]
    amounts = dict(session.execute(select(Pledge.id, Pledge.amount_cents).where(Pledge.round_id == round_id))
                   .all())
    return Facts(transactions, amounts, accepted_prices, milestone_funding, dict(verified_releases or {}),
                 dict(milestone_amounts or {}))


# What `money_by_pledge` reads of each entry, in its order: every reader of balances selects these.
ENTRY_COLUMNS = (LedgerEntry.account, LedgerEntry.pledge_id, LedgerEntry.component_id, LedgerEntry.amount_cents,
                 LedgerEntry.milestone_id)


def _add(into: dict[int, int], key: int, cents: int) -> None:
    into[key] = into.get(key, 0) + cents


def money_by_pledge(entries: Iterable[tuple[Any, ...]]) -> dict[int, PledgeMoney]:
    """Balances per pledge from entries (account, pledge, component, cents[, milestone])."""
    out: dict[int, PledgeMoney] = defaultdict(PledgeMoney)
    for account, pledge_id, component_id, cents, *rest in entries:
        milestone_id = rest[0] if rest else None
        money = out[pledge_id]
        if account == Account.COMMITMENT:
            money.committed -= cents
            money.committed_gross -= min(cents, 0)
        elif account == Account.ESCROW:
            money.in_escrow += cents
            assert component_id is not None                 # a database check keeps it so
            _add(money.escrow_by_component, component_id, cents)
        elif account == Account.PAYABLE:
            money.released += cents
            assert component_id is not None and milestone_id is not None     # a database check keeps it so
            _add(money.released_by_component, component_id, cents)
            _add(money.released_by_milestone, milestone_id, cents)
        elif account == Account.REFUND:
            money.refunded += cents
            assert component_id is not None and milestone_id is not None     # a database check keeps it so
            _add(money.refunded_by_component, component_id, cents)
            _add(money.refunded_by_milestone, milestone_id, cents)
        elif account == Account.DEPOSIT:
            money.deposited -= cents
        elif account == Account.CASH:
            money.cash += cents
    return dict(out)


def check(found: Facts) -> list[str]:
    """Every invariant of the ledger, recomputed from the entries; each broken one as a sentence."""
    problems: list[str] = []
    every: list[tuple[Any, ...]] = []
    for tx_id, kind, entries in found.transactions:
        total = sum(entry[3] for entry in entries)
        if total != 0:
            problems.append(f"transaction {tx_id} ({kind}) does not balance: its entries sum to {total} cents")
        if len(entries) < 2:
            problems.append(f"transaction {tx_id} ({kind}) has {len(entries)} entries: a movement needs two")
        every.extend(entries)
    per_component: dict[int, int] = defaultdict(int)
    paid_component: dict[int, int] = defaultdict(int)
    paid_milestone: dict[int, int] = defaultdict(int)
    spent_milestone: dict[int, int] = defaultdict(int)      # paid out and refunded
    by_pledge = money_by_pledge(every)
    for pledge_id, money in sorted(by_pledge.items()):
        amount = found.pledge_amounts.get(pledge_id)
        if amount is None:
            problems.append(f"pledge {pledge_id} has entries but is not in the round")
            continue
        if money.committed < 0:
            problems.append(f"pledge {pledge_id}: commitment is negative ({money.committed} cents)")
        if money.committed - money.refunded > amount:
            problems.append(f"pledge {pledge_id}: committed {money.committed - money.refunded} cents"
                            + (" net of refunds" if money.refunded else "") + f", more than its {amount}")
        if money.committed != money.in_escrow + money.released + money.refunded:
            problems.append(f"pledge {pledge_id}: committed {money.committed} cents but "
                            f"{money.in_escrow + money.released + money.refunded} are accounted for (in escrow "
                            f"{money.in_escrow}, released {money.released}, refunded {money.refunded})")
        for component_id, cents in money.released_by_component.items():
            paid_component[component_id] += cents
            per_component[component_id] += cents
        for milestone_id, cents in money.released_by_milestone.items():
            paid_milestone[milestone_id] += cents
            spent_milestone[milestone_id] += cents
        for milestone_id, cents in money.refunded_by_milestone.items():
            spent_milestone[milestone_id] += cents
        for component_id, cents in sorted(money.escrow_by_component.items()):
            if cents < 0:
                problems.append(f"pledge {pledge_id}: escrow for component {component_id} is negative ({cents})")
            per_component[component_id] += cents
        if money.deposited < 0 or money.deposited > money.committed_gross:
            problems.append(f"pledge {pledge_id}: deposited {money.deposited} cents of {money.committed_gross} "
                            "committed")
        if money.cash != money.deposited:
            problems.append(f"pledge {pledge_id}: {money.cash} cents of cash against {money.deposited} deposited")
    if found.milestone_funding is not None:
        # Every committed cent is owed to a milestone, and no milestone is funded with money not committed.
        held: dict[tuple[int, int], int] = defaultdict(int)
        for p, m in by_pledge.items():
            for k, cents in (list(m.escrow_by_component.items()) + list(m.released_by_component.items())
                             + list(m.refunded_by_component.items())):
                held[p, k] += cents
        for p, k in sorted(set(k for k, v in held.items() if v) | set(found.milestone_funding)):
            if held.get((p, k), 0) != found.milestone_funding.get((p, k), 0):
                problems.append(f"pledge {p}, component {k}: {held.get((p, k), 0)} cents in escrow, released or "
                                f"refunded but {found.milestone_funding.get((p, k), 0)} fund its milestones")
    for milestone_id, cents in sorted(paid_milestone.items()):
        allowed = found.verified_releases.get(milestone_id)
        if allowed is None:
            problems.append(f"milestone {milestone_id}: {cents} cents paid out without an accepted verification")
        elif cents != allowed:
            problems.append(f"milestone {milestone_id}: {cents} cents paid out, its verification released {allowed}")
    for milestone_id, allowed in sorted(found.verified_releases.items()):
        if allowed and milestone_id not in paid_milestone:
            problems.append(f"milestone {milestone_id}: verified to release {allowed} cents, none paid out")
    if found.milestone_amounts:
        for milestone_id, cents in sorted(spent_milestone.items()):
            if cents > found.milestone_amounts.get(milestone_id, 0):
                problems.append(f"milestone {milestone_id}: {cents} cents paid out or refunded, more than its "
                                f"{found.milestone_amounts.get(milestone_id, 0)}")
    for component_id, cents in sorted(paid_component.items()):
        if cents > found.accepted_prices.get(component_id, 0):
            problems.append(f"component {component_id}: {cents} cents paid out, above its accepted prices "
                            f"({found.accepted_prices.get(component_id, 0)})")
    for component_id, cents in sorted(per_component.items()):
        price = found.accepted_prices.get(component_id, 0)
        if cents > price:
            problems.append(f"component {component_id}: {cents} cents held or paid, above its accepted prices "
                            f"({price})")
    return problems
