"""Read-only views for the web pages: gap signals of an open round, and a cleared round's outcome per
challenge, pledge and bid (who may see one pledge or bid is `services.access`'s to say). Nothing here
writes; sealed bids stay sealed: gap signals say only whether a component has an eligible bid, never who
bid or at what price; after clearing, what each viewer may see of the outcome is `sealing`'s to say.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from solver.money import parse_money

from .errors import Forbidden, NotFound
from .models import Challenge, ClearingRun, Role, Round, RoundActor, RoundFunder, User
from .sealing import Viewer, others, reasons_for
from .services.common import STAFF, get_round, is_key, is_row_id
from .snapshot import round_document


def challenges(session: Session, round_id: int) -> list[Challenge]:
    return list(session.execute(select(Challenge).where(Challenge.round_id == round_id)
                                .order_by(Challenge.position, Challenge.id)
                                .options(selectinload(Challenge.components))).scalars())


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


def gap_signals(session: Session, round_id: int) -> list[ChallengeSignal]:
    """Per challenge, nearest to being fundable first: fewest critical components without an eligible
    bid, then most pledged money in scope. A bid is eligible if every item is within its component's
    reserve price and the bid meets the component's reliability floor."""
    doc = round_document(session, get_round(session, round_id))
    components = {f"{c['id']}/{k['id']}": k for c in doc["challenges"] for k in c["components"]}
    with_bid: set[str] = set()
    for actor in doc["actors"]:
        for bid in actor["bids"]:
            reliability = bid.get("reliability", actor.get("reliability", 1))
            ok = True
            for item in bid["items"]:
                k = components[item["component"]]
                quantity = item.get("quantity", k.get("quantity", 1))
                if (k.get("max_unit_price") is not None
                        and parse_money(item["price"]) > parse_money(k["max_unit_price"]) * quantity):
                    ok = False
                if k.get("min_reliability") is not None and reliability < k["min_reliability"]:
                    ok = False
            if ok:
                with_bid.update(item["component"] for item in bid["items"])
    signals = []
    for c in doc["challenges"]:
        paths = [f"{c['id']}/{k['id']}" for k in c["components"]]
        critical = [p for p, k in zip(paths, c["components"]) if k.get("critical", True)]
        in_scope = 0
        for funder in doc["funders"]:
            for pledge in funder["pledges"]:
                scope = pledge.get("scope")
                if scope is None or c["id"] in scope.get("challenges", []) or \
                        any(p in scope.get("components", []) for p in paths) or \
                        any(t in c.get("tags", []) for t in scope.get("tags", [])):
                    in_scope += parse_money(pledge["amount"])
        signals.append(ChallengeSignal(c["id"], c.get("title") or c["id"], len(critical),
                                       sum(p in with_bid for p in critical), [p for p in paths if p not in with_bid],
                                       in_scope))
    signals.sort(key=lambda s: (s.missing_critical, -s.in_scope_cents, s.key))
    return signals


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
