"""Fixtures for every level: the OR-Library benchmarks."""
from __future__ import annotations

import pathlib

import pytest

from tests.paths import ORLIB


@pytest.fixture
def orlib() -> pathlib.Path:
    if not (ORLIB / "optima.json").exists():
        pytest.skip(f"OR-Library benchmarks not found at {ORLIB} (../shared/benchmarks/orlib beside the repo)")
    return ORLIB
