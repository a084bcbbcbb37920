"""Template filters and globals: money for people, percentages."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from flask_login import current_user

from market.models import as_utc
from solver.money import format_money_grouped


def money(cents: int | None, currency: str | None = None) -> str:
    if cents is None:
        return ""
    return format_money_grouped(cents) + (f" {currency}" if currency else "")


def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:g}%"


def number(value: float | int | None) -> str:
    """A value (people served, say) as a person reads it: 2,472,550 or 1,234.5, never 2.47255e+06."""
    if value is None:
        return ""
    amount = float(value)
    if amount.is_integer():
        return f"{int(amount):,}"
    return f"{amount:,.2f}".rstrip("0").rstrip(".")


def schedule(opens: datetime | None, closes: datetime | None, status: str, now: datetime | None = None) -> str:
    """A round's schedule in words, with a countdown: "Closes to pledges and bids on 2027-01-31 17:00 UTC, in 3
    days 4 hours"; "" without one."""
    now = now or datetime.now(UTC)
    utc = as_utc
    parts = []
    if opens is not None and status == "draft":
        parts.append(f"Opens {utc(opens):%Y-%m-%d %H:%M} UTC" + _left(utc(opens) - now))
    if closes is not None and status in ("draft", "open"):
        left = utc(closes) - now
        parts.append(f"Closes to pledges and bids on {utc(closes):%Y-%m-%d %H:%M} UTC" + _left(left)
                     if left.total_seconds() > 0 else
                     f"Closed to pledges and bids since {utc(closes):%Y-%m-%d %H:%M} UTC")
    return "; ".join(parts)


def _left(left: timedelta) -> str:
    seconds = int(left.total_seconds())
    if seconds <= 0:
        return ""
    days, hours, minutes = seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60
    words = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    if hours or days:
        words.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if not days:
        words.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return ", in " + " ".join(words)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["number"] = number
    app.jinja_env.globals["schedule"] = schedule
    app.jinja_env.filters["percent"] = percent

    @app.context_processor
    def roles() -> dict[str, object]:
        role = getattr(current_user, "role", None) if current_user else None
        return {"is_staff": role in ("analyst", "admin"), "is_funder": role == "funder", "is_actor": role == "actor",
                "is_verifier": role == "verifier"}
