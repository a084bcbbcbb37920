"""Pooling pledges: pledges that are interchangeable become one pool in the model.

Pledges with the same scope and the same limits behave as one pool, so flow
variables grow with distinct scopes, not with pledges. A pledge's only limit
without `max_share` or `match` is its amount, so such pledges pool by scope
alone and a pool's money splits back in proportion to amounts. `max_share` and
`match` cap each pledge separately; pooled pledges meet those caps under a
proportional split only when their amounts are equal, so for them the amount
is part of the pool key.

Version 1.1: a pledge with `min_spend`, `max_challenge_share` or `conditions` is its own pool (its limits
are its own, and a condition's "p pays into c" is per pledge). A funder that some condition names pools
only with its own pledges, so that "the pledges of F pay at least min into c" is a sum of whole pools'
flows, which the rounding (flows.py) can keep exact; a version-1 market names no funder, so its pools are
what they were.

Pools are where rule 5's money starts; docs/rules.md follows it through the
model, the rounding (flows.py), the greedy start and the checker.
"""
from __future__ import annotations

from dataclasses import dataclass

from .market import Market, Pledge, Scope


@dataclass(frozen=True, slots=True)
class Pool:
    index: int
    pledges: tuple[Pledge, ...]             # market order
    scope: Scope | None
    max_share: float | None
    match: float | None

    @property
    def amount(self) -> int:
        return sum(p.amount for p in self.pledges)

    @property
    def size(self) -> int:
        return len(self.pledges)

    @property
    def share_cap(self) -> float | None:
        """The pool's cap as a fraction of a component's cost (None: no cap)."""
        if self.max_share is None or self.max_share * self.size >= 1:
            return None
        return self.max_share * self.size

    @property
    def match_ratio(self) -> float | None:
        """The pool's matching ratio against non-matching money in a challenge."""
        return None if self.match is None else self.match * self.size

    @property
    def conditional(self) -> bool:
        """True for the pool of a pledge with a version-1.1 limit (such a pool holds that pledge alone)."""
        return self.pledges[0].conditional

    def label(self) -> str:
        first = self.pledges[0].id
        return first if self.size == 1 else f"{first} (+{self.size - 1} pooled)"


def _scope_key(scope: Scope | None) -> tuple[tuple[str, ...], ...] | None:
    if scope is None:
        return None
    return (tuple(sorted(set(scope.challenges))), tuple(sorted(set(scope.components))), tuple(sorted(set(scope.tags))),
            tuple(sorted(set(scope.all_tags))), tuple(sorted(set(scope.exclude_tags))))


def named_funders(market: Market) -> frozenset[str]:
    """The funders some pledge's condition names (version 1.1)."""
    return frozenset(c.funder_id for p in market.pledges for c in p.conditions)


def make_pools(market: Market) -> tuple[Pool, ...]:
    groups: dict[tuple[object, ...], list[Pledge]] = {}
    named = named_funders(market)
    for pledge in market.pledges:
        capped = pledge.max_share is not None or pledge.match is not None
        key: tuple[object, ...] = (_scope_key(pledge.scope), pledge.max_share, pledge.match,
                                   pledge.amount if capped else None)
        if pledge.funder_id in named:
            key = (*key, "funder", pledge.funder_id)    # a named funder's money stays apart (see above)
        if pledge.conditional:
            key = ("alone", pledge.id)      # 1.1 limits are per pledge: never pooled (yet)
        groups.setdefault(key, []).append(pledge)
    return tuple(
        Pool(index=i, pledges=tuple(members), scope=members[0].scope,
             max_share=members[0].max_share, match=members[0].match)
        for i, members in enumerate(groups.values())
    )
