"""Read-only views for the web pages: gap signals of an open round, and a cleared round's outcome per
challenge, pledge and bid (who may see one pledge or bid is `services.access`'s to say). Nothing here
writes; sealed bids stay sealed: gap signals say only whether a component has an eligible bid, never who
bid or at what price; after clearing, what each viewer may see of the outcome is `sealing`'s to say.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Select, Text, and_, bindparam, cast, exists, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from solver.money import parse_money

from .errors import Forbidden, NotFound
from .models import Bid, BidItem, Challenge, ClearingRun, Component, Pledge, Role, Round, RoundActor, RoundFunder, User
from .sealing import Viewer, others, reasons_for
from .services.common import STAFF, get_round, is_key, is_row_id


def challenges(session: Session, round_id: int) -> list[Challenge]:
    return list(session.execute(select(Challenge).where(Challenge.round_id == round_id)
                                .order_by(Challenge.position, Challenge.id)
                                .options(selectinload(Challenge.components))).scalars())


@dataclass(frozen=True)
class ComponentRow:
    id: int
    key: str
    critical: bool


@dataclass(frozen=True)
class ChallengeRow:
    """A challenge as the public round page lists it (and `gap_signals` counts it), read as plain rows."""
    key: str
    title: str | None
    tags: list[str]
    value: float
    reliability: float | None
    components: list[ComponentRow]


def challenge_rows(session: Session, round_id: int) -> list[ChallengeRow]:
    """The round's challenges in order, each with its components' ids, keys and criticality: what the
    public round page shows, in two plain queries (every visitor asks for it; `challenges` would make a
    thousand ORM objects of a 200-challenge round)."""
    components: dict[int, list[ComponentRow]] = {}
    for challenge_id, component_id, key, critical in session.execute(
            select(Component.challenge_id, Component.id, Component.key, Component.critical)
            .join(Component.challenge).where(Challenge.round_id == round_id)
            .order_by(Component.challenge_id, Component.position, Component.id)):
        components.setdefault(challenge_id, []).append(ComponentRow(component_id, key, critical))
    return [ChallengeRow(key, title, list(tags or []), value, reliability, components.get(challenge_id, []))
            for challenge_id, key, title, tags, value, reliability in session.execute(
                select(Challenge.id, Challenge.key, Challenge.title, Challenge.tags, Challenge.value,
                       Challenge.reliability).where(Challenge.round_id == round_id)
                .order_by(Challenge.position, Challenge.id))]


Listed = Challenge | ChallengeRow


def challenge(session: Session, round_id: int, key: str) -> Challenge:
    found = session.execute(select(Challenge).where(Challenge.round_id == round_id, Challenge.key == key)
                            .options(selectinload(Challenge.components))).scalar_one_or_none() \
        if is_key(key) and is_row_id(round_id) else None
    if found is None:
        raise NotFound(f"no challenge {key!r} in round {round_id}")
    return found


def require_staff(user: User) -> None:
    if user.role not in STAFF:
        raise Forbidden("only analysts and admins may see this page")


def participant(session: Session, user: User, round_id: int) -> RoundFunder | RoundActor | None:
    model: Any = RoundFunder if user.role == Role.FUNDER else RoundActor if user.role == Role.ACTOR else None
    if model is None:
        return None
    return session.execute(select(model).where(model.round_id == round_id, model.user_id == user.id)
                           ).scalar_one_or_none()


@dataclass
class ChallengeSignal:
    key: str
    title: str
    critical: int                          # critical components
    covered: int                           # critical components with at least one eligible bid
    missing: list[str] = field(default_factory=list)      # components (any) with no eligible bid yet
    in_scope_cents: int = 0                # pledged money whose scope admits some component of it

    @property
    def missing_critical(self) -> int:
        return self.critical - self.covered


def gap_signals(session: Session, round_id: int, among: Sequence[Listed] | None = None) -> list[ChallengeSignal]:
    """Per challenge (of the round, or `among` those, as `challenges` or `challenge_rows` reads them), nearest
    to being fundable first: fewest critical components without an eligible bid, then most pledged money in
    scope. A bid is eligible if every item is within its component's reserve price and the bid meets the
    component's reliability floor. Withdrawn and excluded pledges and bids count for nothing, as in the clearing.

    Which components have an eligible bid is asked of the database (one query over the round's bids, or the
    components of `among`), and the pledged money comes summed per distinct scope: no pledge or bid is
    loaded, so a page costs about the same with ten bids or ten thousand."""
    get_round(session, round_id)            # NotFound for none (the pages read it already: no query then)
    chosen: Sequence[Listed] = challenge_rows(session, round_id) if among is None else among
    if among is None:
        covered = set(session.execute(_covered_in_round(), {"round_id": round_id}).scalars())
    else:
        covered = set(session.execute(_covered_among(), {"round_id": round_id, "components": [
            k.id for c in chosen for k in c.components]}).scalars())
    in_scope = _in_scope(chosen, _pledged_by_scope(session, round_id))
    signals = []
    for c in chosen:
        critical = [k.id in covered for k in c.components if k.critical]
        missing = [f"{c.key}/{k.key}" for k in c.components if k.id not in covered]
        signals.append(ChallengeSignal(c.key, c.title or c.key, len(critical), sum(critical), missing,
                                       in_scope[c.key]))
    signals.sort(key=lambda s: (s.missing_critical, -s.in_scope_cents, s.key))
    return signals


@cache
def _covered_in_round() -> Select[int]:
    """The ids of the round's components (`round_id`) with at least one eligible bid: a bid taking part (not
    withdrawn, not excluded) none of whose items is over its component's reserve (price > max unit price x
    quantity, the item's or else the component's) or below its reliability floor (the bid's reliability, else
    its actor's, else 1). Built once: the statement is the same for every round."""
    item, component = aliased(BidItem), aliased(Component)
    reliability = func.coalesce(Bid.reliability, RoundActor.reliability, 1.0)
    quantity = func.coalesce(item.quantity, component.quantity)
    # price > max x quantity, in whole cents without the product (which may pass 2**63 at the bounds):
    # for a price of at least 1 cent, the same as (price - 1) // quantity >= max
    over_reserve = and_(component.max_unit_price_cents.is_not(None), item.price_cents > 0,
                        (item.price_cents - 1) // quantity >= component.max_unit_price_cents)
    below_floor = and_(component.min_reliability.is_not(None), reliability < component.min_reliability)
    refused = (select(item.id).join(component, component.id == item.component_id)
               .where(item.bid_id == Bid.id, or_(over_reserve, below_floor)))
    return (select(BidItem.component_id).distinct().join(Bid, Bid.id == BidItem.bid_id)
            .join(RoundActor, RoundActor.id == Bid.actor_id)
            .where(Bid.round_id == bindparam("round_id"), Bid.withdrawn.is_(False), Bid.excluded_at.is_(None),
                   ~exists(refused)))


@cache
def _covered_among() -> Select[int]:
    """`_covered_in_round` among the components whose ids are `components`."""
    return _covered_in_round().where(BidItem.component_id.in_(bindparam("components", expanding=True)))


@dataclass(frozen=True)
class _Scope:
    """A pledge scope (None: every challenge), as sets; `all_tags` and `exclude_tags` narrow it (version 1.1,
    as solver.market.Scope.admits)."""
    every: bool
    challenges: frozenset[str] = frozenset()
    components: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    all_tags: frozenset[str] = frozenset()
    exclude_tags: frozenset[str] = frozenset()

    @property
    def lists_entries(self) -> bool:
        return bool(self.challenges or self.components or self.tags)

    def narrowed(self, tags: set[str]) -> bool:
        """Whether a challenge with these tags stays in after `all_tags` and `exclude_tags`."""
        return self.all_tags <= tags and not self.exclude_tags & tags


def _pledged_by_scope(session: Session, round_id: int) -> list[tuple[_Scope, int]]:
    """The money of the pledges taking part, summed per distinct scope (as stored: JSON text)."""
    scope = cast(Pledge.scope, Text)
    rows = session.execute(select(scope, func.sum(Pledge.amount_cents))
                           .where(Pledge.round_id == round_id, Pledge.withdrawn.is_(False),
                                  Pledge.excluded_at.is_(None)).group_by(scope))
    found: dict[_Scope, int] = {}
    for text, cents in rows:
        value = json.loads(text) if text is not None else None
        key = _Scope(True) if value is None else _Scope(False, *(frozenset(value.get(k, [])) for k in (
            "challenges", "components", "tags", "all_tags", "exclude_tags")))
        found[key] = found.get(key, 0) + int(cents)
    return list(found.items())


def _in_scope(chosen: Sequence[Listed], pledged: list[tuple[_Scope, int]]) -> dict[str, int]:
    """Per challenge key, the money of the scopes that admit it: every challenge (no scope), or the challenge
    by its key, or one of its components, or one of its tags (every challenge when the scope lists none of
    those but narrows), then only those with every tag of `all_tags` and none of `exclude_tags`; each scope's
    money once per challenge."""
    totals = {c.key: 0 for c in chosen}
    of_component = {f"{c.key}/{k.key}": c.key for c in chosen for k in c.components}
    of_tag: dict[str, list[str]] = {}
    tags: dict[str, set[str]] = {c.key: set(c.tags or []) for c in chosen}
    for c in chosen:
        for tag in tags[c.key]:
            of_tag.setdefault(tag, []).append(c.key)
    everywhere = 0
    for scope, cents in pledged:
        if scope.every:
            everywhere += cents
            continue
        if scope.lists_entries:
            admitted = {key for key in scope.challenges if key in totals}
            admitted.update(of_component[path] for path in scope.components if path in of_component)
            for tag in scope.tags:
                admitted.update(of_tag.get(tag, ()))
        elif scope.all_tags or scope.exclude_tags:
            admitted = set(totals)
        else:
            admitted = set()                # a scope with no keys admits nothing
        for key in admitted:
            if scope.narrowed(tags[key]):
                totals[key] += cents
    return {key: cents + everywhere for key, cents in totals.items()}


@dataclass
class ChallengeOutcome:
    key: str
    completed: bool
    cost_cents: int
    payers: list[tuple[str, int]]          # (funder name, or "N funders" for those not listed, cents into it)
    deliverers: list[tuple[str, str, int]]  # (actor name, component path, cents)
    reasons: list[str]
    funders: int = 0                       # how many funders pay into it


def result(session: Session, round_id: int) -> ClearingRun | None:
    return session.execute(select(ClearingRun).where(ClearingRun.round_id == round_id,
                                                     ClearingRun.is_result.is_(True))).scalar_one_or_none()


def names(document: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Funder and actor display names by key."""
    return ({f["id"]: f.get("name") or f["id"] for f in document.get("funders", [])},
            {a["id"]: a.get("name") or a["id"] for a in document.get("actors", [])})


def challenge_outcomes(run: ClearingRun, seer: Viewer) -> dict[str, ChallengeOutcome]:
    """After clearing: per challenge, funded or not, who pays, who delivers, and why not, as `seer` may
    see them (`sealing`): the funders of pledges it may not see are one line, "N funders"."""
    funders, actors = names(run.market)
    alloc = run.allocation
    unfunded = {u["challenge"]: list(u["reasons"]) for u in alloc.get("unfunded", [])}
    out = {}
    for c in alloc["challenges"]:
        named: dict[str, int] = {}
        hidden: dict[str, int] = {}          # funder key -> cents, of the pledges `seer` may not see
        paying: set[str] = set()
        for f in alloc["flows"]:
            if f["component"].split("/")[0] == c["id"]:
                paying.add(f["funder"])
                if seer.sees_pledge(f["pledge"]):
                    name = funders.get(f["funder"], f["funder"])
                    named[name] = named.get(name, 0) + parse_money(f["amount"])
                else:
                    hidden[f["funder"]] = hidden.get(f["funder"], 0) + parse_money(f["amount"])
        payers = sorted(named.items())
        if hidden:
            payers.append((others(len(hidden), bool(named)), sum(hidden.values())))
        deliverers = [(actors.get(a["actor"], a["actor"]), i["component"], parse_money(i["price"]))
                      for a in alloc["awards"] for i in a["items"] if i["component"].split("/")[0] == c["id"]]
        out[c["id"]] = ChallengeOutcome(c["id"], c["completed"], parse_money(c["cost"]), payers, deliverers,
                                        reasons_for(unfunded.get(c["id"], []), seer), len(paying))
    return out


@dataclass
class PledgeOutcome:
    key: str
    amount_cents: int
    spent_cents: int
    returned_cents: int
    flows: list[tuple[str, int]]           # (component path, cents)
    delivered_by: dict[str, list[str]] = field(default_factory=dict)   # component path -> actor names


def pledge_outcome(run: ClearingRun, key: str) -> PledgeOutcome | None:
    """Where each unit of a pledge's money went, and what was returned (None: not in the clearing)."""
    for p in run.allocation.get("pledges", []):
        if p["id"] == key:
            flows = [(f["component"], parse_money(f["amount"])) for f in run.allocation["flows"] if f["pledge"] == key]
            _, actors = names(run.market)
            delivered: dict[str, list[str]] = {}
            for award in run.allocation["awards"]:
                for item in award["items"]:
                    delivered.setdefault(item["component"], []).append(actors.get(award["actor"], award["actor"]))
            return PledgeOutcome(key, parse_money(p["amount"]), parse_money(p["spent"]), parse_money(p["returned"]),
                                 flows, {c: delivered.get(c, []) for c, _ in flows})
    return None


def flows_table(run: ClearingRun) -> list[dict[str, Any]]:
    """One row per flow: pledge, funder, challenge, component, amount in cents (the CSV's rows)."""
    funders, _ = names(run.market)
    return [{"pledge": f["pledge"], "funder": f["funder"], "funder_name": funders.get(f["funder"], f["funder"]),
             "challenge": f["component"].split("/")[0], "component": f["component"],
             "amount_cents": parse_money(f["amount"])} for f in run.allocation["flows"]]


def sankey(run: ClearingRun, seer: Viewer) -> dict[str, Any]:
    """The money as a graph: funder -> challenge -> actor, plus funder -> "returned to funders" for the
    pledges `seer` may see. The money into challenges of the pledges it may not see comes from one node,
    "N funders", and what they got back is not drawn (with the public payments it would tell what they
    pledged). Values are cents (integers); labels are names."""
    funders, actors = names(run.market)
    alloc = run.allocation
    links: dict[tuple[str, str], int] = {}
    hidden = {p["funder"] for p in alloc["pledges"] if not seer.sees_pledge(p["id"])}

    def add(a: str, b: str, cents: int) -> None:
        if cents > 0:
            links[(a, b)] = links.get((a, b), 0) + cents

    def source(pledge: str, funder: str) -> str:
        return f"funder:{funder}" if seer.sees_pledge(pledge) else "others:"

    for f in alloc["flows"]:
        add(source(f["pledge"], f["funder"]), f"challenge:{f['component'].split('/')[0]}", parse_money(f["amount"]))
    for a in alloc["awards"]:
        for i in a["items"]:
            add(f"challenge:{i['component'].split('/')[0]}", f"actor:{a['actor']}", parse_money(i["price"]))
    for p in alloc["pledges"]:
        if seer.sees_pledge(p["id"]):           # what came back to the others would add up to their pledges
            add(f"funder:{p['funder']}", "returned", parse_money(p["returned"]))
    titles = {c["id"]: c.get("title") or c["id"] for c in run.market.get("challenges", [])}
    nodes: list[str] = []
    for a, b in links:
        for n in (a, b):
            if n not in nodes:
                nodes.append(n)
    named = any(n.startswith("funder:") for n in nodes)

    def label(node: str) -> str:
        kind, _, key = node.partition(":")
        if kind == "funder":
            return funders.get(key, key)
        if kind == "others":
            return others(len(hidden), named)
        if kind == "actor":
            return actors.get(key, key)
        if kind == "challenge":
            return titles.get(key, key)
        return "returned to funders"

    return {"nodes": [label(n) for n in nodes], "kinds": [n.partition(":")[0].replace("others", "funder")
                                                          for n in nodes],
            "links": [{"source": nodes.index(a), "target": nodes.index(b), "source_label": label(a),
                       "target_label": label(b), "cents": c} for (a, b), c in links.items()]}


@dataclass
class MoneyTotals:
    paid: int                  # to actors: the awards' prices, public after clearing
    pledged: int               # of the pledges the viewer may see (every pledge when `whole`)
    returned: int
    whole: bool


def money_totals(run: ClearingRun, seer: Viewer) -> MoneyTotals:
    """The results page's totals: what was paid to actors, and what was pledged and returned over the
    pledges `seer` may see (analysts: all of them; anyone else: its own and the listed ones), so that no
    total tells what the unlisted funders pledged."""
    pledges = run.allocation["pledges"]
    seen = [p for p in pledges if seer.sees_pledge(p["id"])]
    return MoneyTotals(paid=sum(parse_money(p["spent"]) for p in pledges),
                       pledged=sum(parse_money(p["amount"]) for p in seen),
                       returned=sum(parse_money(p["returned"]) for p in seen), whole=len(seen) == len(pledges))


def bid_components(session: Session, round_id: int) -> list[tuple[str, str]]:
    """(path, label) of every component of a round, in order: the choices of the bid form."""
    return [(f"{c.key}/{k.key}", f"{c.title or c.key}: {k.title or k.key} ({k.quantity} {k.unit or 'unit'}"
             f"{'' if k.quantity == 1 else 's'})") for c in challenges(session, round_id) for k in c.components]


def rounds(session: Session) -> list[Round]:
    return list(session.execute(select(Round).order_by(Round.id.desc())).scalars())
