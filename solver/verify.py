"""An independent check of an allocation against its market.

Trusts nothing in the allocation but the awards and the flows: coverage,
completion, value, cost, spent and returned are all recomputed from those and
from the market, then every rule of the spec is checked and every summary field
compared. Written apart from the model so that a bug in one is caught by the other.
It checks again what presolve keeps out of the model (reserves, reliability floors)
and rule 5 with the rounding tolerances of the spec; docs/rules.md maps each rule
to its check here and to the other places that keep it. Version 1.1 adds rule 8
(min_spend and conditions exactly on the cents, max_challenge_share within one cent
a flow), rule 9 (every fixed bid accepted) and the status "infeasible": those
checks find nothing to do in a version-1 market, so its messages are unchanged.
"""
from __future__ import annotations

import math
from typing import Any

from .allocation import FORMAT
from .market import Bid, Challenge, Component, Market, Pledge, Scope
from .money import MoneyError, format_money, parse_money

RELIABILITY_TOLERANCE = 1e-9


class _Bad(Exception):
    pass


def verify_allocation(market: Market, doc: Any) -> list[str]:
    """Every violation found, each a sentence with where; empty when the allocation is valid."""
    problems: list[str] = []
    try:
        _verify(market, doc, problems)
    except _Bad as exc:
        problems.append(str(exc))
    return problems


def recompute(market: Market, doc: dict[str, Any]) -> dict[str, Any]:
    """Value, cost, spent and returned as the awards and flows make them (for reports)."""
    bids = {b.id: b for b in market.bids}
    accepted = [bids[a["bid"]] for a in doc.get("awards", []) if a.get("bid") in bids]
    covered = _covered(accepted)
    value: float = 0
    completed = 0
    for challenge in market.challenges:
        if all(covered.get(k.key, 0) >= k.quantity for k in challenge.components if k.critical):
            completed += 1
            value += challenge.value + sum(k.value for k in challenge.components
                                           if not k.critical and covered.get(k.key, 0) >= k.quantity)
    spent = sum(_money(f.get("amount"), "flow") for f in doc.get("flows", []))
    pledged = sum(p.amount for p in market.pledges)
    return {"completed": completed, "value": value, "cost": sum(b.price for b in accepted),
            "spent": spent, "returned": pledged - spent}


def _covered(accepted: list[Bid]) -> dict[str, int]:
    covered: dict[str, int] = {}
    for bid in accepted:
        for item in bid.items:
            covered[item.component] = covered.get(item.component, 0) + item.quantity
    return covered


class _Admits:
    """Pledge.admits with each scope's lists made sets once, so a flow costs O(1), not the scope's length."""

    def __init__(self) -> None:
        self.sets: dict[int, tuple[Scope, frozenset[str], frozenset[str], frozenset[str]]] = {}

    def __call__(self, pledge: Pledge, challenge: Challenge, component: Component) -> bool:
        scope = pledge.scope
        if scope is None:
            return True
        found = self.sets.get(id(scope))
        if found is None or found[0] is not scope:
            found = self.sets[id(scope)] = (scope, frozenset(scope.challenges), frozenset(scope.components),
                                            frozenset(scope.tags))
        _, challenges, components, tags = found
        if scope.narrows:               # 1.1: all_tags / exclude_tags; the spec's rule, as Scope states it
            return scope.admits(challenge, component)
        return (challenge.id in challenges or component.key in components
                or (bool(tags) and any(tag in tags for tag in challenge.tags)))


def _money(raw: Any, where: str) -> int:
    if not isinstance(raw, str):
        raise _Bad(f"{where}: money must be a decimal string with two fraction digits, got {raw!r}")
    try:
        return parse_money(raw)
    except MoneyError as exc:
        raise _Bad(f"{where}: {exc}") from None


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    if not isinstance(value, list):
        raise _Bad(f"{key}: expected a list")
    return value


def _verify(market: Market, doc: Any, problems: list[str]) -> None:
    if not isinstance(doc, dict):
        raise _Bad("the allocation is not a JSON object")
    if doc.get("format") != FORMAT:
        raise _Bad(f'format: expected "{FORMAT}", got {doc.get("format")!r}')
    status = doc.get("status")
    if status not in ("optimal", "feasible", "error", "infeasible"):
        problems.append(f"status: {status!r} is not optimal, feasible, infeasible or error")
    if doc.get("market") != market.name:
        problems.append(f"market: {doc.get('market')!r} is not the market's name {market.name!r}")
    if not isinstance(doc.get("solver"), dict) or "backend" not in doc["solver"] or "seconds" not in doc["solver"]:
        problems.append("solver: expected an object with at least backend and seconds")

    components: dict[str, Component] = {k.key: k for k in market.components}
    challenge_of = {k.key: k.challenge_id for k in market.components}
    bids = {b.id: b for b in market.bids}
    position = {bid_id: n for n, bid_id in enumerate(bids)}
    actors = {a.id: a for a in market.actors}

    # Rule 1: awards are whole bids at their own prices.
    accepted: list[Bid] = []
    seen: set[str] = set()
    for i, award in enumerate(_list(doc, "awards")):
        where = f"awards[{i}]"
        bid = bids.get(award.get("bid", "")) if isinstance(award, dict) else None
        if bid is None:
            problems.append(f"{where}: unknown bid {award.get('bid') if isinstance(award, dict) else award!r}")
            continue
        if bid.id in seen:
            problems.append(f"{where}: bid {bid.id} is awarded twice")
            continue
        seen.add(bid.id)
        accepted.append(bid)
        if award.get("actor") != bid.actor_id:
            problems.append(f"{where}: bid {bid.id} belongs to actor {bid.actor_id}, not {award.get('actor')!r}")
        if _money(award.get("price"), f"{where}.price") != bid.price:
            problems.append(f"{where}: price {award.get('price')} is not the bid's {format_money(bid.price)} "
                            "(pay as bid)")
        items = award.get("items")
        expected = [{"component": it.component, "quantity": it.quantity, "price": format_money(it.price)}
                    for it in bid.items]
        if not isinstance(items, list) or [
                {"component": it.get("component"), "quantity": it.get("quantity"), "price": it.get("price")}
                for it in items if isinstance(it, dict)] != expected:
            problems.append(f"{where}: items are not exactly bid {bid.id}'s items (a bid is accepted whole)")
    accepted.sort(key=lambda b: position[b.id])

    # Rules 2-4: coverage, completion, requires, reserves and reliability floors.
    covered = _covered(accepted)
    funded = {key: covered.get(key, 0) >= k.quantity for key, k in components.items()}
    completed = {c.id: all(funded[k.key] for k in c.components if k.critical) for c in market.challenges}
    for key, k in components.items():
        have = covered.get(key, 0)
        if 0 < have < k.quantity:
            problems.append(f"component {key}: accepted bids cover {have} of {k.quantity}; an unfunded component "
                            "must be covered by no accepted bid")
        if have and not completed[k.challenge_id]:
            problems.append(f"component {key}: funded although challenge {k.challenge_id} is not completed")
        if funded[key]:
            for target in k.requires:
                if not funded[f"{k.challenge_id}/{target}"]:
                    problems.append(f"component {key}: funded but requires {k.challenge_id}/{target}, which is not")
    for bid in accepted:
        for item in bid.items:
            k = components[item.component]
            if k.max_unit_price is not None and item.price > item.quantity * k.max_unit_price:
                problems.append(f"bid {bid.id}: item on {item.component} is above its reserve price")
            if k.min_reliability is not None and bid.reliability < k.min_reliability:
                problems.append(f"bid {bid.id}: reliability {bid.reliability:g} is below {item.component}'s "
                                f"min_reliability {k.min_reliability:g}")

    # Rule 5: flows pay every accepted item in full, within scopes, amounts, shares and matching.
    item_cost: dict[str, int] = {}
    for bid in accepted:
        for item in bid.items:
            item_cost[item.component] = item_cost.get(item.component, 0) + item.price
    pledges = {p.id: p for p in market.pledges}
    challenges = {c.id: c for c in market.challenges}
    admits = _Admits()
    paid: dict[str, int] = {}
    spent: dict[str, int] = {}
    pair: dict[tuple[str, str], int] = {}
    into: dict[tuple[str, str], int] = {}            # (pledge, challenge) -> cents
    flows_into: dict[tuple[str, str], int] = {}      # (pledge, challenge) -> number of flows
    base: dict[str, int] = {}                         # challenge -> cents from non-matching pledges
    for i, flow in enumerate(_list(doc, "flows")):
        where = f"flows[{i}]"
        if not isinstance(flow, dict):
            problems.append(f"{where}: not an object")
            continue
        pledge = pledges.get(flow.get("pledge", ""))
        component_key = flow.get("component")
        amount = _money(flow.get("amount"), f"{where}.amount")
        if pledge is None:
            problems.append(f"{where}: unknown pledge {flow.get('pledge')!r}")
            continue
        if not isinstance(component_key, str) or component_key not in components:
            problems.append(f"{where}: unknown component {component_key!r}")
            continue
        if flow.get("funder") != pledge.funder_id:
            problems.append(f"{where}: pledge {pledge.id} belongs to funder {pledge.funder_id}, "
                            f"not {flow.get('funder')!r}")
        if amount <= 0:
            problems.append(f"{where}: amounts must be > 0")
        if (pledge.id, component_key) in pair:
            problems.append(f"{where}: a second flow from pledge {pledge.id} to {component_key}")
        pair[pledge.id, component_key] = pair.get((pledge.id, component_key), 0) + amount
        k = components[component_key]
        if not admits(pledge, challenges[k.challenge_id], k):
            problems.append(f"{where}: pledge {pledge.id}'s scope does not admit {component_key}")
        paid[component_key] = paid.get(component_key, 0) + amount
        spent[pledge.id] = spent.get(pledge.id, 0) + amount
        cid = k.challenge_id
        into[pledge.id, cid] = into.get((pledge.id, cid), 0) + amount
        flows_into[pledge.id, cid] = flows_into.get((pledge.id, cid), 0) + 1
        if pledge.match is None:
            base[cid] = base.get(cid, 0) + amount
    for key in components:
        if paid.get(key, 0) != item_cost.get(key, 0):
            problems.append(f"component {key}: flows total {format_money(paid.get(key, 0))} but its accepted items "
                            f"cost {format_money(item_cost.get(key, 0))}")
    for pid, total in spent.items():
        if total > pledges[pid].amount:
            problems.append(f"pledge {pid}: pays {format_money(total)}, more than its amount "
                            f"{format_money(pledges[pid].amount)}")
    for (pid, key), amount in pair.items():
        share = pledges[pid].max_share
        if share is not None and amount - share * item_cost.get(key, 0) >= 1 - 1e-9:
            problems.append(f"pledge {pid}: pays {format_money(amount)} of {key}, over its max_share {share:g} of "
                            f"{format_money(item_cost.get(key, 0))}")
    for (pid, cid), amount in into.items():
        ratio = pledges[pid].match
        if ratio is not None and amount - ratio * base.get(cid, 0) >= (1 + ratio) * flows_into[pid, cid] - 1e-9:
            problems.append(f"pledge {pid}: pays {format_money(amount)} into {cid}, over {ratio:g} x the "
                            f"{format_money(base.get(cid, 0))} that non-matching pledges pay into it")

    _check_rule_8(market, problems, spent, into, flows_into, item_cost, challenge_of)
    _check_rule_9(market, doc, problems, seen)

    # Rules 6-7: reliability targets, actor capacity and exclusive groups.
    reliability: dict[str, float] = {c.id: 1.0 for c in market.challenges}
    for bid in accepted:
        for cid in dict.fromkeys(challenge_of[item.component] for item in bid.items):
            reliability[cid] *= bid.reliability
    for challenge in market.challenges:
        wanted = challenge.reliability
        short = wanted is not None and reliability[challenge.id] < wanted * (1 - RELIABILITY_TOLERANCE)
        if completed[challenge.id] and short:
            problems.append(f"challenge {challenge.id}: reliability {reliability[challenge.id]:.6f} is below its "
                            f"target {wanted:g}")
    won_by: dict[str, list[Bid]] = {}
    for bid in accepted:
        won_by.setdefault(bid.actor_id, []).append(bid)
    for actor_id, actor in actors.items():
        won = won_by.get(actor_id, [])
        cap = actor.capacity
        if cap is not None and cap.budget is not None and sum(b.price for b in won) > cap.budget:
            problems.append(f"actor {actor_id}: accepted bids total {format_money(sum(b.price for b in won))}, "
                            f"over its budget {format_money(cap.budget)}")
        if cap is not None and cap.load is not None and sum(b.load for b in won) > cap.load * (1 + 1e-12) + 1e-12:
            problems.append(f"actor {actor_id}: accepted load {sum(b.load for b in won):g} is over its capacity "
                            f"{cap.load:g}")
        groups: dict[str, list[str]] = {}
        for bid in won:
            if bid.exclusive_group is not None:
                groups.setdefault(bid.exclusive_group, []).append(bid.id)
        for group, members in groups.items():
            if len(members) > 1:
                problems.append(f"actor {actor_id}: bids {', '.join(members)} share exclusive group {group!r}")

    # The summary must be what the awards and flows make it.
    _check_summary(market, doc, problems, covered, funded, completed, item_cost, reliability, spent)


def _check_rule_8(market: Market, problems: list[str], spent: dict[str, int], into: dict[tuple[str, str], int],
                  flows_into: dict[tuple[str, str], int], item_cost: dict[str, int], challenge_of: dict[str, str]
                  ) -> None:
    """Rule 8 (1.1): min_spend and conditions exactly on the whole-cent flows; max_challenge_share up to
    less than one cent for each flow of the pledge into the challenge."""
    pledges = {p.id: p for p in market.pledges}
    if not any(p.conditional for p in pledges.values()):
        return
    challenge_cost: dict[str, int] = {}
    for key, cents in item_cost.items():
        challenge_cost[challenge_of[key]] = challenge_cost.get(challenge_of[key], 0) + cents
    funders_pledges = {f.id: [p.id for p in f.pledges] for f in market.funders}
    for pledge in market.pledges:
        total = spent.get(pledge.id, 0)
        if pledge.min_spend is not None and 0 < total < pledge.min_spend:
            problems.append(f"pledge {pledge.id}: pays {format_money(total)} in total, less than its min_spend "
                            f"{format_money(pledge.min_spend)} (it must pay nothing or at least that)")
    for (pid, cid), amount in into.items():
        pledge = pledges[pid]
        share = pledge.max_challenge_share
        cost = challenge_cost.get(cid, 0)
        if share is not None and amount - share * cost >= flows_into[pid, cid] - 1e-9:
            problems.append(f"pledge {pid}: pays {format_money(amount)} into challenge {cid}, over its "
                            f"max_challenge_share {share:g} of the challenge's cost {format_money(cost)}")
        for condition in pledge.conditions:
            theirs = sum(into.get((q, cid), 0) for q in funders_pledges.get(condition.funder_id, ()))
            if theirs < condition.min:
                problems.append(f"pledge {pid}: pays {format_money(amount)} into challenge {cid}, but its condition "
                                f"on funder {condition.funder_id} is not met: {condition.funder_id}'s pledges pay "
                                f"{format_money(theirs)} into it, less than the {format_money(condition.min)} required")


def _check_rule_9(market: Market, doc: dict[str, Any], problems: list[str], awarded: set[str]) -> None:
    """Rule 9 (1.1): every fixed bid accepted; status infeasible only when fixed bids exist, and then no
    awards and no flows (every pledge returned and every challenge unfunded follow from the summary checks)."""
    fixed = [b for b in market.bids if b.fixed]
    if doc.get("status") == "infeasible":
        if not fixed:
            problems.append("status: infeasible, but the market has no fixed bid, so accepting nothing is a "
                            "valid allocation")
        if doc.get("awards"):
            problems.append(f"awards: status infeasible must have no awards, found {len(doc['awards'])}")
        if doc.get("flows"):
            problems.append(f"flows: status infeasible must have no flows, found {len(doc['flows'])}")
        return
    if doc.get("status") in ("optimal", "feasible"):
        for bid in fixed:
            if bid.id not in awarded:
                problems.append(f"bid {bid.id} (actor {bid.actor_id}): fixed but not accepted (rule 9: every "
                                "fixed bid is accepted, or the status is infeasible)")


def _check_summary(market: Market, doc: dict[str, Any], problems: list[str], covered: dict[str, int],
                   funded: dict[str, bool], completed: dict[str, bool], item_cost: dict[str, int],
                   reliability: dict[str, float], spent: dict[str, int]) -> None:
    results = _list(doc, "challenges")
    if [r.get("id") if isinstance(r, dict) else None for r in results] != [c.id for c in market.challenges]:
        problems.append("challenges: must list every challenge of the market, in market order")
        results = []
    total_value: float = 0
    for i, (challenge, result) in enumerate(zip(market.challenges, results)):
        where = f"challenges[{i}] ({challenge.id})"
        value = 0.0
        if completed[challenge.id]:
            value = challenge.value + sum(k.value for k in challenge.components if not k.critical and funded[k.key])
        total_value += value
        if result.get("completed") is not completed[challenge.id]:
            problems.append(f"{where}: completed is {result.get('completed')!r}, the awards make it "
                            f"{completed[challenge.id]}")
        if not _same(result.get("value"), value):
            problems.append(f"{where}: value {result.get('value')!r}, the awards make it {value:g}")
        cost = sum(item_cost.get(k.key, 0) for k in challenge.components)
        if result.get("cost") != format_money(cost):
            problems.append(f"{where}: cost {result.get('cost')!r}, the awards make it {format_money(cost)}")
        if not isinstance(result.get("reliability"), (int, float)) or not math.isclose(
                result["reliability"], reliability[challenge.id], rel_tol=1e-9, abs_tol=1e-12):
            problems.append(f"{where}: reliability {result.get('reliability')!r}, the awards make it "
                            f"{reliability[challenge.id]:.6f}")
        comps = result.get("components")
        if not isinstance(comps, list) or [c.get("id") if isinstance(c, dict) else None for c in comps] != \
                [k.id for k in challenge.components]:
            problems.append(f"{where}: components must list every component, in market order")
            continue
        for k, row in zip(challenge.components, comps):
            expect = (funded[k.key] and completed[challenge.id], covered.get(k.key, 0),
                      format_money(item_cost.get(k.key, 0)))
            if (row.get("funded"), row.get("quantity"), row.get("cost")) != expect:
                problems.append(f"{where}: component {k.id} says funded={row.get('funded')!r} quantity="
                                f"{row.get('quantity')!r} cost={row.get('cost')!r}, the awards make it "
                                f"funded={expect[0]} quantity={expect[1]} cost={expect[2]}")
    if not _same(doc.get("value"), total_value):
        problems.append(f"value: {doc.get('value')!r}, the awards make it {total_value:g}")
    if doc.get("cost") != format_money(sum(item_cost.values())):
        problems.append(f"cost: {doc.get('cost')!r}, the awards make it {format_money(sum(item_cost.values()))}")
    rows = _list(doc, "pledges")
    if [r.get("id") if isinstance(r, dict) else None for r in rows] != [p.id for p in market.pledges]:
        problems.append("pledges: must list every pledge of the market, in market order")
    else:
        for pledge, row in zip(market.pledges, rows):
            used = spent.get(pledge.id, 0)
            flows_make = (pledge.funder_id, format_money(pledge.amount), format_money(used),
                          format_money(pledge.amount - used))
            if (row.get("funder"), row.get("amount"), row.get("spent"), row.get("returned")) != flows_make:
                problems.append(f"pledges: {pledge.id} says funder={row.get('funder')!r} amount={row.get('amount')!r} "
                                f"spent={row.get('spent')!r} returned={row.get('returned')!r}, the flows make it "
                                f"{flows_make[0]} {flows_make[1]} {flows_make[2]} {flows_make[3]}")
    unfunded = _list(doc, "unfunded")
    named = [u.get("challenge") if isinstance(u, dict) else None for u in unfunded]
    times: dict[Any, int] = {}
    for n in named:
        if isinstance(n, str):
            times[n] = times.get(n, 0) + 1
    missing = [c.id for c in market.challenges if not completed[c.id] and times.get(c.id, 0) != 1]
    extra = [n for n in named if n not in completed or completed.get(n)]
    if missing:
        problems.append("unfunded: needs exactly one entry for each challenge not completed; "
                        f"wrong for {', '.join(map(str, missing))}")
    if extra:
        problems.append(f"unfunded: entries for challenges that are completed or unknown: {', '.join(map(str, extra))}")
    for u in unfunded:
        if isinstance(u, dict) and (not isinstance(u.get("reasons"), list) or not u["reasons"]):
            problems.append(f"unfunded: {u.get('challenge')} needs at least one reason")


def _same(claimed: Any, actual: float) -> bool:
    return (isinstance(claimed, (int, float)) and not isinstance(claimed, bool)
            and math.isclose(claimed, actual, rel_tol=1e-9, abs_tol=1e-9))
