import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
ORLIB = ROOT.parent / "shared" / "benchmarks" / "orlib"


@pytest.fixture
def orlib() -> pathlib.Path:
    if not (ORLIB / "optima.json").exists():
        pytest.skip(f"OR-Library benchmarks not found at {ORLIB} (../shared/benchmarks/orlib beside the repo)")
    return ORLIB
