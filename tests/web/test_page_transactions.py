"""Pages are rendered after their transaction ends: the page's context (the inbox count) reads in a transaction
of its own, and on SQLite (one write lock, taken at BEGIN) a second transaction inside the first waits the whole
busy timeout. Found when the results page of an uncleared round took 60 s for a signed-in user."""
from __future__ import annotations

import ast
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"


def test_no_page_is_rendered_inside_a_transaction():
    inside = []
    for path in sorted(WEB.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.With) and any("begin" in ast.unparse(item.context_expr) for item in node.items):
                inside += [f"{path.name}:{call.lineno}" for call in ast.walk(node) if isinstance(call, ast.Call)
                           and getattr(call.func, "id", None) == "render_template"]
    assert inside == []


def test_the_results_page_of_an_uncleared_round_answers_at_once(accounts, empty_round):
    import time
    signed_in = accounts.client_for("ana@example.org", "analyst")
    started = time.monotonic()
    assert "not been cleared yet" in signed_in.get(f"/rounds/{empty_round}/results").data.decode()
    assert time.monotonic() - started < 10
