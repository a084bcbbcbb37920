"""Idempotency records of the JSON API: the first successful response to a write sent with an
`Idempotency-Key`, kept per (user, key) and replayed to retries of the same request.

The API saves the record in the same transaction as the write itself, so either both are committed
or neither; a concurrent duplicate trips the (user_id, key) unique constraint and its whole
transaction rolls back (see `save`), so nothing is created twice.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import IdempotencyRecord


class DuplicateKey(Exception):
    """Another request with the same (user, key) committed first."""


def request_hash(method: str, path: str, body: Any) -> str:
    text = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def find(session: Session, user_id: int, key: str) -> IdempotencyRecord | None:
    return session.execute(select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id,
                                                           IdempotencyRecord.key == key)).scalar_one_or_none()


def save(session: Session, user_id: int, key: str, method: str, path: str, digest: str, status: int,
         body: Any) -> IdempotencyRecord:
    """Record the response; raises DuplicateKey if the key was taken meanwhile. The caller rolls back its
    whole transaction then (the write it would have recorded goes too), so no savepoint is kept here: after
    the refused INSERT the transaction is good for nothing but that rollback."""
    row = IdempotencyRecord(user_id=user_id, key=key, method=method.upper(), path=path, request_hash=digest,
                            status=status, body=body)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise DuplicateKey(key) from None
    return row
