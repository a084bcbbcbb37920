"""The money ledger: double entry in integer cents, one currency per round (the round's).

Every movement is one balanced transaction: its entries, debit positive and credit negative, sum to zero.
Balances are sums of entries, never stored. Entries are append-only (the database refuses changes); a
correction is a new transaction.

How money moves (each entry names the pledge it belongs to, so every cent stays attributed to its funder):
  commit   a clearing's flow of pledge p into component k:   escrow(p, k) +a,  commitment(p) -a
  deposit  the funder of p pays in d (recorded):              cash(p) +d,       deposit(p) -d

`check(facts)` recomputes every invariant from the entries alone (plus the pledges' amounts and the accepted
item prices the ledger must stay within); `swarm ledger check ROUND` prints what it finds.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Account, LedgerEntry, LedgerTransaction, Pledge


@dataclass(frozen=True)
class Posting:
    """One entry to post: account, pledge, component (escrow only), signed cents."""
    account: Account
    pledge_id: int
    amount_cents: int
    component_id: int | None = None


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
                                component_id=p.component_id, amount_cents=p.amount_cents) for p in entries)
    session.flush()
    return row


@dataclass
class PledgeMoney:
    """What the entries say of one pledge, in cents."""
    committed: int = 0          # credited to its commitment
    in_escrow: int = 0          # held for components
    deposited: int = 0          # paid in by the funder
    cash: int = 0               # received and not yet paid out
    escrow_by_component: dict[int, int] = field(default_factory=dict)

    @property
    def owed(self) -> int:
        """Committed but not yet deposited."""
        return self.committed - self.deposited


@dataclass(frozen=True)
class Facts:
    """What the check needs: the round's transactions with their entries, each pledge's amount, and the
    accepted item prices per component of the committed clearing."""
    transactions: list[tuple[int, str, list[tuple[str, int, int | None, int]]]]  # id, kind, entries
    pledge_amounts: Mapping[int, int]
    accepted_prices: Mapping[int, int]
    # What the milestones of each (pledge, component) are funded with; None: not asked (no milestones read).
    milestone_funding: Mapping[tuple[int, int], int] | None = None


def facts(session: Session, round_id: int, accepted_prices: Mapping[int, int],
          milestone_funding: Mapping[tuple[int, int], int] | None = None) -> Facts:
    rows = session.scalars(select(LedgerTransaction).where(LedgerTransaction.round_id == round_id)
                           .order_by(LedgerTransaction.id)).all()
    transactions = [(t.id, t.kind, [(e.account, e.pledge_id, e.component_id, e.amount_cents) for e in t.entries])
                    for t in rows]
    amounts = dict(session.execute(select(Pledge.id, Pledge.amount_cents).where(Pledge.round_id == round_id))
                   .all())
    return Facts(transactions, amounts, accepted_prices, milestone_funding)


def money_by_pledge(entries: Iterable[tuple[str, int, int | None, int]]) -> dict[int, PledgeMoney]:
    """Balances per pledge from entries (account, pledge, component, cents)."""
    out: dict[int, PledgeMoney] = defaultdict(PledgeMoney)
    for account, pledge_id, component_id, cents in entries:
        money = out[pledge_id]
        if account == Account.COMMITMENT:
            money.committed -= cents
        elif account == Account.ESCROW:
            money.in_escrow += cents
            assert component_id is not None                 # a database check keeps it so
            money.escrow_by_component[component_id] = money.escrow_by_component.get(component_id, 0) + cents
        elif account == Account.DEPOSIT:
            money.deposited -= cents
        elif account == Account.CASH:
            money.cash += cents
    return dict(out)


def check(found: Facts) -> list[str]:
    """Every invariant of the ledger, recomputed from the entries; each broken one as a sentence."""
    problems: list[str] = []
    every: list[tuple[str, int, int | None, int]] = []
    for tx_id, kind, entries in found.transactions:
        total = sum(cents for *_, cents in entries)
        if total != 0:
            problems.append(f"transaction {tx_id} ({kind}) does not balance: its entries sum to {total} cents")
        if len(entries) < 2:
            problems.append(f"transaction {tx_id} ({kind}) has {len(entries)} entries: a movement needs two")
        every.extend(entries)
    per_component: dict[int, int] = defaultdict(int)
    by_pledge = money_by_pledge(every)
    for pledge_id, money in sorted(by_pledge.items()):
        amount = found.pledge_amounts.get(pledge_id)
        if amount is None:
            problems.append(f"pledge {pledge_id} has entries but is not in the round")
            continue
        if money.committed < 0:
            problems.append(f"pledge {pledge_id}: commitment is negative ({money.committed} cents)")
        if money.committed > amount:
            problems.append(f"pledge {pledge_id}: committed {money.committed} cents, more than its {amount}")
        if money.committed != money.in_escrow:
            problems.append(f"pledge {pledge_id}: committed {money.committed} cents but {money.in_escrow} "
                            "are accounted for (escrow)")
        for component_id, cents in sorted(money.escrow_by_component.items()):
            if cents < 0:
                problems.append(f"pledge {pledge_id}: escrow for component {component_id} is negative ({cents})")
            per_component[component_id] += cents
        if money.deposited < 0 or money.deposited > money.committed:
            problems.append(f"pledge {pledge_id}: deposited {money.deposited} cents of {money.committed} committed")
        if money.cash != money.deposited:
            problems.append(f"pledge {pledge_id}: {money.cash} cents of cash against {money.deposited} deposited")
    if found.milestone_funding is not None:
        # Every committed cent is owed to a milestone, and no milestone is funded with money not committed.
        escrow = {(p, k): cents for p, m in by_pledge.items()
                  for k, cents in m.escrow_by_component.items() if cents}
        for p, k in sorted(set(escrow) | set(found.milestone_funding)):
            if escrow.get((p, k), 0) != found.milestone_funding.get((p, k), 0):
                problems.append(f"pledge {p}, component {k}: {escrow.get((p, k), 0)} cents in escrow but "
                                f"{found.milestone_funding.get((p, k), 0)} fund its milestones")
    for component_id, cents in sorted(per_component.items()):
        price = found.accepted_prices.get(component_id, 0)
        if cents > price:
            problems.append(f"component {component_id}: {cents} cents committed, above its accepted prices "
                            f"({price})")
    return problems
