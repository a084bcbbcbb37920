"""Which bids may win at all, and which challenges can possibly be completed.

Runs before the model is built: a bid that breaks a reserve price or a minimum
reliability is out, and so is every bid that touches a challenge that cannot be
completed or a component that cannot be funded. What is removed here is also
what `reasons` uses to explain unfunded challenges.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .market import Bid, Challenge, Component, Market
from .money import format_money
from .pools import Pool


@dataclass
class Presolve:
    """What the market allows before any choice is made."""
    ineligible: dict[str, list[str]] = field(default_factory=dict)     # bid id -> why not eligible
    unpayable: dict[str, str] = field(default_factory=dict)             # bid id -> why no money can reach it
    impossible_challenges: dict[str, str] = field(default_factory=dict)  # challenge id -> first reason
    impossible_components: dict[str, str] = field(default_factory=dict)  # component key -> reason
    live_bids: tuple[Bid, ...] = ()
    admits: dict[str, tuple[int, ...]] = field(default_factory=dict)    # component key -> pool indices


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


def presolve(market: Market, pools: tuple[Pool, ...]) -> Presolve:
    result = Presolve()
    challenges: dict[str, Challenge] = {c.id: c for c in market.challenges}
    components: dict[str, Component] = {k.key: k for c in market.challenges for k in c.components}
    for challenge in market.challenges:
        for component in challenge.components:
            result.admits[component.key] = tuple(
                pool.index for pool in pools if pool.scope is None or pool.scope.admits(challenge, component))

    live: dict[str, Bid] = {}
    for bid in market.bids:
        why = bid_ineligibility(bid, components)
        if why:
            result.ineligible[bid.id] = why
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
    return result
