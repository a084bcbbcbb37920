"""Solver fixtures: `backend`, each test that takes it runs once per solver backend (ids `[cbc]`, `[highs]`)."""
from __future__ import annotations

import pytest

from solver import backends


@pytest.fixture(scope="module", params=backends.BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend's name; the test is skipped, saying why, where that backend is not installed.

    Module-scoped because hypothesis tests take it too, and hypothesis refuses a function-scoped fixture
    (it would not be set up again between examples); a name is the same for every example anyway."""
    if not backends.available(request.param):
        pytest.skip(f"the {request.param} backend is not installed")
    return request.param
