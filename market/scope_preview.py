"""What a pledge scope admits, said in words and listed, before anything is saved (read-only).

The pledge form shows it: a foundation that ticks `region:kenya` and `sector:sanitation` under "any of
these tags" must see, before it pledges, that Kenyan water boreholes and Ugandan sanitation are in its
scope; under "and all of these tags" that only Kenyan sanitation is. Which components a scope admits is
the engine's own rule (`solver.market.Scope.admits`, the spec's version 1.1), applied to the round's
challenges as the clearing would read them.

Only public figures are used: a challenge's components, quantities and reserve prices (max unit price x
quantity). No bid, no pledge amount: the "cost" shown is the most the reserves allow, never a sealed price.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from solver.market import Challenge as SolverChallenge
from solver.market import Component as SolverComponent
from solver.market import Scope

from . import reads
from .models import Challenge
from .services.common import get_round

SCOPE_KEYS = ("challenges", "components", "tags", "all_tags", "exclude_tags")


@dataclass(frozen=True)
class AdmittedComponent:
    path: str                       # "<challenge>/<component>"
    title: str
    quantity: int
    unit: str | None
    critical: bool
    reserve_cents: int | None       # max unit price x quantity; None: no reserve price stated


@dataclass
class AdmittedChallenge:
    key: str
    title: str
    tags: list[str]
    components: list[AdmittedComponent]
    left_out: list[str] = field(default_factory=list)     # its components the scope does not admit

    @property
    def reserve_cents(self) -> int:
        """The admitted components' reserves (those that state one)."""
        return sum(k.reserve_cents or 0 for k in self.components)

    @property
    def unpriced(self) -> int:
        return sum(1 for k in self.components if k.reserve_cents is None)

    @property
    def whole(self) -> bool:
        return not self.left_out


@dataclass
class Preview:
    """What a scope admits in one round: the words, the challenges (in the round's order), the total."""
    words: str
    challenges: list[AdmittedChallenge]
    warnings: list[str]
    round_challenges: int                  # how many challenges the round has

    @property
    def empty(self) -> bool:
        return not self.challenges

    @property
    def components(self) -> int:
        return sum(len(c.components) for c in self.challenges)

    @property
    def total_cents(self) -> int:
        """The admitted components' reserve prices, summed (components without one count nothing)."""
        return sum(c.reserve_cents for c in self.challenges)

    @property
    def unpriced(self) -> int:
        return sum(c.unpriced for c in self.challenges)


def to_scope(scope: dict[str, Any] | None) -> Scope | None:
    """The stored (or submitted) scope as the engine's Scope; None admits every component."""
    if scope is None:
        return None
    return Scope(**{k: tuple(str(v) for v in scope.get(k) or ()) for k in SCOPE_KEYS})


def _solver_challenge(c: Challenge) -> SolverChallenge:
    return SolverChallenge(id=c.key, title=c.title, tags=tuple(c.tags or ()), value=c.value,
                           components=tuple(SolverComponent(challenge_id=c.key, id=k.key, quantity=k.quantity,
                                                            critical=k.critical, title=k.title, unit=k.unit,
                                                            max_unit_price=k.max_unit_price_cents)
                                            for k in c.components))


def admitted(challenges: Sequence[Challenge], scope: dict[str, Any] | None) -> list[AdmittedChallenge]:
    """The challenges of which `scope` admits at least one component, with those components."""
    rule = to_scope(scope)
    out = []
    for row in challenges:
        c = _solver_challenge(row)
        inside, outside = [], []
        for k in c.components:
            if rule is None or rule.admits(c, k):
                reserve = None if k.max_unit_price is None else k.max_unit_price * k.quantity
                inside.append(AdmittedComponent(k.key, k.title or k.id, k.quantity, k.unit, k.critical, reserve))
            else:
                outside.append(k.key)
        if inside:
            out.append(AdmittedChallenge(c.id, c.title or c.id, list(c.tags), inside, outside))
    return out


def preview(session: Session, round_id: int, scope: dict[str, Any] | None) -> Preview:
    """What `scope` (a pledge's scope as stored, or as the form would save it) admits in the round."""
    get_round(session, round_id)
    return preview_of(reads.challenges(session, round_id), scope)


def preview_of(challenges: Sequence[Challenge], scope: dict[str, Any] | None) -> Preview:
    """`preview` over a round's challenges already read (`reads.challenges`)."""
    titles = {c.key: c.title or c.key for c in challenges}
    found = warnings(scope)
    if scope:
        paths = {f"{c.key}/{k.key}" for c in challenges for k in c.components}
        carried = {t for c in challenges for t in c.tags or ()}
        found += [f"no challenge {k!r} in this round" for k in scope.get("challenges") or () if k not in titles]
        found += [f"no component {k!r} in this round" for k in scope.get("components") or () if k not in paths]
        found += [f"no challenge of this round is tagged {t}"
                  for name in ("tags", "all_tags") for t in scope.get(name) or () if t not in carried]
    return Preview(describe(scope, titles), admitted(challenges, scope), found, len(challenges))


def _either(items: Iterable[str], word: str = "or") -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def describe(scope: dict[str, Any] | None, titles: dict[str, str] | None = None) -> str:
    """The scope in words, as the engine reads it, e.g. "Every component of a challenge tagged region:kenya
    and sector:sanitation, but never in a challenge tagged conflict-zone."."""
    if scope is None:
        return "Every component of every challenge of the round."
    titles = titles or {}
    names = [f"{titles[k]} ({k})" if titles.get(k, k) != k else k for k in scope.get("challenges") or ()]
    components, tags = list(scope.get("components") or ()), list(scope.get("tags") or ())
    any_of = []
    if names:
        any_of.append(f"every component of challenge {names[0]}" if len(names) == 1
                      else f"every component of the challenges {_either(names)}")
    if components:
        any_of.append(f"component{'s' if len(components) > 1 else ''} {_either(components, 'and')}")
    if tags:
        any_of.append(f"every component of a challenge tagged {tags[0]}" if len(tags) == 1 else
                      f"every component of a challenge tagged with at least one of {_either(tags)} "
                      "(any one is enough)")
    all_tags, exclude = list(scope.get("all_tags") or ()), list(scope.get("exclude_tags") or ())
    if any_of:
        text = "; or ".join(any_of)
        if all_tags:
            text += f"; but only where the challenge is also tagged {_either(all_tags, 'and')}"
    elif all_tags:
        text = f"every component of a challenge tagged {_either(all_tags, 'and')}"
    elif exclude:
        text = "every component of every challenge"
    else:
        return "Nothing: this scope admits no component."
    if exclude:
        text += f", but never in a challenge tagged {_either(exclude)}"
    return text[0].upper() + text[1:] + "."


def warnings(scope: dict[str, Any] | None) -> list[str]:
    """Plain warnings about a scope that may not mean what its funder meant."""
    if not scope:
        return []
    out = []
    tags, all_tags = list(scope.get("tags") or ()), list(scope.get("all_tags") or ())
    if len(tags) > 1:
        out.append(f'"Any of these tags" widens: a challenge tagged {tags[0]} but not {tags[1]} is in scope. '
                   f'To require {_either(tags, "and")} together, tick them under "and all of these tags".')
    both = sorted(set(scope.get("exclude_tags") or ()) & (set(tags) | set(all_tags)))
    if both:
        out.append(f"{_either(both, 'and')} is both wanted and excluded: excluded wins, so nothing tagged "
                   f"{_either(both)} is in scope.")
    return out
