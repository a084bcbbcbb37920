"""Dominated bids: bids another bid can always stand in for, removed before the model is built.

Presolve (eligibility.py) runs this after its fixed point; which rule of the spec each condition
below keeps is in docs/rules.md. The conditions are lettered so as not to read as the spec's rules.

Bid A dominates bid B (A ≻ B) when all of these hold:

  (a) same items: the same components with the same quantities;
  (b) no dearer item: A's price is at most B's on every item (item by item, not just in total: money
      flows per component, so a pledge scope or a max_share that can pay B's item can pay A's);
  (c) no less sure, no heavier: A's reliability is at least B's, and A's load at most B's;
  (d) no tighter actor limits: either A and B are bids of the same actor and A is in no exclusive
      group or in B's, or A's actor has no capacity (no budget, no load) and A is in no exclusive group;
  (e) outside matching: no challenge the items are on is one a matching pool (`match`) may pay into
      (see below);
  (f) outside version-1.1 limits: no challenge the items are on is one a pledge with `min_spend`,
      `max_challenge_share` or `conditions` may pay into (see below); and B is not `fixed`;

and, when A and B are alike in (a)-(d) both ways (equal prices, reliability and load, and each passes
(d) for the other), A comes first in market order, so of identical bids the first is kept.

A bid B is removed when at least `m` bids dominate it, where `m` is the most bids of this shape a
cover can use: `m = max over B's items of ceil(component quantity / item quantity)` (1 when each item
covers its whole component). `m` bids of the same items cover every component they touch.

Why removing such bids never changes the optimum (value first, then cost). Take any feasible set S of
accepted bids (with its payments) that holds a removed bid B; we build a feasible S' with the same
value and no higher cost in which B is no longer used, and repeat.

- Swap. If some A ≻ B is not in S, let S' = S - B + A. Coverage of every component is unchanged (same
  items, same quantities), so the same challenges are done and the same components funded: the value
  and the `requires` rules are unchanged, and so are the links between bids and funded components.
  The cost falls by price(B) - price(A) >= 0. Reliability products can only rise (r_A >= r_B).
  Capacity: with the same actor, budget use falls and load use does not rise, and A is in no group or
  takes B's place in B's group; an actor without capacity and a bid without a group constrain
  nothing. Money: each component's accepted price falls by p_B(k) - p_A(k) >= 0; scale every pool's
  payment to that component by the same factor, so each component is paid exactly, no pool pays
  more than before, and each `max_share` cap (a fraction of the component's cost) still holds. A
  `match` row adds payments over a whole challenge: scaling one component down can lower the
  non-matching money a matching pool's payment elsewhere in the challenge leans on, which is why
  condition (e) keeps matching challenges out.
- Drop. If every bid dominating B is in S, S holds at least m + 1 bids with B's items, and the m
  dominators alone cover B's components; S' = S - B keeps every coverage and funded component, so
  the value; the cost falls by price(B); reliability, capacity and exclusive groups only loosen; the
  payments scale down as above. (With a matching pool in play, a redundant bid can pay for itself by
  unlocking matched money elsewhere in its challenge: another reason for condition (e).)
- Version 1.1 (condition (f)). Both steps scale payments down, which these limits do not survive: a
  `min_spend` pledge paying exactly its minimum would pay less than it; a `max_challenge_share` cap is a
  fraction of the whole challenge's cost, so a cheaper item elsewhere in the challenge lowers the cap on
  money the pledge pays to another component (a dearer bid can unlock capped money, as with matching);
  and a condition asks the named funder to pay at least `min` into the challenge, which a cheaper item
  can make impossible, and with it the conditioned pledge's money. Each of these rows lies inside the
  challenges the limited pledge may pay into (a condition's in the challenges the conditioned pledge
  pays into), so elsewhere the steps above touch none of them. Even identical bids are not
  interchangeable there: with one pledge of 100 whose min_spend is 100, two identical bids of 50 on
  one component, both accepted, are the only allocation that pays (tests/solver/test_dominance_1_1.py).
  A fixed bid must be accepted, so it is never removed; it is left out of the comparisons altogether
  (never counted as a dominator either), which only keeps more bids.

Each swap moves S up the market's dominance order (a strict partial order; the sort below is a
linear extension of it) and each drop makes S smaller, so this ends, with a set of the same value and
no higher cost holding no removed bid. So the optimal value and the least cost at that value are the
same with and without the removed bids. Removal happens after presolve's fixed point: a removed bid
has at least m dominators, so at least m bids of its shape stay (the first m of the order restricted
to them), which still cover its components: the component supplies presolve counted stay enough.

Dominance is transitive, so a removed bid's dominators can be looked for among the kept bids only:
the first m dominators of B in the order have fewer than m dominators each and are kept. Bids are
grouped by their items' (component, quantity) set and, inside a group, sorted by (total price,
-reliability, load, in a group, actor with capacity, market order); each bid is compared with at
most `MAX_COMPARISONS` kept bids of its group, so the work is near-linear. Comparing fewer only keeps
more bids, which is always safe.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

from .market import Bid, Market
from .money import format_money
from .pools import Pool

MAX_COMPARISONS = 64


def _free_actors(market: Market) -> set[str]:
    """Actors without a budget or load limit."""
    return {a.id for a in market.actors
            if a.capacity is None or (a.capacity.budget is None and a.capacity.load is None)}


def dominates(a: Bid, b: Bid, free: set[str]) -> bool:
    """Whether bid `a` may always stand in for bid `b`: conditions (a)-(d) of the module docstring
    ((e), matching, is decided per challenge by `dominated_bids`)."""
    if a.reliability < b.reliability or a.load > b.load:
        return False
    if a.actor_id == b.actor_id:
        if a.exclusive_group is not None and a.exclusive_group != b.exclusive_group:
            return False
    elif a.exclusive_group is not None or a.actor_id not in free:
        return False
    prices = {item.component: (item.quantity, item.price) for item in b.items}
    if len(prices) != len(a.items):
        return False
    for item in a.items:
        theirs = prices.get(item.component)
        if theirs is None or theirs[0] != item.quantity or item.price > theirs[1]:
            return False
    return True


def dominated_bids(market: Market, pools: tuple[Pool, ...], live: Iterable[Bid],
                   admits: dict[str, tuple[int, ...]]) -> dict[str, str]:
    """Bid id -> why it is dominated (naming a dominating bid), for the `live` bids that are."""
    quantity = {k.key: k.quantity for k in market.components}
    challenge_of = {k.key: c.id for c in market.challenges for k in c.components}
    matching = {p.index for p in pools if p.match is not None}
    # (e) and (f): challenges where scaling payments down could break a per-challenge or per-pledge row.
    limited = matching | {p.index for p in pools if any(pledge.conditional for pledge in p.pledges)}
    matched = {challenge_of[key] for key, admitting in admits.items() if limited.intersection(admitting)}
    free = _free_actors(market)
    order: dict[str, int] = {}
    groups: dict[frozenset[tuple[str, int]], list[Bid]] = {}
    for n, bid in enumerate(live):
        order[bid.id] = n
        if bid.fixed or any(challenge_of[item.component] in matched for item in bid.items):
            continue
        groups.setdefault(frozenset((item.component, item.quantity) for item in bid.items), []).append(bid)

    out: dict[str, str] = {}
    for shape, bids in groups.items():
        need = max(math.ceil(quantity[key] / qty) for key, qty in shape)
        if len(bids) <= need:
            continue
        bids.sort(key=lambda b: (b.price, -b.reliability, b.load, b.exclusive_group is not None,
                                 b.actor_id not in free, order[b.id]))
        kept: list[Bid] = []
        for bid in bids:
            found = []
            for other in kept[:MAX_COMPARISONS]:
                if dominates(other, bid, free):
                    found.append(other)
                    if len(found) == need:
                        break
            if len(found) == need:
                out[bid.id] = _reason(bid, found)
            else:
                kept.append(bid)
    return out


def _reason(bid: Bid, by: list[Bid]) -> str:
    first = by[0]
    if len(by) == 1:
        who = f"bid {first.id} offers"
    else:
        who = f"bids {', '.join(b.id for b in by)} each offer"
    same = "identical terms and comes first in the market" if (
        len(by) == 1 and first.price == bid.price and first.reliability == bid.reliability
        and first.load == bid.load and all(i.price == j.price for i, j in zip(
            sorted(first.items, key=lambda i: i.component), sorted(bid.items, key=lambda i: i.component)))
    ) else (f"no higher price on each item ({format_money(first.price)} against {format_money(bid.price)} "
            f"in all), reliability {first.reliability:g} against {bid.reliability:g} and load {first.load:g} "
            f"against {bid.load:g}")
    return (f"dominated: {who} the same items with {same}, under no tighter actor limits, so bid {bid.id} "
            "could only ever stand in for it at no gain")
