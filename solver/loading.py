"""Reading market files: JSON in, a checked `Market` out, or every problem with its JSON path.

The loader walks the document once, in file order, checking shapes, ranges and
cross-references as it goes, and collects every problem rather than stopping at
the first. A market is only returned when there is none. What each rule of the
format owes to loading (ids, quantities, `requires` cycles, scopes, capacities) is
mapped, rule by rule, in docs/rules.md.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bounds import (CHALLENGE_SHARE, LOAD, MATCH, MAX_QUANTITY, PROBABILITY, SHARE, VALUE, Bound,
                     money_problem)
from .ids import ID, ID_CHARACTERS
from .market import (Actor, Bid, BidItem, Capacity, Challenge, Component, Condition, Funder, Market, Pledge,
                     Scope)
from .money import MoneyError, format_money, parse_money

FORMAT = "swarm-market/1"
FORMAT_1_1 = "swarm-market/1.1"
FORMATS = (FORMAT, FORMAT_1_1)
_EITHER = f'"{FORMAT}" or "{FORMAT_1_1}"'
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# Free-text keys any object may carry (didactic notes); everything else unknown is a warning.
_FREE_TEXT = {"note", "description"}
# The keys each object may carry.
_MARKET_KEYS = frozenset({"format", "name", "currency", "challenges", "funders", "actors"})
_CHALLENGE_KEYS = frozenset({"id", "title", "tags", "value", "reliability", "components"})
_COMPONENT_KEYS = frozenset({"id", "title", "unit", "quantity", "critical", "value", "requires", "min_reliability",
                             "max_unit_price"})
_FUNDER_KEYS = frozenset({"id", "name", "pledges"})
# Version 1.1's keys, each an error in a "swarm-market/1" file.
_PLEDGE_KEYS_1_1 = ("min_spend", "max_challenge_share", "conditions")
_SCOPE_KEYS_1_1 = ("all_tags", "exclude_tags")
_BID_KEYS_1_1 = ("fixed",)
_PLEDGE_KEYS = frozenset({"id", "amount", "scope", "max_share", "match", *_PLEDGE_KEYS_1_1})
_SCOPE_KEYS = frozenset({"challenges", "components", "tags", *_SCOPE_KEYS_1_1})
_CONDITION_KEYS = frozenset({"funder", "min"})
_ACTOR_KEYS = frozenset({"id", "name", "reliability", "capacity", "bids"})
_CAPACITY_KEYS = frozenset({"budget", "load"})
_BID_KEYS = frozenset({"id", "items", "reliability", "load", "exclusive_group", *_BID_KEYS_1_1})
_ITEM_KEYS = frozenset({"component", "quantity", "price"})


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class MarketError(Exception):
    """The file is not a valid market; `problems` says every where and what."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = problems
        self.source = source
        head = f"{source}: " if source else ""
        super().__init__(f"{head}{len(problems)} problem(s) in the market:\n" + "\n".join(f"  {p}" for p in problems))


# The most bytes of a market file read (the benchmark's XL market, 100,000 bids, is 18 MB). Reading stops
# there, so a device or a pipe without end (/dev/zero, an open /dev/stdin) is an error, not all the memory.
MAX_FILE_BYTES = 64 * 1024 * 1024


def load_market(path: str | Path, warnings: list[Problem] | None = None) -> Market:
    """Read and check a market file. Raises MarketError listing every problem."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw_bytes = handle.read(MAX_FILE_BYTES + 1)
        if len(raw_bytes) > MAX_FILE_BYTES:
            raise MarketError([Problem("", f"larger than {MAX_FILE_BYTES // 2**20} MB, the most a market file "
                                           "may be")], str(path))
    except FileNotFoundError:
        raise MarketError([Problem("", "no such file")], str(path)) from None
    except IsADirectoryError:
        raise MarketError([Problem("", "is a directory, not a market file")], str(path)) from None
    except OSError as exc:
        raise MarketError([Problem("", f"cannot read the file: {exc.strerror}")], str(path)) from None
    # One stage at a time, each dropping the one before: the bytes, the text and the decoded document of
    # a large market are each tens of megabytes, and only the document is needed to build the Market.
    text = _decode(raw_bytes, str(path))
    del raw_bytes
    data = _decode_json(text, str(path))
    del text
    return parse_market(data, str(path), warnings)


def parse_market_text(raw: bytes | str, source: str = "", warnings: list[Problem] | None = None) -> Market:
    """Parse JSON text into a checked Market."""
    return parse_market(_decode_json(_decode(raw, source), source), source, warnings)


def _decode(raw: bytes | str, source: str) -> str:
    if isinstance(raw, bytes):
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise MarketError([Problem("", f"not UTF-8 text (byte {exc.start})")], source) from None
    return raw


def _decode_json(raw: str, source: str) -> Any:
    if not raw.strip():
        raise MarketError([Problem("", "the file is empty; expected a JSON market object")], source)
    try:
        return decode_json(raw)
    except JsonRefused as exc:
        raise MarketError(exc.problems, source) from None
    except json.JSONDecodeError as exc:
        raise MarketError([Problem("", f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")],
                          source) from None
    except ValueError as exc:
        raise MarketError([Problem("", f"not valid JSON: {exc}")], source) from None


class JsonRefused(ValueError):
    """Text a JSON decoder reads, or would crash on, that the format refuses: a key repeated in one object
    (decoders keep the last value without a word) or nesting deeper than Python's decoder recurses."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def decode_json(raw: str) -> Any:
    """JSON text to a document, as market files and the API's bodies are read: NaN and Infinity are
    errors (ValueError), malformed text a json.JSONDecodeError, and a repeated key or nesting too deep
    JsonRefused with the path of each fault."""
    marked: list[_Repeated] = []

    def obj(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        value = dict(pairs)
        if len(value) == len(pairs):            # the usual case, at the cost of one comparison
            return value
        marked.append(_Repeated(value, pairs))
        return marked[-1]
    try:
        data = json.loads(raw, parse_constant=_reject_constant, object_pairs_hook=obj)
    except RecursionError:                      # Python's decoder recurses once per level of nesting
        raise JsonRefused([Problem("", "not valid JSON: nested too deeply")]) from None
    if marked:
        raise JsonRefused(_repeated_keys(data))
    return data


class _Repeated(dict[str, Any]):
    """A JSON object in which some key appeared more than once. JSON decoders keep the last value without a
    word; the format refuses such an object, so that no value is dropped unseen."""

    def __init__(self, value: dict[str, Any], pairs: list[tuple[str, Any]]) -> None:
        super().__init__(value)
        seen: set[str] = set()
        twice: dict[str, None] = {}
        for key, _ in pairs:
            if key in seen:
                twice[key] = None
            seen.add(key)
        self.repeated = tuple(twice)


def _repeated_keys(data: Any) -> list[Problem]:
    """Every key that appears more than once in one object, at its JSON path, in document order. Walked
    with a stack: a document may nest as deep as the decoder allowed."""
    problems: list[Problem] = []
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key in getattr(value, "repeated", ()):
                problems.append(Problem(_join(path, key), "appears more than once in the same object"))
            stack.extend((_join(path, key), item) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in reversed(list(enumerate(value))))
    return problems


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_market(data: Any, source: str = "", warnings: list[Problem] | None = None) -> Market:
    """Check an already decoded document and build the Market."""
    reader = _Reader()
    market = reader.market(data)
    if warnings is not None:
        warnings.extend(reader.warnings)
    if reader.problems or market is None:
        raise MarketError(reader.problems, source)
    return market


class _Reader:
    """One pass over the document; `problems` and `warnings` fill as it goes."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.challenges: dict[str, Challenge] = {}
        self.components: dict[str, Component] = {}
        self.pledge_ids: set[str] = set()
        self.bid_ids: set[str] = set()
        self.version_1 = False                  # "swarm-market/1": version 1.1 keys are errors
        # Funders named by conditions, checked once every funder is read: (path, funder id).
        self.named_funders: list[tuple[str, str]] = []

    # -- small checkers -------------------------------------------------------------

    def error(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def keys(self, obj: dict[str, Any], path: str, known: frozenset[str], required: tuple[str, ...] = ()) -> None:
        for key in required:
            if key not in obj:
                self.error(path, f'missing required key "{key}"')
        if obj.keys() - known:                  # a set difference in C: most objects have no other key
            for key in obj:
                if key not in known and key not in _FREE_TEXT:
                    self.warnings.append(Problem(_join(path, key), f'unknown key "{key}" (ignored)'))

    def newer(self, obj: dict[str, Any], path: str, keys: tuple[str, ...]) -> None:
        """A version-1.1 key in a "swarm-market/1" file is an error (its value is still checked)."""
        if self.version_1:
            for key in keys:
                if key in obj:
                    self.error(_join(path, key), f'"{key}" is a version 1.1 key: say "format": "{FORMAT_1_1}"')

    def obj(self, value: Any, path: str, what: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.error(path, f"expected {what} (a JSON object), got {_kind(value)}")
        return None

    def list(self, obj: dict[str, Any], key: str, path: str) -> list[Any]:
        if key not in obj:
            return []
        value = obj[key]
        if isinstance(value, list):
            return value
        self.error(_join(path, key), f"expected a list, got {_kind(value)}")
        return []

    def ident(self, obj: dict[str, Any], path: str, key: str = "id") -> str | None:
        if key not in obj:
            return None                     # reported by keys()
        value = obj[key]
        if not isinstance(value, str):
            self.error(_join(path, key), f"expected an id string, got {_kind(value)}")
            return None
        if not ID.fullmatch(value):
            self.error(_join(path, key), f'invalid id "{value}": {ID_CHARACTERS}')
            return None
        return value

    def text(self, obj: dict[str, Any], key: str, path: str) -> str | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.error(_join(path, key), f"expected a string, got {_kind(value)}")
            return None
        return value

    def number(self, obj: dict[str, Any], key: str, path: str, default: Any, check: Callable[[float], bool],
               rule: str, bound: Bound | None = None) -> Any:
        if key not in obj:
            return default
        value = obj[key]
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or (isinstance(value, float) and not math.isfinite(value))):
            self.error(_join(path, key), f"expected a number {rule}, got {_kind(value)}")
            return default
        if not check(value):
            self.error(_join(path, key), f"{value!r} is not {rule}")
            return default
        problem = bound.problem(value) if bound is not None else None
        if problem is not None:
            self.error(_join(path, key), f"{value!r} {problem}")
            return default
        return value

    def probability(self, obj: dict[str, Any], key: str, path: str, bound: Bound = PROBABILITY) -> float | None:
        value = self.number(obj, key, path, None, lambda v: 0 < v <= 1, "in (0, 1]", bound)
        return None if value is None else float(value)

    def money(self, obj: dict[str, Any], key: str, path: str, positive: bool = False) -> int | None:
        if key not in obj:
            return None
        try:
            cents = parse_money(obj[key])
        except MoneyError as exc:
            self.error(_join(path, key), str(exc))
            return None
        if positive and cents == 0:
            self.error(_join(path, key), "must be greater than 0")
            return None
        problem = money_problem(cents)
        if problem is not None:
            self.error(_join(path, key), f"amount {obj[key]!r} {problem}")
            return None
        return cents

    def integer(self, obj: dict[str, Any], key: str, path: str, default: int | None) -> int | None:
        if key not in obj:
            return default
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(_join(path, key), f"expected a whole number >= 1, got {_kind(value)}")
            return default
        if value < 1:
            self.error(_join(path, key), f"{value} is not a whole number >= 1")
            return default
        if value > MAX_QUANTITY:
            self.error(_join(path, key), f"{value} is above {MAX_QUANTITY:,}, the most units a quantity may have")
            return default
        return value

    def strings(self, obj: dict[str, Any], key: str, path: str) -> tuple[str, ...]:
        out = []
        for i, value in enumerate(self.list(obj, key, path)):
            if isinstance(value, str):
                out.append(value)
            else:
                self.error(f"{_join(path, key)}[{i}]", f"expected a string, got {_kind(value)}")
        return tuple(out)

    # -- the document ---------------------------------------------------------------

    def market(self, data: Any) -> Market | None:
        if not isinstance(data, dict):
            self.error("", f"not a market: expected a JSON object with \"format\": \"{FORMAT}\", got {_kind(data)}")
            return None
        if "format" not in data:
            looks_like = any(k in data for k in ("challenges", "funders", "actors"))
            self.error("format", f'missing "format": {_EITHER}' if looks_like
                       else f'not a market: no "format": "{FORMAT}" and none of challenges, funders, actors')
            if not looks_like:
                return None
        elif data["format"] not in FORMATS:
            fmt = data["format"]
            hint = " (that is an allocation, not a market)" if fmt == "swarm-allocation/1" else ""
            self.error("format", f'expected {_EITHER}, got {json.dumps(fmt)}{hint}')
            return None
        self.version_1 = data.get("format") == FORMAT
        self.keys(data, "", _MARKET_KEYS,
                  ("challenges", "funders", "actors"))
        name = self.text(data, "name", "") or ""
        currency = self.text(data, "currency", "") or "USD"
        if "currency" in data and isinstance(data["currency"], str) and not _CURRENCY.fullmatch(currency):
            self.error("currency", f'"{currency}" is not an ISO 4217 code such as "USD"')
        challenges = self.challenge_list(data)
        funders = self.funder_list(data)
        self.check_named_funders({f.id for f in funders})
        actors = self.actor_list(data)
        note = data.get("note") if isinstance(data.get("note"), str) else None
        return Market(challenges=challenges, funders=funders, actors=actors, name=name, currency=currency, note=note)

    def challenge_list(self, data: dict[str, Any]) -> tuple[Challenge, ...]:
        out = []
        for i, raw in enumerate(self.list(data, "challenges", "")):
            path = f"challenges[{i}]"
            obj = self.obj(raw, path, "a challenge")
            if obj is None:
                continue
            self.keys(obj, path, _CHALLENGE_KEYS, ("id", "components"))
            cid = self.ident(obj, path)
            if cid is not None and cid in self.challenges:
                self.error(_join(path, "id"), f'duplicate challenge id "{cid}"')
                cid = None
            components = self.component_list(obj, path, cid or f"#{i}")
            challenge = Challenge(
                id=cid or f"#{i}",
                components=components,
                value=self.number(obj, "value", path, 0, lambda v: v >= 0, ">= 0", VALUE),
                reliability=self.probability(obj, "reliability", path),
                tags=self.strings(obj, "tags", path),
                title=self.text(obj, "title", path),
            )
            if cid is not None:
                self.challenges[cid] = challenge
                for component in components:
                    self.components[component.key] = component
            out.append(challenge)
        return tuple(out)

    def component_list(self, obj: dict[str, Any], path: str, cid: str) -> tuple[Component, ...]:
        raws = self.list(obj, "components", path)
        if "components" in obj and isinstance(obj["components"], list) and not raws:
            self.error(_join(path, "components"), "a challenge needs at least one component")
        out: list[Component] = []
        seen: dict[str, int] = {}
        requires_at: dict[str, tuple[str, tuple[str, ...]]] = {}
        for j, raw in enumerate(raws):
            cpath = f"{path}.components[{j}]"
            cobj = self.obj(raw, cpath, "a component")
            if cobj is None:
                continue
            self.keys(cobj, cpath, _COMPONENT_KEYS, ("id",))
            kid = self.ident(cobj, cpath)
            if kid is not None and kid in seen:
                self.error(_join(cpath, "id"), f'duplicate component id "{kid}" in challenge "{cid}"')
                kid = None
            critical = cobj.get("critical", True)
            if not isinstance(critical, bool):
                self.error(_join(cpath, "critical"), f"expected true or false, got {_kind(critical)}")
                critical = True
            if critical and "value" in cobj:
                self.error(_join(cpath, "value"), "only a non-critical component may carry a value "
                           "(a critical one counts through its challenge's value)")
            requires = self.strings(cobj, "requires", cpath)
            component = Component(
                challenge_id=cid,
                id=kid or f"#{j}",
                quantity=self.integer(cobj, "quantity", cpath, 1) or 1,
                critical=critical,
                value=self.number(cobj, "value", cpath, 0, lambda v: v >= 0, ">= 0", VALUE) if not critical else 0,
                requires=requires,
                min_reliability=self.probability(cobj, "min_reliability", cpath),
                max_unit_price=self.money(cobj, "max_unit_price", cpath),
                title=self.text(cobj, "title", cpath),
                unit=self.text(cobj, "unit", cpath),
            )
            if kid is not None:
                seen[kid] = j
                requires_at[kid] = (cpath, requires)
            out.append(component)
        if raws and out and not any(c.critical for c in out):
            self.error(_join(path, "components"), "at least one component must be critical")
        self.check_requires(cid, requires_at)
        return tuple(out)

    def check_requires(self, cid: str, requires_at: dict[str, tuple[str, tuple[str, ...]]]) -> None:
        """Unknown targets, then cycles, each reported once at the first component on it."""
        graph: dict[str, list[str]] = {}
        for kid, (cpath, requires) in requires_at.items():
            graph[kid] = []
            for r, target in enumerate(requires):
                if target not in requires_at:
                    self.error(f"{cpath}.requires[{r}]", f'unknown component "{target}" in challenge "{cid}"')
                elif target == kid:
                    self.error(f"{cpath}.requires[{r}]", f'component "{kid}" requires itself')
                else:
                    graph[kid].append(target)
        state: dict[str, int] = {}             # 1 on the stack, 2 done
        reported: set[frozenset[str]] = set()

        def visit(node: str, stack: list[str]) -> None:
            state[node] = 1
            stack.append(node)
            for nxt in graph[node]:
                if state.get(nxt) == 1:
                    cycle = stack[stack.index(nxt):]
                    if frozenset(cycle) not in reported:
                        reported.add(frozenset(cycle))
                        start = min(cycle, key=lambda k: requires_at[k][0])
                        self.error(_join(requires_at[start][0], "requires"),
                                   "requires cycle: " + " -> ".join(cycle + [nxt]))
                elif state.get(nxt) is None:
                    visit(nxt, stack)
            stack.pop()
            state[node] = 2

        for kid in graph:
            if state.get(kid) is None:
                visit(kid, [])

    def funder_list(self, data: dict[str, Any]) -> tuple[Funder, ...]:
        out = []
        seen: set[str] = set()
        for i, raw in enumerate(self.list(data, "funders", "")):
            path = f"funders[{i}]"
            obj = self.obj(raw, path, "a funder")
            if obj is None:
                continue
            self.keys(obj, path, _FUNDER_KEYS, ("id",))
            fid = self.ident(obj, path)
            if fid is not None and fid in seen:
                self.error(_join(path, "id"), f'duplicate funder id "{fid}"')
            if fid is not None:
                seen.add(fid)
            fid = fid or f"#{i}"
            pledges = []
            for j, praw in enumerate(self.list(obj, "pledges", path)):
                pledge = self.pledge(praw, f"{path}.pledges[{j}]", fid)
                if pledge is not None:
                    pledges.append(pledge)
            out.append(Funder(id=fid, pledges=tuple(pledges), name=self.text(obj, "name", path)))
        return tuple(out)

    def pledge(self, raw: Any, path: str, fid: str) -> Pledge | None:
        obj = self.obj(raw, path, "a pledge")
        if obj is None:
            return None
        self.keys(obj, path, _PLEDGE_KEYS, ("id", "amount"))
        self.newer(obj, path, _PLEDGE_KEYS_1_1)
        pid = self.ident(obj, path)
        if pid is not None and pid in self.pledge_ids:
            self.error(_join(path, "id"), f'duplicate pledge id "{pid}"')
        if pid is not None:
            self.pledge_ids.add(pid)
        amount = self.money(obj, "amount", path, positive=True)
        scope = self.scope(obj["scope"], _join(path, "scope")) if "scope" in obj else None
        min_spend = self.money(obj, "min_spend", path, positive=True)
        if min_spend is not None and amount is not None and min_spend > amount:
            self.error(_join(path, "min_spend"), f"{format_money(min_spend)} is more than the pledge's amount "
                                                 f"{format_money(amount)}")
        return Pledge(
            id=pid or path,
            funder_id=fid,
            amount=amount or 0,
            scope=scope,
            max_share=self.probability(obj, "max_share", path, SHARE),
            match=self.number(obj, "match", path, None, lambda v: v > 0, "> 0", MATCH),
            min_spend=min_spend,
            max_challenge_share=self.probability(obj, "max_challenge_share", path, CHALLENGE_SHARE),
            conditions=self.conditions(obj, path, fid) if "conditions" in obj else (),
        )

    def conditions(self, obj: dict[str, Any], path: str, fid: str) -> tuple[Condition, ...]:
        """A pledge's "I pay only if they pay": each named funder once, never the pledge's own."""
        raws = self.list(obj, "conditions", path)
        if isinstance(obj["conditions"], list) and not raws:
            self.error(_join(path, "conditions"), "list at least one condition (leave out conditions for none)")
        out: list[Condition] = []
        seen: dict[str, int] = {}
        for i, raw in enumerate(raws):
            cpath = f"{path}.conditions[{i}]"
            cobj = self.obj(raw, cpath, 'a condition {"funder": funder id, "min": amount}')
            if cobj is None:
                continue
            self.keys(cobj, cpath, _CONDITION_KEYS, ("funder", "min"))
            funder = self.ident(cobj, cpath, "funder")
            least = self.money(cobj, "min", cpath, positive=True)
            if funder is None:
                continue
            if funder == fid:
                self.error(_join(cpath, "funder"), f'a pledge of funder "{fid}" may not name its own funder')
            elif funder in seen:
                self.error(_join(cpath, "funder"), f'funder "{funder}" is named twice: conditions[{seen[funder]}] '
                                                   "names it already")
            else:
                seen[funder] = i
                self.named_funders.append((_join(cpath, "funder"), funder))
            if least is not None:
                out.append(Condition(funder_id=funder, min=least))
        return tuple(out)

    def check_named_funders(self, funder_ids: set[str]) -> None:
        for path, funder in self.named_funders:
            if funder not in funder_ids:
                self.error(path, f'unknown funder "{funder}"')

    def scope(self, raw: Any, path: str) -> Scope | None:
        obj = self.obj(raw, path, "a scope")
        if obj is None:
            return None
        self.keys(obj, path, _SCOPE_KEYS)
        self.newer(obj, path, _SCOPE_KEYS_1_1)
        challenges = self.strings(obj, "challenges", path)
        for i, cid in enumerate(challenges):
            if cid not in self.challenges:
                self.error(f"{path}.challenges[{i}]", f'unknown challenge "{cid}"')
        components = self.strings(obj, "components", path)
        for i, key in enumerate(components):
            if key not in self.components:
                self.error(f"{path}.components[{i}]", f'unknown component "{key}"')
        tags = self.strings(obj, "tags", path)
        all_tags = self.strings(obj, "all_tags", path)
        exclude_tags = self.strings(obj, "exclude_tags", path)
        # A scope with only all_tags or exclude_tags starts from every component (version 1.1); empty
        # lists change nothing, so a scope of empty lists still admits nothing.
        if not (challenges or components or tags or all_tags or exclude_tags):
            self.warnings.append(Problem(path, "the scope lists nothing, so the pledge can pay for nothing "
                                               "(leave out scope to admit every component)"))
        return Scope(challenges=challenges, components=components, tags=tags, all_tags=all_tags,
                     exclude_tags=exclude_tags)

    def actor_list(self, data: dict[str, Any]) -> tuple[Actor, ...]:
        out = []
        seen: set[str] = set()
        for i, raw in enumerate(self.list(data, "actors", "")):
            path = f"actors[{i}]"
            obj = self.obj(raw, path, "an actor")
            if obj is None:
                continue
            self.keys(obj, path, _ACTOR_KEYS, ("id",))
            aid = self.ident(obj, path)
            if aid is not None and aid in seen:
                self.error(_join(path, "id"), f'duplicate actor id "{aid}"')
            if aid is not None:
                seen.add(aid)
            aid = aid or f"#{i}"
            reliability = self.probability(obj, "reliability", path)
            capacity = self.capacity(obj["capacity"], _join(path, "capacity")) if "capacity" in obj else None
            actor_reliability = 1.0 if reliability is None else reliability
            bids = []
            for j, braw in enumerate(self.list(obj, "bids", path)):
                bid = self.bid(braw, f"{path}.bids[{j}]", aid, actor_reliability)
                if bid is not None:
                    bids.append(bid)
            out.append(Actor(id=aid, bids=tuple(bids), reliability=actor_reliability, capacity=capacity,
                             name=self.text(obj, "name", path)))
        return tuple(out)

    def capacity(self, raw: Any, path: str) -> Capacity | None:
        obj = self.obj(raw, path, "a capacity")
        if obj is None:
            return None
        self.keys(obj, path, _CAPACITY_KEYS)
        return Capacity(budget=self.money(obj, "budget", path),
                        load=self.number(obj, "load", path, None, lambda v: v >= 0, ">= 0", LOAD))

    def bid(self, raw: Any, path: str, aid: str, actor_reliability: float) -> Bid | None:
        obj = self.obj(raw, path, "a bid")
        if obj is None:
            return None
        self.keys(obj, path, _BID_KEYS, ("id", "items"))
        self.newer(obj, path, _BID_KEYS_1_1)
        bid_id = self.ident(obj, path)
        if bid_id is not None and bid_id in self.bid_ids:
            self.error(_join(path, "id"), f'duplicate bid id "{bid_id}"')
        if bid_id is not None:
            self.bid_ids.add(bid_id)
        raws = self.list(obj, "items", path)
        if "items" in obj and isinstance(obj["items"], list) and not raws:
            self.error(_join(path, "items"), "a bid needs at least one item")
        items = []
        seen: dict[str, int] = {}
        for k, iraw in enumerate(raws):
            ipath = f"{path}.items[{k}]"
            iobj = self.obj(iraw, ipath, "a bid item")
            if iobj is None:
                continue
            self.keys(iobj, ipath, _ITEM_KEYS, ("component", "price"))
            key = iobj.get("component")
            component = None
            if "component" in iobj:
                if not isinstance(key, str):
                    self.error(_join(ipath, "component"), f'expected "<challenge id>/<component id>", got {_kind(key)}')
                elif key not in self.components:
                    self.error(_join(ipath, "component"), f'unknown component "{key}"')
                else:
                    component = self.components[key]
                    if key in seen:
                        self.error(_join(ipath, "component"),
                                   f'component "{key}" repeats items[{seen[key]}] of the same bid')
                    seen[key] = k
            quantity = self.integer(iobj, "quantity", ipath, None)
            price = self.money(iobj, "price", ipath)
            items.append(BidItem(
                component=key if isinstance(key, str) else "",
                quantity=quantity if quantity is not None else (component.quantity if component else 1),
                price=price or 0,
                quantity_given="quantity" in iobj,
            ))
        reliability = self.probability(obj, "reliability", path)
        group = obj.get("exclusive_group")
        if group is not None and not isinstance(group, str):
            self.error(_join(path, "exclusive_group"), f"expected a string, got {_kind(group)}")
            group = None
        fixed = obj.get("fixed", False)
        if not isinstance(fixed, bool):
            self.error(_join(path, "fixed"), f"expected true or false, got {_kind(fixed)}")
            fixed = False
        return Bid(
            id=bid_id or path,
            actor_id=aid,
            items=tuple(items),
            reliability=actor_reliability if reliability is None else reliability,
            load=self.number(obj, "load", path, 0, lambda v: v >= 0, ">= 0", LOAD),
            exclusive_group=group,
            reliability_given=reliability is not None,
            fixed=fixed,
        )


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {json.dumps(value)}"
    if isinstance(value, list):
        return "a list"
    return "an object"
