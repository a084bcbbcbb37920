"""Where the tests find the repository's market fixtures and the OR-Library benchmarks beside it."""
from __future__ import annotations

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
ORLIB = ROOT.parent / "shared" / "benchmarks" / "orlib"
