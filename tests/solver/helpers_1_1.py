"""Version-1.1 markets for the tests of the engine's helpers (greedy, dominance, parts): a version-1
document read by the loader, then given the 1.1 keys on its frozen dataclasses, so the tests do not
depend on how a 1.1 file is read."""
from __future__ import annotations

import dataclasses
from typing import Any

from solver.eligibility import Presolve, presolve
from solver.loading import parse_market
from solver.market import Condition, Market, Scope
from solver.pools import Pool, make_pools


def upgraded(doc: dict[str, Any], pledges: dict[str, dict[str, Any]] | None = None,
             fixed: tuple[str, ...] = ()) -> Market:
    """`doc` read, then each named pledge given the keyword changes (conditions as (funder, min) pairs,
    scope as a Scope) and each bid in `fixed` made fixed."""
    market = parse_market(doc)
    changes = pledges or {}
    funders = []
    for funder in market.funders:
        mine = []
        for pledge in funder.pledges:
            extra = dict(changes.get(pledge.id, {}))
            if "conditions" in extra:
                extra["conditions"] = tuple(Condition(f, m) for f, m in extra["conditions"])
            mine.append(dataclasses.replace(pledge, **extra))
        funders.append(dataclasses.replace(funder, pledges=tuple(mine)))
    actors = [dataclasses.replace(a, bids=tuple(dataclasses.replace(b, fixed=b.id in fixed) for b in a.bids))
              for a in market.actors]
    return dataclasses.replace(market, funders=tuple(funders), actors=tuple(actors))


def prepared(market: Market) -> tuple[tuple[Pool, ...], Presolve]:
    pools = make_pools(market)
    return pools, presolve(market, pools)


def scope(*challenges: str, components: tuple[str, ...] = ()) -> Scope:
    return Scope(challenges=challenges, components=components)
