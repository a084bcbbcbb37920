"""Splitting a market into parts that can be cleared apart.

Two live challenges are in the same part when some row of the model (model.py)
could hold variables of both: a pool that can pay components of each (its
`pledged` row), a bid with items on each (its `accept`), an actor's budget or
load, or one of its exclusive groups. Every other row (coverage, completion,
requires, share, matching, reliability) lies inside one challenge. So the
model over the whole market is the parts' models side by side, and its
objective (value, then cost) is the sum of theirs: clearing each part alone
and merging gives the optimum of the whole.

Version 1.1 adds no link between challenges that is not there already:
- `min_spend` ties a pledge's payments across every challenge it may pay, the
  same variables as its `pledged` row: the pledge is a pool of its own
  (pools.py never pools a pledge with a 1.1 limit), joined by (a) below.
- `max_challenge_share` caps a pledge's payment into one challenge by that
  challenge's cost: a row inside one challenge.
- A condition of pledge P on funder F holds in each challenge c that P pays
  into: P's payment into c against F's pledges' payments into that same c, a
  row inside c. F's pledges that can pay c are joined with F's other
  challenges through their own `pledged` rows, and P with its other
  challenges through its own, so when P and F can both pay c, everything
  either can pay is in c's part already. When F cannot pay c, P can never pay
  c and nothing needs joining. (tests/solver/test_decompose_1_1.py checks, on
  the model itself, that no row holds variables of two parts.)
- A fixed bid is a bound on its `accept`, inside the part of its challenges;
  when one part cannot accept its fixed bids the whole market is infeasible
  (parts.py).

Union-find over challenges, each market object visited once: near-linear.
"""
from __future__ import annotations

from .eligibility import Presolve
from .market import Market
from .pools import Pool


def independent_parts(market: Market, pools: tuple[Pool, ...], pre: Presolve) -> tuple[tuple[str, ...], ...]:
    """The live challenges (not in `pre.impossible_challenges`) grouped into independent parts.

    Deterministic: parts in the market order of their first challenge, and
    challenges inside a part in market order.
    """
    live = [c.id for c in market.challenges if c.id not in pre.impossible_challenges]
    index = {cid: n for n, cid in enumerate(live)}
    parent = list(range(len(live)))
    size = [1] * len(live)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]          # path halving
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        a, b = find(a), find(b)
        if a != b:
            if size[a] < size[b]:
                a, b = b, a
            parent[b] = a                          # union by size keeps the trees shallow
            size[a] += size[b]

    # Every live bid lies on live challenges only (presolve drops the others).
    challenge_of = {k.key: index[c.id] for c in market.challenges if c.id in index for k in c.components}
    capped = {a.id for a in market.actors
              if a.capacity is not None and (a.capacity.budget is not None or a.capacity.load is not None)}
    first: dict[object, int] = {}                  # an actor's (or exclusive group's) first challenge
    priced: dict[str, int] = {}                    # components some live bid asks money for
    for bid in pre.live_bids:
        home = challenge_of[bid.items[0].component]
        for item in bid.items:
            union(home, challenge_of[item.component])                    # (b) one bid, several challenges
            if item.price > 0:
                priced[item.component] = challenge_of[item.component]
        # (c) a budget or load row holds all the actor's bids; (d) else a group's row holds its bids.
        key: object = bid.actor_id if bid.actor_id in capped else (
            (bid.actor_id, bid.exclusive_group) if bid.exclusive_group is not None else None)
        if key is not None:
            union(first.setdefault(key, home), home)

    # (a) A pool's `pledged` row holds its pay on every component it admits that costs something.
    # Pay variables exist only on such components, so a pool paying one challenge connects nothing.
    paid_by: dict[int, int] = {}                   # pool index -> first challenge it can pay
    for key, n in priced.items():
        for p in pre.admits[key]:
            if pools[p].amount > 0:
                union(paid_by.setdefault(p, n), n)

    groups: dict[int, list[str]] = {}
    for n, cid in enumerate(live):                 # market order: parts by their first challenge
        groups.setdefault(find(n), []).append(cid)
    return tuple(tuple(g) for g in groups.values())
