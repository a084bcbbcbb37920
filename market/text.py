"""The one rule for text a person gives the market (names, titles, units, tags, groups, notes, token
names, emails): no control characters, no unpaired surrogates.

PostgreSQL cannot store a NUL in text at all (a 500 before this check), a lone surrogate cannot be
encoded, and no name or title needs a C0 or C1 control character: those are refused everywhere alike.
A multi-line text (a round's note, typed into a textarea) may hold tabs and line breaks.
"""
from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, and surrogates (paired ones never reach a Python str as two characters).
_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_REFUSED_IN_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")   # all but \t \n \r


def text_problem(value: str, multiline: bool = False) -> str | None:
    """Why `value` cannot be taken as text (a message naming the character), or None when it can."""
    found = (_REFUSED_IN_LINES if multiline else _REFUSED).search(value)
    if found is None:
        return None
    code = ord(found.group())
    if code == 0:
        return "contains a NUL character (U+0000), which cannot be stored"
    if 0xD800 <= code <= 0xDFFF:
        return f"contains an unpaired surrogate (U+{code:04X}), which cannot be stored"
    return f"contains a control character (U+{code:04X})"


def spreadsheet_cell(text: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (text starting =, +, -, @, a tab or a carriage return
    gets a leading quote): names, titles and file names are the users'."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
