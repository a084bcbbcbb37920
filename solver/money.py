"""Money as whole minor units (cents): parsing and formatting, never floats."""
from __future__ import annotations

import re

MAX_UNITS = 10**13                     # the format's ceiling, in currency units
MAX_CENTS = MAX_UNITS * 100
_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]{1,2}))?")      # ASCII digits: int() reads any script's


class MoneyError(ValueError):
    """An amount that the market format does not accept."""


def parse_money(raw: object) -> int:
    """Turn a format money value (decimal string or JSON integer) into cents."""
    if isinstance(raw, bool):
        raise MoneyError(f"expected an amount, got {str(raw).lower()}")
    if isinstance(raw, int):
        if raw < 0:
            raise MoneyError(f"negative amount {raw}")
        cents = raw * 100
    elif isinstance(raw, float):
        raise MoneyError(f"amount {raw!r} is a JSON float; write it as a string such as \"{raw:.2f}\"")
    elif isinstance(raw, str):
        text = raw.strip()
        if text.startswith("-"):
            raise MoneyError(f"negative amount {raw!r}")
        match = _DECIMAL.fullmatch(text)
        if not match:
            if re.fullmatch(r"[0-9]+\.[0-9]{3,}", text):
                raise MoneyError(f"amount {raw!r} has more than two fraction digits")
            raise MoneyError(f"amount {raw!r} is not a decimal number such as \"1250.50\"")
        whole, fraction = match.group(1), (match.group(2) or "").ljust(2, "0")
        cents = int(whole) * 100 + int(fraction)
    else:
        raise MoneyError(f"expected an amount (a string such as \"1250.50\" or an integer), got {type(raw).__name__}")
    if cents > MAX_CENTS:
        raise MoneyError(f"amount {raw!r} is above 10^13 currency units")
    return cents


def format_money(cents: int) -> str:
    """Cents as a decimal string with exactly two fraction digits: 125050 -> "1250.50"."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole}.{fraction:02d}"


def format_money_grouped(cents: int) -> str:
    """Cents for people: 125050 -> "1,250.50"."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{fraction:02d}"
