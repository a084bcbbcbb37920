"""Fixtures for every level: the OR-Library benchmarks, and the web's fixtures loaded as a plugin
(pytest reads `pytest_plugins` only in the root conftest) for tests/web and tests/api."""
from __future__ import annotations

import pathlib

import pytest

from tests.paths import ORLIB

pytest_plugins = ["tests.web_fixtures"]

# The helpers modules tests import assert too: rewrite them as pytest rewrites conftests and test modules.
pytest.register_assert_rewrite("tests.api.helpers", "tests.solver.helpers")


@pytest.fixture
def orlib() -> pathlib.Path:
    if not (ORLIB / "optima.json").exists():
        pytest.skip(f"OR-Library benchmarks not found at {ORLIB} (../shared/benchmarks/orlib beside the repo)")
    return ORLIB
