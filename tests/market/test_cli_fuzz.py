"""Random market files through `swarm validate`, `solve` and `import` (on SQLite and PostgreSQL): the small
market with a random value (strings with control characters, numbers beyond every column, deep nesting)
put at a random place, random bytes, and random arguments. Each run ends with exit 0 or with a message and
exit 2 (1 only for a failure that is not the input's), never a traceback."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.small_market import market_doc
from tests.swarm import run, run_on

NUMBERS = st.one_of(st.integers(-2**70, 2**70), st.sampled_from([2**31, 2**63, 10**13 + 1, 999_999_999 + 1, 0, -1]),
                    st.floats(allow_nan=False))
LEAF = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=20),
                 st.text(st.characters(codec="utf-8", categories=("Cc", "Cs", "Nd")), max_size=8))
VALUE = st.one_of(LEAF, st.recursive(LEAF, lambda inner: st.lists(inner, max_size=3)
                                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=10),
                  st.integers(1, 3000).map(lambda depth: {"deep": json.loads("[" * depth + "]" * depth)
                                                          if depth < 900 else "x"}))


def places(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the document a value may be put: each key and index, and a new key in each object."""
    out = [path] if path else []
    if isinstance(doc, dict):
        out.append(path + ("extra",))
        for key, value in doc.items():
            out += places(value, path + (key,))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            out += places(value, path + (index,))
    return out


SMALL = market_doc()
PLACES = places(SMALL)


@st.composite
def market_texts(draw: st.DrawFn) -> str:
    """The small market with one to three values replaced, as JSON text; or plain random text, or a
    document nested deeper than any decoder recurses."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.text(max_size=50))
    if kind == 1:
        depth = draw(st.integers(500, 100_000))
        return '{"format": "swarm-market/1", "challenges": ' + "[" * depth + "]" * depth + "}"
    doc = copy.deepcopy(SMALL)
    for _ in range(draw(st.integers(1, 3))):
        place = draw(st.sampled_from(PLACES))
        target = doc
        try:
            for step in place[:-1]:
                target = target[step]
            target[place[-1]] = draw(VALUE)
        except (KeyError, IndexError, TypeError):     # an earlier replacement changed the shape here
            continue
    return json.dumps(doc, allow_nan=False)


def assert_clean(result: Any, allowed: tuple[int, ...] = (0, 2)) -> None:
    """Exit 0, or the input's problem (2), said in words; never an exception that escaped."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in allowed, result.output
    assert "Traceback" not in result.output, result.output
    if result.exit_code:
        assert result.output.strip(), "an error without a message"


FUZZ = settings(max_examples=50, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


def _write(folder: Path, text: str) -> Path:
    path = folder / "market.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


def test_validate_and_solve_take_any_file(tmp_path):
    @FUZZ
    @given(text=market_texts())
    def validate(text: str) -> None:
        assert_clean(run("validate", _write(tmp_path, text)))

    @settings(FUZZ, max_examples=10)
    @given(text=market_texts())
    def solve(text: str) -> None:
        assert_clean(run("solve", _write(tmp_path, text), "-o", tmp_path / "out.json", "--time-limit", "5"))

    validate()
    solve()


def test_import_takes_any_file(db, tmp_path):
    @FUZZ
    @given(text=market_texts())
    def import_(text: str) -> None:
        assert_clean(run_on(db.url, "import", _write(tmp_path, text)))

    import_()


ARG = st.one_of(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12),
                NUMBERS.map(str), st.sampled_from(["-", "--", "--time-limit", "-o", "/dev/null", "nan", "inf"]))


def test_the_round_commands_take_any_arguments(db):
    @FUZZ
    @given(command=st.sampled_from([["export"], ["clear"], ["token", "revoke"], ["token", "list", "--email"],
                                    ["rounds"], ["jobs"], ["job", "show"], ["job", "cancel"], ["job", "retry"]]),
           args=st.lists(ARG, max_size=3))
    def command_(command: list[str], args: list[str]) -> None:
        assert_clean(run_on(db.url, *command, *args), (0, 1, 2))

    command_()
