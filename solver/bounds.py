"""Bounds the engine puts on numbers the market format leaves open (the format's own bounds, such as money
at most 10^13 currency units and probabilities in (0, 1], are kept where they are read).

The one place they are defined: the loader (loading.py), the services' schemas (market/schemas.py) and
the web forms (web/forms.py) take them from here, and the README states them.
"""
from __future__ import annotations

# Units of a component, and of a bid's item: a round stores them as 32-bit integers.
MAX_QUANTITY = 999_999_999
