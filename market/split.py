"""Whole-cent splits of money over a table with both margins exact (issue 17: a component's flows over the items
on it, each pledge's part of an item over its milestones).

`split_table(rows, cols)`: rows and columns are integer totals with the same sum; the exact table is
rows[i] x cols[j] / total, and the answer rounds every cell to its floor or its ceiling so that each row still
sums to rows[i] and each column to cols[j]. Such a rounding always exists for a two-way table (the cells to
round up are a b-matching between row and column deficits over the fractional cells); it is found as a maximum
flow, deterministically (rows, columns and augmenting paths in index order).
"""
from __future__ import annotations

from collections import deque


def split_table(rows: list[int], cols: list[int]) -> list[list[int]]:
    total = sum(rows)
    if total != sum(cols):
        raise ValueError(f"row totals ({total}) and column totals ({sum(cols)}) differ")
    if any(v < 0 for v in rows + cols):
        raise ValueError("totals are never negative")
    if total == 0:
        return [[0] * len(cols) for _ in rows]
    cells = [[r * c // total for c in cols] for r in rows]
    fractional = [[(r * c) % total != 0 for c in cols] for r in rows]
    row_need = [r - sum(line) for r, line in zip(rows, cells)]
    col_need = [c - sum(cells[i][j] for i in range(len(rows))) for j, c in enumerate(cols)]
    # Maximum flow: source -> row i (row_need) -> column j (1, where fractional) -> sink (col_need).
    n_rows, n_cols = len(rows), len(cols)
    chosen = [[False] * n_cols for _ in rows]
    row_left, col_left = list(row_need), list(col_need)
    while True:
        path = _augmenting_path(fractional, chosen, row_left, col_left)
        if path is None:
            break
        for i, j, forward in path:
            chosen[i][j] = forward
        row_left[path[0][0]] -= 1
        col_left[path[-1][1]] -= 1
    if any(row_left) or any(col_left):
        raise AssertionError("no whole-cent rounding found: the totals are inconsistent")
    return [[cells[i][j] + (1 if chosen[i][j] else 0) for j in range(n_cols)] for i in range(n_rows)]


def _augmenting_path(fractional: list[list[bool]], chosen: list[list[bool]], row_left: list[int],
                     col_left: list[int]) -> list[tuple[int, int, bool]] | None:
    """Breadth first from every row still short, over unchosen cells forward (row -> column) and chosen cells
    backward (column -> row), to a column still short: the cells to flip, in path order."""
    n_rows, n_cols = len(fractional), len(fractional[0]) if fractional else 0
    came_from: dict[tuple[str, int], tuple[str, int] | None] = {}
    queue: deque[tuple[str, int]] = deque()
    for i in range(n_rows):
        if row_left[i] > 0:
            came_from["r", i] = None
            queue.append(("r", i))
    while queue:
        side, k = queue.popleft()
        if side == "r":
            for j in range(n_cols):
                if fractional[k][j] and not chosen[k][j] and ("c", j) not in came_from:
                    came_from["c", j] = ("r", k)
                    if col_left[j] > 0:
                        return _path(came_from, ("c", j))
                    queue.append(("c", j))
        else:
            for i in range(n_rows):
                if chosen[i][k] and ("r", i) not in came_from:
                    came_from["r", i] = ("c", k)
                    queue.append(("r", i))
    return None


def _path(came_from: dict[tuple[str, int], tuple[str, int] | None], end: tuple[str, int]
          ) -> list[tuple[int, int, bool]]:
    steps: list[tuple[int, int, bool]] = []
    node: tuple[str, int] | None = end
    while node is not None:
        before = came_from[node]
        if before is None:
            break
        if node[0] == "c":              # row before -> column node: choose the cell
            steps.append((before[1], node[1], True))
        else:                           # column before -> row node: unchoose the cell
            steps.append((node[1], before[1], False))
        node = before
    steps.reverse()
    return steps
