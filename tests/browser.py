"""Headless Debian chromium through Playwright, shared by the browser tests.

`launch(playwright)` starts chromium with the flags this machine needs; `NEEDS_BROWSER` (a mark) skips a test,
saying why, when chromium or playwright is missing (`.ci/run` installs chromium; never `playwright install`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError as exc:  # pragma: no cover - depends on the machine
    expect = sync_playwright = None
    WHY = f"playwright is not importable ({exc}); install the test extra: pip install -e '.[test]'"
else:
    WHY = ""

if sync_playwright is None:
    _MISSING = WHY
elif not CHROMIUM.exists():
    _MISSING = f"no chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does this)"
else:
    _MISSING = ""
NEEDS_BROWSER = pytest.mark.skipif(bool(_MISSING), reason=_MISSING or "browser available")


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
