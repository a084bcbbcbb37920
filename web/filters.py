"""Template filters and globals: money for people, percentages."""
from __future__ import annotations

from flask import Flask
from flask_login import current_user

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


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["percent"] = percent

    @app.context_processor
    def roles() -> dict[str, object]:
        role = getattr(current_user, "role", None) if current_user else None
        return {"is_staff": role in ("analyst", "admin"), "is_funder": role == "funder", "is_actor": role == "actor",
                "is_verifier": role == "verifier"}
