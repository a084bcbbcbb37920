"""Which bids may win at all, and which challenges can possibly be completed.

Runs before the model is built: a bid that breaks a reserve price or a minimum
reliability is out, and so is every bid that touches a challenge that cannot be
completed or a component that cannot be funded. What is removed here is also
what `reasons` uses to explain unfunded challenges.

So rule 4's `max_unit_price` and `min_reliability` are kept here and nowhere in
the model (which has a row for `requires` only); docs/rules.md maps every rule
of the spec to where it is kept.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .dominance import dominated_bids
from .market import Bid, Challenge, Component, Market
from .money import format_money
from .pools import Pool

RELIABILITY_SLACK = 1e-9              # log-space slack for targets met exactly (0.9 x 0.9 = 0.81)


@dataclass
class Presolve:
    """What the market allows before any choice is made."""
    ineligible: dict[str, list[str]] = field(default_factory=dict)     # bid id -> why not eligible
    unpayable: dict[str, str] = field(default_factory=dict)             # bid id -> why no money can reach it
    impossible_challenges: dict[str, str] = field(default_factory=dict)  # challenge id -> first reason
    impossible_components: dict[str, str] = field(default_factory=dict)  # component key -> reason
    live_bids: tuple[Bid, ...] = ()
    admits: dict[str, tuple[int, ...]] = field(default_factory=dict)    # component key -> pool indices
    dominated: dict[str, str] = field(default_factory=dict)             # bid id -> why (names the dominating bid)
    _by_challenge: dict[str, list[Bid]] | None = field(default=None, repr=False, compare=False)

    def live_bids_on(self, challenge_ids: frozenset[str]) -> list[Bid]:
        """The live bids with an item on one of these challenges, in market order (indexed once)."""
        if self._by_challenge is None:
            self._by_challenge = {}
            for bid in self.live_bids:
                # A component key is "<challenge>/<component>" and ids have no "/".
                for cid in dict.fromkeys(item.component.partition("/")[0] for item in bid.items):
                    self._by_challenge.setdefault(cid, []).append(bid)
        if len(challenge_ids) == 1:
            return list(self._by_challenge.get(next(iter(challenge_ids)), ()))
        found = {id(b) for cid in challenge_ids for b in self._by_challenge.get(cid, ())}
        return [b for b in self.live_bids if id(b) in found]


def bid_ineligibility(bid: Bid, components: dict[str, Component]) -> list[str]:
    """Why a bid may not win, from the reserves and reliability floors of its components."""
    reasons = []
    for item in bid.items:
        component = components[item.component]
        if component.max_unit_price is not None and item.price > item.quantity * component.max_unit_price:
            reasons.append(
                f"bid {bid.id} prices {item.component} at {format_money(item.price)} for {item.quantity}, "
                f"above the reserve of {format_money(component.max_unit_price)} a unit")
        if component.min_reliability is not None and bid.reliability < component.min_reliability:
            reasons.append(
                f"bid {bid.id} has reliability {bid.reliability:g}, below the {component.min_reliability:g} "
                f"that {item.component} requires")
    return reasons


def admitting_pools(market: Market, pools: tuple[Pool, ...]) -> dict[str, tuple[int, ...]]:
    """Component key -> the indices of the pools whose scope admits it, ascending.

    Built from each pool's side (its challenges, tags and components, through a tag
    index), so the work is the size of the answer, not components x pools.
    """
    by_tag: dict[str, list[Challenge]] = {}
    for challenge in market.challenges:
        for tag in dict.fromkeys(challenge.tags):
            by_tag.setdefault(tag, []).append(challenge)
    by_id = {c.id: c for c in market.challenges}
    component_of = {k.key: k for c in market.challenges for k in c.components}
    found: dict[str, list[int]] = {k: [] for k in component_of}
    for pool in pools:
        if pool.scope is None:
            for key in found:
                found[key].append(pool.index)
            continue
        if pool.scope.narrows:                  # 1.1: all_tags / exclude_tags, the spec's rule as Scope states it
            for challenge in market.challenges:
                for component in challenge.components:
                    if pool.scope.admits(challenge, component):
                        found[component.key].append(pool.index)
            continue
        whole = {c.id: c for c in (by_id[i] for i in pool.scope.challenges if i in by_id)}
        for tag in pool.scope.tags:
            whole.update((c.id, c) for c in by_tag.get(tag, ()))
        for challenge in whole.values():
            for component in challenge.components:
                found[component.key].append(pool.index)
        for key in dict.fromkeys(pool.scope.components):
            if key in component_of and component_of[key].challenge_id not in whole:
                found[key].append(pool.index)
    return {key: tuple(indices) for key, indices in found.items()}


def presolve(market: Market, pools: tuple[Pool, ...], remove_dominated: bool = True) -> Presolve:
    """`remove_dominated=False` keeps dominated bids (solver/dominance.py) live: tests compare both."""
    result = Presolve()
    components: dict[str, Component] = {k.key: k for c in market.challenges for k in c.components}
    result.admits = admitting_pools(market, pools)

    live: dict[str, Bid] = {}
    for bid in market.bids:
        faults = bid_ineligibility(bid, components)
        if faults:
            result.ineligible[bid.id] = faults
            continue
        unpaid = [item.component for item in bid.items if item.price > 0 and not result.admits[item.component]]
        if unpaid:
            result.unpayable[bid.id] = f"no pledge's scope admits {unpaid[0]}, so nothing can pay bid {bid.id}"
        else:
            live[bid.id] = bid

    # Remove, until nothing changes: bids paid on unpayable components, components
    # without enough eligible quantity, challenges missing a critical component,
    # and every bid touching what cannot be funded.
    while True:
        changed = False
        supply: dict[str, int] = {}
        for bid in live.values():
            for item in bid.items:
                supply[item.component] = supply.get(item.component, 0) + item.quantity
        for key, component in components.items():
            if key in result.impossible_components:
                continue
            have = supply.get(key, 0)
            if have < component.quantity:
                if have == 0 and not result.admits[key]:
                    why = "no pledge's scope admits it, so no bid on it can be paid"
                elif have == 0:
                    why = "no eligible bid"
                else:
                    why = f"eligible bids offer {have} of the {component.quantity} units needed"
                result.impossible_components[key] = why
                changed = True
        for challenge in market.challenges:
            if challenge.id in result.impossible_challenges:
                continue
            for component in challenge.components:
                if component.critical and component.key in result.impossible_components:
                    result.impossible_challenges[challenge.id] = (
                        f"critical component {component.key}: {result.impossible_components[component.key]}")
                    changed = True
                    break
        # A component whose prerequisite cannot be funded cannot be funded either.
        for challenge in market.challenges:
            for component in challenge.components:
                if component.key in result.impossible_components:
                    continue
                for target in component.requires:
                    tkey = f"{challenge.id}/{target}"
                    if tkey in result.impossible_components:
                        result.impossible_components[component.key] = f"it requires {tkey}, which cannot be funded"
                        changed = True
                        break
            if challenge.id in result.impossible_challenges:
                for component in challenge.components:
                    result.impossible_components.setdefault(component.key, "its challenge cannot be completed")
        for bid_id, bid in list(live.items()):
            if any(item.component in result.impossible_components or
                   components[item.component].challenge_id in result.impossible_challenges for item in bid.items):
                del live[bid_id]
                changed = True
        if not changed:
            break
    result.live_bids = tuple(b for b in market.bids if b.id in live)
    # After the fixed point: a dominated bid leaves at least as many dominators as a cover can use
    # (they survived the loop too), and they cover the same quantities, so no component or challenge
    # found possible above becomes impossible (see dominance.py).
    # Version 1.1: dominance never removes a fixed bid, nor a bid where a 1.1 pledge may pay (its (f)).
    if remove_dominated:
        result.dominated = dominated_bids(market, pools, result.live_bids, result.admits)
        if result.dominated:
            result.live_bids = tuple(b for b in result.live_bids if b.id not in result.dominated)
    return result
