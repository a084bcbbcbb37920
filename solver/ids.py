"""Identifiers of the market format: 1-64 characters from A-Z a-z 0-9 _ . : - (the spec's "Identifiers").

The one definition of the pattern: the loader (loading.py), the services' schemas (market/schemas.py)
and the API (web/api/schemas.py, web/api/views.py) all take it from here. A component is named
market-wide as "<challenge id>/<component id>"; ids have no "/", so the key splits at its only one.

Match with `fullmatch`: Python's `$` also matches before a final newline, so `ID.match("a\n")` would let
"a\n" through. The patterns keep `^...$` because the API's OpenAPI document publishes them, and in a JSON
Schema (ECMA-262) pattern `$` means the end of the string.
"""
from __future__ import annotations

import re

_ID = r"[A-Za-z0-9_.:\-]{1,64}"

ID_PATTERN = rf"^{_ID}$"
COMPONENT_KEY_PATTERN = rf"^{_ID}/{_ID}$"
ID_CHARACTERS = "1-64 characters from A-Z a-z 0-9 _ . : -"       # the end of every "invalid id" message

ID = re.compile(ID_PATTERN)
