"""Bounds the engine puts on numbers the market format leaves open (the format's own bounds, such as money
at most 10^13 currency units and probabilities in (0, 1], are kept where they are read).

The one place they are defined: the loader (loading.py), the services' schemas (market/schemas.py) and
the web forms (web/forms.py) take them from here, and the README states them.

Why these: the clearing is a mixed-integer program that CBC and HiGHS solve in floating point, with
feasibility and integrality tolerances of about 1e-6 to 1e-7 and about 1e-9 of relative precision left
once a row mixes large and small coefficients. A market is only cleared right when every row's
coefficients stay within about 10^9 of each other and a cent, a unit of value or a unit of load is well
above those tolerances. Outside these bounds both backends were seen to go wrong on valid markets: with a
pledge of 10^13, a load of 10^12 and values of 10^12, CBC completed a challenge of value 1 instead of one
of value 10^12 (HiGHS was right), and with values of 10^6 CBC's allocation failed the engine's own check;
a matching ratio of 10^25 made both backends fail. tests/solver/test_bounds.py clears a market with every
number at its bound on both backends.
"""
from __future__ import annotations

from dataclasses import dataclass

# Units of a component, and of a bid's item: a round stores them as 32-bit integers.
MAX_QUANTITY = 999_999_999

# Money (amounts, prices, budgets, reserves) below 10^10 cents: the model writes money rows in units that
# keep every amount below 10^5 (model.MONEY_DIGITS), so a unit is at most 10^5 cents and a cent stays at
# least 1e-5 units, ten times the solvers' feasibility tolerance.
MAX_MONEY_CENTS = 9_999_999_999
MAX_MONEY_TEXT = "99,999,999.99"

# Values count in thousandths: phase 2 keeps the value found less half a thousandth (solving.py), which
# needs every difference in total value to be at least a thousandth. The most is 10^9 (people served),
# so a total of a thousand challenges stays within 10^12 thousandths, well inside a double's 2^53.
VALUE_DECIMALS = 3


@dataclass(frozen=True, slots=True)
class Bound:
    """A number's range: at most `high`, and (other than 0 where `zero` allows it) at least `low`."""
    what: str             # what the number is, for messages: "a value", "a matching ratio"
    low: float
    high: float
    zero: bool = False    # whether 0 itself is allowed (below `low`)
    decimals: int | None = None   # at most this many digits after the decimal point

    def problem(self, value: float) -> str | None:
        """Why `value` is out of bounds, for people (None when it is within)."""
        if value == 0 and self.zero:
            return None
        if value < self.low:
            either = " (or 0)" if self.zero else ""
            return f"must be at least {_text(self.low)}{either}: the engine's bound for {self.what}"
        if value > self.high:
            return f"must be at most {_text(self.high)}: the engine's bound for {self.what}"
        if self.decimals is not None and round(value, self.decimals) != value:
            return f"must have at most {self.decimals} decimals: the engine's bound for {self.what}"
        return None


def _text(number: float) -> str:
    return f"{number:,.0f}" if number >= 1 and float(number).is_integer() else f"{number:g}"


# A challenge's or a non-critical component's value: 0, or thousandths up to 10^9.
VALUE = Bound("values", 0.001, 1e9, zero=True, decimals=VALUE_DECIMALS)
# A bid's load and an actor's load capacity: 0, or from a thousandth to 10^6, so that one actor's load row
# spans at most 10^9.
LOAD = Bound("loads", 0.001, 1e6, zero=True)
# Probabilities (reliabilities, reliability targets and floors) and max_share: at least a thousandth. A
# reliability enters the model as -log(r) x 10^4 (model.RELIABILITY_SCALE), at most 7 x 10^4 here; a
# reliability of 1e-300 made it 7 x 10^6 against rows of 1.
PROBABILITY = Bound("probabilities", 0.001, 1.0)
SHARE = Bound("max_share", 0.001, 1.0)
# Version 1.1's max_challenge_share: a fraction of a challenge's cost, bounded as max_share is.
CHALLENGE_SHARE = Bound("max_challenge_share", 0.001, 1.0)
# A matching ratio: from a thousandth to a thousand, so that a matching row spans at most 10^6.
MATCH = Bound("matching ratios", 0.001, 1000.0)


def money_problem(cents: int) -> str | None:
    """Why an amount in cents is above the engine's bound (None when it is not)."""
    if cents > MAX_MONEY_CENTS:
        return f"must be at most {MAX_MONEY_TEXT}: the engine's bound for money"
    return None
