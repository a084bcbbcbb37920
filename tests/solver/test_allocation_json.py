"""Allocation.to_json writes exactly what json.dumps(indent=2, ensure_ascii=False) writes, faster."""
from __future__ import annotations

import json
import math

from hypothesis import given, settings, strategies as st

from solver.allocation import dumps_indented
from solver.clearing import ClearOptions, clear
from solver.loading import load_market
from tests.paths import FIXTURES

scalars = (st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text())
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                         | st.dictionaries(st.text(), inner, max_size=4), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_same_text_as_json_dumps(doc):
    assert dumps_indented(doc) == json.dumps(doc, indent=2, ensure_ascii=False)


def test_keys_that_are_not_strings_go_to_json_dumps():
    doc = {"a": {1: "x", None: [1.5, True], 2.5: {}}, "b": []}
    assert dumps_indented(doc) == json.dumps(doc, indent=2, ensure_ascii=False)


def test_an_allocation_as_json_dumps_writes_it():
    allocation = clear(load_market(FIXTURES / "water-sdg6.json"), ClearOptions(explain=False))
    assert allocation.to_json() == json.dumps(allocation.to_document(), indent=2, ensure_ascii=False) + "\n"


def test_special_floats_and_escapes():
    doc = {"n": [math.nan, math.inf, -math.inf, -0.0, 1e300, 0.1], "s": "é\"\\\n\u2028\x00", "t": True}
    assert dumps_indented(doc) == json.dumps(doc, indent=2, ensure_ascii=False)
