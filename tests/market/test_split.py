"""market/split.py: whole-cent two-way splits keep both margins exact and every cell at its floor or ceiling."""
from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from market.split import split_table


def test_a_small_table_by_hand():
    # 100 cents over items 60 and 40, from pledges 70 and 30: exact 42, 18 / 28, 12 (already whole).
    assert split_table([60, 40], [70, 30]) == [[42, 18], [28, 12]]
    # Thirds: 10 over rows 5, 5 and columns 3, 3, 4: exact 1.5, 1.5, 2 per row.
    table = split_table([5, 5], [3, 3, 4])
    assert [sum(r) for r in table] == [5, 5] and [sum(c) for c in zip(*table)] == [3, 3, 4]
    assert table == split_table([5, 5], [3, 3, 4])               # deterministic


def test_inconsistent_totals_are_refused():
    with pytest.raises(ValueError, match="differ"):
        split_table([5], [4])


@given(st.data())
def test_margins_exact_and_cells_within_a_cent(data):
    rows = data.draw(st.lists(st.integers(0, 10**7), min_size=1, max_size=6))
    total = sum(rows)
    n = data.draw(st.integers(1, 6))
    cuts = sorted(data.draw(st.lists(st.integers(0, total), min_size=n - 1, max_size=n - 1)))
    cols = [b - a for a, b in zip([0, *cuts], [*cuts, total])]
    table = split_table(rows, cols)
    assert [sum(r) for r in table] == rows
    assert [sum(c) for c in zip(*table)] == cols
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            exact = Fraction(r * c, total) if total else Fraction(0)
            assert exact - 1 < table[i][j] < exact + 1 and table[i][j] >= 0
