"""Shortcuts shared by the market tests: the small market (tests/small_market.py) as a round in `db`."""
from __future__ import annotations

from typing import Any

from tests.small_market import draft_doc, import_market


def import_round(db: Any, doc: dict[str, Any] | None = None) -> int:
    return import_market(db.sessions, doc)


def draft_round(db: Any) -> int:
    """An open round with the small market's challenges and nobody in it yet."""
    return import_market(db.sessions, draft_doc())
