"""Domain errors raised by the services; the web, the API and the command line turn them into messages."""
from __future__ import annotations

from collections.abc import Mapping


class MarketDomainError(Exception):
    """Base of every refusal a service gives; `str(error)` is a message for people."""


class InvalidInput(MarketDomainError):
    """Bad input: `fields` maps each offending field (a JSON path such as "items[0].price") to a message."""

    def __init__(self, fields: Mapping[str, str] | str, message: str | None = None) -> None:
        self.fields = dict(fields) if isinstance(fields, Mapping) else {"": fields}
        text = "; ".join(f"{k}: {v}" if k else v for k, v in sorted(self.fields.items()))
        super().__init__(message or f"invalid input: {text}")


class Forbidden(MarketDomainError):
    """The user may not do this (wrong role, or a pledge or bid it may see but not change)."""


class NotFound(MarketDomainError):
    """No such round, pledge, bid, user or participant."""


class NotYours(NotFound, Forbidden):
    """Someone else's pledge or bid: refused, and answered as a NotFound (it comes first) with the message of
    an unknown key, so that no answer tells whether someone else holds a key."""


class WrongState(MarketDomainError):
    """The round is not in a state that allows this (a pledge to a closed round, closing a draft...)."""


class RoundNotOpen(WrongState):
    """Pledges and bids change only while their round is open."""


class Withdrawn(WrongState):
    """A withdrawn pledge or bid stays on record as it was: it changes no more."""


class Conflict(MarketDomainError):
    """The round changed under a long operation (a clearing), which was therefore not recorded."""


class ClearingFailed(MarketDomainError):
    """The solver could not clear the round, or its allocation failed the checker; nothing was recorded."""


class JobActive(Conflict):
    """The round is being cleared already: one clearing of a round at a time (the database refuses a second)."""


class QueueUnavailable(MarketDomainError):
    """The job queue (Redis) cannot be reached: nothing was queued; try again once it is back (503)."""
