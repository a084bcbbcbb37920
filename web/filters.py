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


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["percent"] = percent

    @app.context_processor
    def roles() -> dict[str, object]:
        role = getattr(current_user, "role", None) if current_user else None
        return {"is_staff": role in ("analyst", "admin"), "is_funder": role == "funder", "is_actor": role == "actor",
                "is_verifier": role == "verifier"}
