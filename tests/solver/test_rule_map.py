"""docs/rules.md, the map from each rule of the market format to the code, checked against both.

Every code reference in the map must name something that exists, and every rule of the spec's
"What a clearing must satisfy" must have a row: a rename, or a rule added to the spec, that forgets
the map fails here.
"""
from __future__ import annotations

import fnmatch
import importlib
import re
from pathlib import Path

import pytest

from solver.model import ClearingModel

ROOT = Path(__file__).resolve().parents[2]
MAP = ROOT / "docs" / "rules.md"
SPEC = ROOT.parent / "shared" / "spec" / "market-format.md"
BARE_NAMES_IN = ("solver", "tests/solver")          # where a file named without a folder is
# `file.py` or `file.py: name, Class.method, test_family_*` inside backticks.
REFERENCE = re.compile(r"`([\w./-]+\.py)(?::\s*([^`]*))?`")
RULE_ROW = re.compile(r"^\|\s*\*\*(\d+)\*\*")
SPEC_RULE = re.compile(r"^(\d+)\. ", re.MULTILINE)


def problems_in(text: str) -> list[str]:
    """What is wrong with each code reference in `text` (empty when every one resolves)."""
    problems = []
    for match in REFERENCE.finditer(text):
        file, names = match.group(1), match.group(2)
        path = _locate(file)
        if path is None:
            problems.append(f"{file}: no such file")
            continue
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for name in (n.strip() for n in (names or "").split(",")):
            if name and not _resolves(module, name):
                problems.append(f"{file}: {name} does not exist")
    return problems


def _locate(file: str) -> Path | None:
    candidates = [ROOT / file] if "/" in file else [ROOT / folder / file for folder in BARE_NAMES_IN]
    return next((path for path in candidates if path.is_file()), None)


def _resolves(module: object, dotted: str) -> bool:
    """Whether `a.b.c` is an attribute path from `module`; the last part may be a glob (`test_rule1_*`)."""
    *parents, last = dotted.split(".")
    owner = module
    for part in parents:
        if not hasattr(owner, part):
            return False
        owner = getattr(owner, part)
    return bool(fnmatch.filter(dir(owner), last)) if "*" in last else hasattr(owner, last)


def spec_rules(spec: str) -> tuple[set[int], set[int]]:
    """The rule numbers of "What a clearing must satisfy", and those a later version adds."""
    body = spec.split("## What a clearing must satisfy", 1)[1]
    listed = body.split("\n## ", 1)[0].split("\nObjective", 1)[0]
    added = body.split("Rules added to", 1)[1] if "Rules added to" in body else ""
    return {int(n) for n in SPEC_RULE.findall(listed)}, {int(n) for n in SPEC_RULE.findall(added)}


def rule_rows(text: str) -> dict[int, str]:
    return {int(m.group(1)): line for line in text.splitlines() if (m := RULE_ROW.match(line))}


def test_every_reference_in_the_map_names_existing_code():
    text = MAP.read_text(encoding="utf-8")
    assert len(REFERENCE.findall(text)) > 50        # the pattern still reads the map
    assert problems_in(text) == []


def test_a_reference_to_nothing_is_caught():
    assert problems_in("`model.py: ClearingModel.add_coverage`, `test_rules.py: test_rule1_*`") == []
    assert problems_in("`model.py: ClearingModel.add_nonsense`") == ["model.py: ClearingModel.add_nonsense does not exist"]
    assert problems_in("`test_rules.py: test_rule0_*`") == ["test_rules.py: test_rule0_* does not exist"]
    assert problems_in("`nowhere.py: anything`") == ["nowhere.py: no such file"]


def test_every_rule_row_fills_every_column():
    lines = MAP.read_text(encoding="utf-8").splitlines()
    header = next(line for line in lines if line.startswith("| rule |"))
    columns = header.count("|")
    rows = rule_rows("\n".join(lines))
    assert sorted(rows) == list(range(1, len(rows) + 1))
    for number, row in rows.items():
        assert row.count("|") == columns, f"rule {number}: {row.count('|') - 1} cells, the header has {columns - 1}"


def test_every_rule_method_of_the_model_is_in_the_map():
    text = MAP.read_text(encoding="utf-8")
    for name in dir(ClearingModel):
        if name.startswith("add_"):
            assert f"ClearingModel.{name}" in text, f"ClearingModel.{name} is not in docs/rules.md"


@pytest.mark.skipif(not SPEC.is_file(), reason=f"the spec is not beside the repository ({SPEC} is absent)")
def test_every_rule_of_the_spec_has_a_row():
    listed, added = spec_rules(SPEC.read_text(encoding="utf-8"))
    text = MAP.read_text(encoding="utf-8")
    rows = rule_rows(text)
    assert listed and listed <= set(rows), f"rules without a row in docs/rules.md: {sorted(listed - set(rows))}"
    # Rules of a later format version: a row once implemented, until then named where the map says so.
    pending = text.split("\n## Format 1.1", 1)[1] if "\n## Format 1.1" in text else ""
    for number in sorted(added - set(rows)):
        assert re.search(rf"\b{number}\b", pending), f"rule {number} has neither a row nor a word in docs/rules.md"
