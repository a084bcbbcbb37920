"""The market over time, as SQLAlchemy 2 typed models. Money is integer cents.

A round holds its own participants (funders and actors keyed as in a market file), so a round
round-trips exactly to a market file; a user account owns a participant row through `user_id`.
"""
from __future__ import annotations

import enum
from datetime import datetime, UTC
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, CheckConstraint, DateTime, Double, ForeignKey, Index, Integer,
                        String, Text, UniqueConstraint, event, text)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .db import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(stamp: datetime) -> datetime:
    """SQLite gives stamps back without their zone; they were written in UTC."""
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


class Role(enum.StrEnum):
    FUNDER = "funder"
    ACTOR = "actor"
    ANALYST = "analyst"
    ADMIN = "admin"
    VERIFIER = "verifier"       # checks delivered work (issue 17); never a funder or actor on what it checks


class RoundStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    CLEARED = "cleared"


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_JOB_STATES = (JobState.QUEUED, JobState.RUNNING)


def _one_of(column: str, enum_type: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(str(v.value)) for v in enum_type)})"


Stamp = DateTime(timezone=True)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_one_of("role", Role), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    # When the owner proved the email theirs; None only for a self-service sign-up still waiting for its
    # confirmation link (with a mail server), which cannot log in. Any other account is confirmed as made.
    confirmed_at: Mapped[datetime | None] = mapped_column(Stamp, default=utcnow)

    @property
    def label(self) -> str:
        return self.email


class Round(Base):
    __tablename__ = "rounds"
    __table_args__ = (CheckConstraint(_one_of("status", RoundStatus), name="status"),
                      CheckConstraint("length(currency) = 3", name="currency"),
                      CheckConstraint("reliability_source IN ('declared', 'track_record')", name="reliability_source"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    status: Mapped[str] = mapped_column(String(16), default=RoundStatus.DRAFT.value)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    # Issue 18: which reliability the clearing gives each bid: the declared one, or the actor's track record
    # (market/records.py: a Bayesian estimate with the declared value as prior).
    reliability_source: Mapped[str] = mapped_column(String(16), default="declared", server_default="declared")
    # Rounds of one programme (e.g. "kenya-water"): money funders consent to roll over goes to the next one.
    programme: Mapped[str | None] = mapped_column(String(100), index=True)
    # Issue 19: the round's schedule, shown with a countdown; after `closes_at` pledges and bids are refused
    # even if no analyst has closed it yet (None: open until an analyst closes it).
    opens_at: Mapped[datetime | None] = mapped_column(Stamp)
    closes_at: Mapped[datetime | None] = mapped_column(Stamp)
    # Issue 19: the analysts' own notes on the round; `note` is the public description (shown and exported),
    # this one is read only by analysts and admins, never shown publicly nor put in a market file.
    private_note: Mapped[str | None] = mapped_column(Text)

    challenges: Mapped[list[Challenge]] = relationship(back_populates="round", order_by="Challenge.position")
    funders: Mapped[list[RoundFunder]] = relationship(back_populates="round", order_by="RoundFunder.position")
    actors: Mapped[list[RoundActor]] = relationship(back_populates="round", order_by="RoundActor.position")


class RoundFunder(Base):
    """A funder as it appears in one round (the `funders[]` of a market file)."""
    __tablename__ = "round_funders"
    __table_args__ = (UniqueConstraint("round_id", "key"), UniqueConstraint("round_id", "user_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    round: Mapped[Round] = relationship(back_populates="funders")
    pledges: Mapped[list[Pledge]] = relationship(back_populates="funder", order_by="Pledge.id")


class RoundActor(Base):
    """An actor as it appears in one round (the `actors[]` of a market file)."""
    __tablename__ = "round_actors"
    __table_args__ = (UniqueConstraint("round_id", "key"), UniqueConstraint("round_id", "user_id"),
                      CheckConstraint("reliability IS NULL OR (reliability > 0 AND reliability <= 1)",
                                      name="reliability"),
                      CheckConstraint("budget_cents IS NULL OR budget_cents >= 0", name="budget"),
                      CheckConstraint("capacity_load IS NULL OR capacity_load >= 0", name="load"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    reliability: Mapped[float | None] = mapped_column(Double)     # None: the format's default, 1
    has_capacity: Mapped[bool] = mapped_column(Boolean, default=False)
    budget_cents: Mapped[int | None] = mapped_column(BigInteger)
    capacity_load: Mapped[float | None] = mapped_column(Double)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    round: Mapped[Round] = relationship(back_populates="actors")
    bids: Mapped[list[Bid]] = relationship(back_populates="actor", order_by="Bid.id")


class Challenge(Base):
    __tablename__ = "challenges"
    __table_args__ = (UniqueConstraint("round_id", "key"),
                      CheckConstraint("value >= 0", name="value"),
                      CheckConstraint("reliability IS NULL OR (reliability > 0 AND reliability <= 1)",
                                      name="reliability"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    value: Mapped[float] = mapped_column(Double, default=0)
    reliability: Mapped[float | None] = mapped_column(Double)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Issue 19: what analysts tell funders and actors about the challenge (narrative and location, public);
    # the clearing never reads them.
    description: Mapped[str | None] = mapped_column(Text)
    place: Mapped[str | None] = mapped_column(Text)

    round: Mapped[Round] = relationship(back_populates="challenges")
    components: Mapped[list[Component]] = relationship(back_populates="challenge", order_by="Component.position",
                                                       cascade="all, delete-orphan")


class Component(Base):
    __tablename__ = "components"
    __table_args__ = (UniqueConstraint("challenge_id", "key"),
                      CheckConstraint("quantity >= 1", name="quantity"),
                      CheckConstraint("value >= 0", name="value"),
                      CheckConstraint("min_reliability IS NULL OR (min_reliability > 0 AND min_reliability <= 1)",
                                      name="min_reliability"),
                      CheckConstraint("max_unit_price_cents IS NULL OR max_unit_price_cents >= 0",
                                      name="max_unit_price"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    critical: Mapped[bool] = mapped_column(Boolean, default=True)
    value: Mapped[float] = mapped_column(Double, default=0)
    requires: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_reliability: Mapped[float | None] = mapped_column(Double)
    max_unit_price_cents: Mapped[int | None] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(Integer, default=0)

    challenge: Mapped[Challenge] = relationship(back_populates="components")

    @property
    def path(self) -> str:
        return f"{self.challenge.key}/{self.key}"


class Pledge(Base):
    """A pledge; withdrawing keeps the row (withdrawn=True) so nothing pledged is ever lost."""
    __tablename__ = "pledges"
    __table_args__ = (UniqueConstraint("round_id", "key"),
                      CheckConstraint("amount_cents > 0", name="amount"),
                      CheckConstraint("max_share IS NULL OR (max_share > 0 AND max_share <= 1)", name="max_share"),
                      CheckConstraint("match IS NULL OR match > 0", name="match"),
                      CheckConstraint("min_spend_cents IS NULL OR (min_spend_cents > 0 AND "
                                      "min_spend_cents <= amount_cents)", name="min_spend"),
                      CheckConstraint("max_challenge_share IS NULL OR (max_challenge_share > 0 AND "
                                      "max_challenge_share <= 1)", name="max_challenge_share"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    funder_id: Mapped[int] = mapped_column(ForeignKey("round_funders.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    scope: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    max_share: Mapped[float | None] = mapped_column(Double)
    match: Mapped[float | None] = mapped_column(Double)
    # Version 1.1 (market format): pays nothing or at least this; per challenge at most this share of its cost;
    # "only if they pay": [{"funder": <round funder key>, "min_cents": int}] (None: no conditions). Keys, as
    # in a market file and the scope, not row ids: a round funder's key never changes.
    min_spend_cents: Mapped[int | None] = mapped_column(BigInteger)
    max_challenge_share: Mapped[float | None] = mapped_column(Double)
    conditions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    # The funder chose to be named on public pages beside this pledge's money; off by default.
    listed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Issue 18: the funder consents to roll money that comes back (unspent at clearing, refunded after a failure)
    # into the next round of the round's programme (services/rollover.py); a pledge made so names its source.
    rollover: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # No foreign key: SQLite adds one only by copying the table, which the rows referring to pledges forbid.
    rolled_from_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # New money for a failure's repair (issue 18), pledged during its re-tender: as Bid.tender_failure_id.
    tender_failure_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # An analyst left this pledge out of clearing (why, and when); the row and its money stay.
    excluded_reason: Mapped[str | None] = mapped_column(Text)
    excluded_at: Mapped[datetime | None] = mapped_column(Stamp)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)

    round: Mapped[Round] = relationship()
    funder: Mapped[RoundFunder] = relationship(back_populates="pledges")


class Bid(Base):
    """A sealed bid; withdrawing keeps the row (withdrawn=True)."""
    __tablename__ = "bids"
    __table_args__ = (UniqueConstraint("round_id", "key"),
                      CheckConstraint("reliability IS NULL OR (reliability > 0 AND reliability <= 1)",
                                      name="reliability"),
                      CheckConstraint("load >= 0", name="load"),
                      CheckConstraint("standby_days IS NULL OR (standby_days >= 1 AND standby_days <= 3650)",
                                      name="standby_days"),
                      CheckConstraint("standby_price_cents IS NULL OR (standby_days IS NOT NULL AND "
                                      "standby_price_cents >= 0)", name="standby_price"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("round_actors.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    reliability: Mapped[float | None] = mapped_column(Double)     # None: the actor's
    load: Mapped[float] = mapped_column(Double, default=0)
    exclusive_group: Mapped[str | None] = mapped_column(Text)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    # Version 1.1: an analyst marked it contracted, so every clearing must accept it (services.fixing), and why
    # (None for one imported fixed from a market file). Sealed like the rest of the bid.
    fixed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    fixed_reason: Mapped[str | None] = mapped_column(Text)
    # Issue 18: if it loses, it stays valid this many days after the round's clearing is committed, at its price
    # or at `standby_price_cents` (the whole bundle), as a backup a repair clearing may call in; until called, its
    # actor may withdraw the offer (`standby_withdrawn_at`). None: no standby offer.
    standby_days: Mapped[int | None] = mapped_column(Integer)
    standby_price_cents: Mapped[int | None] = mapped_column(BigInteger)
    standby_withdrawn_at: Mapped[datetime | None] = mapped_column(Stamp)
    # A bid made in a failure's re-tender (issue 18), after the clearing: it takes part only in that failure's
    # repair, never in the round's clearing or its market file. No foreign key, as ClearingRun.failure_id.
    tender_failure_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # An analyst left this bid out of clearing (why, and when); the row stays.
    excluded_reason: Mapped[str | None] = mapped_column(Text)
    excluded_at: Mapped[datetime | None] = mapped_column(Stamp)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)

    round: Mapped[Round] = relationship()
    actor: Mapped[RoundActor] = relationship(back_populates="bids")
    items: Mapped[list[BidItem]] = relationship(back_populates="bid", order_by="BidItem.position",
                                                cascade="all, delete-orphan")


class BidItem(Base):
    __tablename__ = "bid_items"
    __table_args__ = (UniqueConstraint("bid_id", "component_id"),
                      CheckConstraint("quantity IS NULL OR quantity >= 1", name="quantity"),
                      CheckConstraint("price_cents >= 0", name="price"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"), index=True)
    quantity: Mapped[int | None] = mapped_column(Integer)         # None: the component's whole quantity
    price_cents: Mapped[int] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(Integer, default=0)

    bid: Mapped[Bid] = relationship(back_populates="items")
    component: Mapped[Component] = relationship()


class ClearingRun(Base):
    """One clearing of a round: its input (market document and digest) and its allocation. A repair run (issue
    18) re-clears the challenges an award failure touches (market/repair_market.py); it is never the round's
    result, and moves money only once an analyst commits it (services/repair.py)."""
    __tablename__ = "clearing_runs"
    __table_args__ = (CheckConstraint("cost_cents >= 0", name="cost"),
                      CheckConstraint("seconds >= 0", name="seconds"),
                      CheckConstraint("kind IN ('clear', 'repair')", name="kind"),
                      CheckConstraint("kind = 'clear' OR failure_id IS NOT NULL", name="repair_failure"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="clear", server_default="clear")
    # The award failure a repair run re-clears. No foreign key: failures refer to runs through their awards, and
    # tables that refer to each other cannot be made in one CREATE on every database.
    failure_id: Mapped[int | None] = mapped_column(Integer, index=True)
    digest: Mapped[str] = mapped_column(String(64))
    backend: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    seconds: Mapped[float] = mapped_column(Double)
    value: Mapped[float] = mapped_column(Double)
    cost_cents: Mapped[int] = mapped_column(BigInteger)
    market: Mapped[dict[str, Any]] = mapped_column(JSON)
    allocation: Mapped[dict[str, Any]] = mapped_column(JSON)
    is_result: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)

    awards: Mapped[list[Award]] = relationship(order_by="Award.id", cascade="all, delete-orphan")
    flows: Mapped[list[Flow]] = relationship(order_by="Flow.id", cascade="all, delete-orphan")


class Award(Base):
    __tablename__ = "awards"
    __table_args__ = (UniqueConstraint("run_id", "bid_id"), CheckConstraint("price_cents >= 0", name="price"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("clearing_runs.id", ondelete="CASCADE"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("round_actors.id"), index=True)
    price_cents: Mapped[int] = mapped_column(BigInteger)


class Flow(Base):
    __tablename__ = "flows"
    __table_args__ = (UniqueConstraint("run_id", "pledge_id", "component_id"),
                      CheckConstraint("amount_cents > 0", name="amount"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("clearing_runs.id", ondelete="CASCADE"), index=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id"), index=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)


class AuditLog(Base):
    """Every write: who, what, when. Append-only: rows are never updated or deleted."""
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    who: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    round_id: Mapped[int | None] = mapped_column(Integer, index=True)   # no FK: the log outlives rows
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AuditLogIsAppendOnly(RuntimeError):
    pass


class LedgerIsAppendOnly(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditLog):
            raise AuditLogIsAppendOnly("the audit log is append-only: its rows are never changed or deleted")
        if isinstance(obj, (LedgerTransaction, LedgerEntry)):
            raise LedgerIsAppendOnly("the ledger is append-only: a correction is a new, reversing transaction")


class Account(enum.StrEnum):
    """The ledger's accounts (market/ledger.py says how money moves between them). Each is kept per pledge, so
    every cent stays attributed to the funder who gave it; escrow is also per component."""
    COMMITMENT = "commitment"       # credited when a clearing is committed: what the pledge owes
    ESCROW = "escrow"               # debited then, per component: the pledge's money held for that component
    DEPOSIT = "deposit"             # credited when the funder's deposit is recorded: what it has paid in
    CASH = "cash"                   # debited then: money received, attributed to the pledge
    PAYABLE = "payable"             # debited when a verified milestone is released: owed to its actor, per
                                    # pledge, component and milestone (escrow is credited)
    REFUND = "refund"               # debited when a milestone's escrow goes back to its funder (written off,
                                    # a deduction upheld), per pledge, component and milestone


class LedgerTransaction(Base):
    """One balanced movement of money in a round (its entries sum to zero). Append-only: never changed or
    deleted, on PostgreSQL and SQLite enforced by the database itself; a correction is a new transaction."""
    __tablename__ = "ledger_transactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))           # commit, deposit, ...
    memo: Mapped[str] = mapped_column(Text, default="")
    run_id: Mapped[int | None] = mapped_column(ForeignKey("clearing_runs.id"))   # commit: the run committed
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)

    entries: Mapped[list[LedgerEntry]] = relationship(order_by="LedgerEntry.id")


class LedgerEntry(Base):
    """A signed amount on one account: debit positive, credit negative, integer cents."""
    __tablename__ = "ledger_entries"
    __table_args__ = (CheckConstraint(_one_of("account", Account), name="account"),
                      CheckConstraint("amount_cents <> 0", name="amount"),
                      CheckConstraint("account <> 'escrow' OR component_id IS NOT NULL", name="escrow_component"),
                      CheckConstraint("account NOT IN ('payable', 'refund') OR "
                                      "(component_id IS NOT NULL AND milestone_id IS NOT NULL)",
                                      name="payable_milestone"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account: Mapped[str] = mapped_column(String(16))
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id"), index=True)
    component_id: Mapped[int | None] = mapped_column(ForeignKey("components.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    # The milestone a release pays or a refund gives back (payable, refund): the check ties every payout to an
    # accepted verification and keeps each milestone's payouts and refunds within its amount.
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestones.id"), index=True)


class ApiToken(Base):
    """A personal API token: only the sha256 of the secret is kept; `prefix` (its first characters) names
    it in lists. Revoking stamps `revoked_at`; the row stays for the record."""
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(Stamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Stamp)

    user: Mapped[User] = relationship()


class IdempotencyRecord(Base):
    """The first successful response to an API write sent with an `Idempotency-Key`, replayed to retries."""
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(Text)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)



class UserSession(Base):
    """A signed-in browser. The cookie carries a random secret; only its sha256 is kept here. Logging out,
    expiry or a password change stamps `ended_at`, after which a copied cookie no longer signs anyone in."""
    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(Stamp)

    user: Mapped[User] = relationship()


class OneTimeToken:
    """A one-time token of a user's: only its sha256 is kept; `used_at` makes it spent."""
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(Stamp)
    used_at: Mapped[datetime | None] = mapped_column(Stamp)


class PasswordReset(OneTimeToken, Base):
    """A one-time password-reset token."""
    __tablename__ = "password_resets"


class EmailConfirmation(OneTimeToken, Base):
    """A one-time link confirming a new account's email."""
    __tablename__ = "email_confirmations"


class Job(Base):
    """A clearing of a round, run by a worker (market.worker) rather than inside a request: its options, its
    state, the solver's progress as last reported, and its outcome (the run it recorded, or why not).

    At most one job of a round is queued or running: the partial unique index `uq_jobs_active_round` (on
    PostgreSQL and SQLite alike) refuses a second, whichever process asks."""
    __tablename__ = "jobs"
    __table_args__ = (CheckConstraint(_one_of("state", JobState), name="state"),
                      CheckConstraint("time_limit IS NULL OR time_limit > 0", name="time_limit"),
                      CheckConstraint("gap IS NULL OR (gap >= 0 AND gap < 1)", name="gap"),
                      Index("uq_jobs_active_round", "round_id", unique=True,
                            postgresql_where=text("state IN ('queued', 'running')"),
                            sqlite_where=text("state IN ('queued', 'running')")))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="clear")
    state: Mapped[str] = mapped_column(String(16), default=JobState.QUEUED.value)
    backend: Mapped[str] = mapped_column(String(16), default="cbc")
    time_limit: Mapped[float | None] = mapped_column(Double)
    gap: Mapped[float | None] = mapped_column(Double)
    explain: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    retry_of: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(Stamp)
    finished_at: Mapped[datetime | None] = mapped_column(Stamp)
    heartbeat_at: Mapped[datetime | None] = mapped_column(Stamp)
    worker: Mapped[str | None] = mapped_column(String(200))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # The solver's progress as last reported (solver.progress): its stage and the backend's own figures.
    stage: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(String(200))
    incumbent: Mapped[float | None] = mapped_column(Double)
    bound: Mapped[float | None] = mapped_column(Double)
    rel_gap: Mapped[float | None] = mapped_column(Double)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("clearing_runs.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)
    # A repair job (kind "repair", issue 18): the award failure whose challenges it re-clears.
    failure_id: Mapped[int | None] = mapped_column(Integer)      # no key, as ClearingRun.failure_id


class MilestoneKind(enum.StrEnum):
    DELIVERY = "delivery"           # the awarded item, delivered and verified: its price less the holdback
    HOLDBACK = "holdback"           # paid after the service period, on a second verification that it still works


class MilestoneState(enum.StrEnum):
    OPEN = "open"                   # waiting for the actor's delivery report (a holdback: from its opens_at)
    SUBMITTED = "submitted"         # a report waits for a verifier
    REJECTED = "rejected"           # its last report was rejected: the actor may report again until due_at
    ACCEPTED = "accepted"           # verified and released (in full, or pro rata for a smaller quantity)
    DISPUTED = "disputed"           # its actor disputes the verifier's rejection or deduction: an analyst decides
    WRITTEN_OFF = "written_off"     # an analyst ended it (the actor failed): what was left in escrow went back
    FAILED = "failed"               # its award failed (issue 18): stopped; its escrow waits for the repair
    CANCELLED = "cancelled"         # a repair could not complete its challenge: stopped, its escrow went back


SETTLED_STATES = (MilestoneState.ACCEPTED, MilestoneState.WRITTEN_OFF, MilestoneState.FAILED,
                  MilestoneState.CANCELLED)


class Milestone(Base):
    """A payable step of an award (issue 17): one per awarded item, and its holdback. Made when the round's
    clearing is committed; its money is the committed escrow of the item's component (MilestoneFunding)."""
    __tablename__ = "milestones"
    __table_args__ = (CheckConstraint(_one_of("kind", MilestoneKind), name="kind"),
                      CheckConstraint(_one_of("state", MilestoneState), name="state"),
                      CheckConstraint("amount_cents >= 0", name="amount"),
                      CheckConstraint("quantity >= 1", name="quantity"),
                      UniqueConstraint("bid_item_id", "kind"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), index=True)
    bid_item_id: Mapped[int] = mapped_column(ForeignKey("bid_items.id"), index=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("round_actors.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    service_days: Mapped[int | None] = mapped_column(Integer)       # holdback: days the thing must keep working
    state: Mapped[str] = mapped_column(String(16), default=MilestoneState.OPEN.value)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    # When a report may first be made (a holdback: the service period after its delivery was accepted; None
    # until then) and the last moment for one (None: not yet set, as for a holdback before its delivery).
    opens_at: Mapped[datetime | None] = mapped_column(Stamp)
    due_at: Mapped[datetime | None] = mapped_column(Stamp)

    funding: Mapped[list[MilestoneFunding]] = relationship(order_by="MilestoneFunding.pledge_id")


class FailureState(enum.StrEnum):
    OPEN = "open"                   # the award failed; its challenges wait for a repair
    REPAIRED = "repaired"           # a repair clearing was committed and completes (some of) its challenges
    REFUNDED = "refunded"           # committed, completing none of them: their unspent escrow went back


class AwardFailure(Base):
    """An analyst marked an award failed (issue 18): the actor withdrew, a deadline passed, a verification was
    finally rejected. Its unpaid milestones stop (state failed); a repair clearing (services/repair.py) re-clears
    the challenges its bid touches, and its commit resolves the failure."""
    __tablename__ = "award_failures"
    __table_args__ = (CheckConstraint(_one_of("state", FailureState), name="state"), UniqueConstraint("award_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"))
    reason: Mapped[str] = mapped_column(Text)
    failed_by: Mapped[str] = mapped_column(String(254))
    failed_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default=FailureState.OPEN.value)
    resolved_run_id: Mapped[int | None] = mapped_column(Integer)      # the repair run committed (no key: above)
    # An analyst opened a short re-tender: until then actors bid on its challenges and funders add money to it.
    tender_until: Mapped[datetime | None] = mapped_column(Stamp)
    resolved_at: Mapped[datetime | None] = mapped_column(Stamp)


class MilestoneFunding(Base):
    """What one pledge pays of a milestone: the milestone's money, attributed to each funder."""
    __tablename__ = "milestone_funding"
    __table_args__ = (UniqueConstraint("milestone_id", "pledge_id"), CheckConstraint("amount_cents > 0", name="amount"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id"), index=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)


class SettlementTerms(Base):
    """A round's terms for the money after its clearing (issue 17), set by analysts until the clearing is
    committed; a round without a row has the defaults (services/settlement.py)."""
    __tablename__ = "settlement_terms"
    __table_args__ = (CheckConstraint("holdback_percent >= 0 AND holdback_percent <= 50", name="holdback_percent"),
                      CheckConstraint("service_days >= 0 AND service_days <= 3650", name="service_days"),
                      CheckConstraint("review_days >= 1 AND review_days <= 365", name="review_days"),
                      CheckConstraint("delivery_days >= 1 AND delivery_days <= 3650", name="delivery_days"),
                      CheckConstraint("holdback_report_days >= 1 AND holdback_report_days <= 365",
                                      name="holdback_report_days"))

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True)
    holdback_percent: Mapped[int] = mapped_column(Integer)     # of each item's price, paid after the service period
    service_days: Mapped[int] = mapped_column(Integer)         # how long the thing must keep working
    review_days: Mapped[int] = mapped_column(Integer)          # a verifier's time to review a delivery report
    delivery_days: Mapped[int] = mapped_column(Integer, default=180, server_default="180")   # commit to report
    holdback_report_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")  # after service
    changed_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class VerifierAssignment(Base):
    """A verifier assigned by an analyst to a whole round (challenge_id None) or to one challenge of it."""
    __tablename__ = "verifier_assignments"
    __table_args__ = (Index("uq_verifier_assignments", "round_id", "user_id", "challenge_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    challenge_id: Mapped[int | None] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assigned_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class ReportState(enum.StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class DeliveryReport(Base):
    """An actor's report that a milestone is delivered: quantity, note, optional coordinates, files; and the
    verifier's decision on it. A rejected milestone gets a new report, so the history stays."""
    __tablename__ = "delivery_reports"
    __table_args__ = (CheckConstraint(_one_of("state", ReportState), name="state"),
                      CheckConstraint("quantity >= 1", name="quantity"),
                      CheckConstraint("accepted_quantity IS NULL OR accepted_quantity >= 1", name="accepted_quantity"),
                      CheckConstraint("released_cents IS NULL OR released_cents >= 0", name="released"),
                      CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="latitude"),
                      CheckConstraint("longitude IS NULL OR (longitude >= -180 AND longitude <= 180)",
                                      name="longitude"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    latitude: Mapped[float | None] = mapped_column(Double)
    longitude: Mapped[float | None] = mapped_column(Double)
    submitted_by: Mapped[str] = mapped_column(String(254))
    submitted_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default=ReportState.SUBMITTED.value)
    reviewed_by: Mapped[str | None] = mapped_column(String(254))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(Stamp)
    accepted_quantity: Mapped[int | None] = mapped_column(Integer)
    released_cents: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(Text)

    files: Mapped[list[ReportFile]] = relationship(order_by="ReportFile.id")


class DisputeState(enum.StrEnum):
    OPEN = "open"                   # the disputed amount is frozen until an analyst decides
    FOR_ACTOR = "for_actor"         # decided: the actor is paid what the analyst found due, the rest refunded
    FOR_VERIFIER = "for_verifier"   # decided: the verifier's decision stands


class Dispute(Base):
    """An actor's dispute of a verifier's rejection or deduction (issue 17): only the disputed amount, the
    milestone's money not yet paid, is frozen; an analyst decides, and the decision moves the money."""
    __tablename__ = "disputes"
    __table_args__ = (CheckConstraint(_one_of("state", DisputeState), name="state"),
                      CheckConstraint("kind IN ('rejection', 'deduction')", name="kind"),
                      CheckConstraint("amount_cents > 0", name="amount"),
                      CheckConstraint("released_cents IS NULL OR (released_cents >= 0 AND released_cents <= "
                                      "amount_cents)", name="released"),
                      UniqueConstraint("report_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id"), index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("delivery_reports.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(254))
    opened_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default=DisputeState.OPEN.value)
    decided_by: Mapped[str | None] = mapped_column(String(254))
    decided_at: Mapped[datetime | None] = mapped_column(Stamp)
    decision: Mapped[str | None] = mapped_column(Text)
    released_cents: Mapped[int | None] = mapped_column(BigInteger)


class ReportFile(Base):
    """Evidence attached to a report (a photo, a test certificate): its bytes are in the file storage
    (market/storage.py) under `storage_key`, the sha256 of its content."""
    __tablename__ = "report_files"
    __table_args__ = (CheckConstraint("size_bytes > 0", name="size"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("delivery_reports.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class Notification(Base):
    """A line in a user's in-app inbox (issue 17): an award won or lost, a milestone to report, a report accepted
    or rejected, money released, a dispute opened or decided. Marked read by its user; never deleted."""
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(200))       # a path on the site, e.g. /milestones/3
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(Stamp)


class OutboxMessage(Base):
    """An e-mail waiting to be sent (issue 17): written in the same transaction as what it tells, sent by the
    worker (market/outbox.py) through SMTP when configured, else written to the log; `sent_at` once done."""
    __tablename__ = "outbox"
    __table_args__ = (CheckConstraint("attempts >= 0", name="attempts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to_email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(Stamp, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
