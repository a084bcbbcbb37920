"""The /api/v1 endpoints. Each parses with the services' schemas, calls a service inside one transaction,
and dumps with an output schema; see web/api/__init__.py for auth, errors, idempotency and pages, and
web/api/errors.py for the one error shape."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from flask import Blueprint as FlaskBlueprint, Response, abort, current_app, g, jsonify, render_template, request
from flask_smorest import Blueprint, Page
from marshmallow import Schema

from market import queue as job_queues, reads, sealing, services
from market.errors import ClearingFailed, Forbidden, InvalidInput, MarketDomainError, NotFound, WrongState
from market.models import Bid, ClearingRun, Job, JobState, Pledge, Role, Round, RoundStatus
from market.schemas import made
from market.services import delivery, idempotency, jobs, settlement, statements, verification
from market.services.common import STAFF, by_id, get_round
from solver import bounded
from solver.clearing import ClearingError
from solver.ids import ID
from solver.loading import JsonRefused, MarketError, decode_json
from solver.money import format_money

from ..auth import Account
from ..db import sessions
from ..evidence import storage, uploads
from ..forms import number_or_none, whole_or_text
from ..job_figures import figures
from ..queue import job_queue
from . import errors, schemas as s

blp = Blueprint("api", __name__, url_prefix="/api/v1",
                description="Rounds, challenges, own pledges and sealed bids, clearing runs, allocations")

ROUND = "/rounds/<int(max=9223372036854775807):round_id>"
KEY = "<string(maxlength=64):key>"
RUN = "<int(max=9223372036854775807):run_id>"
JOB = "<int(max=9223372036854775807):job_id>"
LOCATION = {"Location": {"description": "the job: /api/v1/jobs/{id}", "schema": {"type": "string"}}}
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
PAGE = {"page": 1, "page_size": 20, "max_page_size": 100}
SOLVE_MAX_BYTES = 2 * 1024 * 1024
SOLVE_MAX = {"challenges": 500, "components": 5000, "bids": 20000, "pledges": 20000}
# /solve's process is killed this long after its time_limit: reading the market, building its model and
# rounding the flows to cents (about 2 s for the largest market accepted, docs/benchmarks.md) under load.
SOLVE_HARD_MARGIN = 10
UNAUTHENTICATED: set[str] = set()

IDEMPOTENCY_PARAM = {"in": "header", "name": "Idempotency-Key", "required": False,
                     "description": "makes a retried write safe: the first successful response is replayed",
                     "schema": {"type": "string", "pattern": r"^[!-~]{1,255}$"}}


# ---------------------------------------------------------------- errors, auth and limits

errors.register(blp)


@blp.before_request
def _authenticate() -> Response | None:
    if request.endpoint == "api.solve":
        request.max_content_length = SOLVE_MAX_BYTES
    if request.endpoint in UNAUTHENTICATED:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, description="send a personal API token: Authorization: Bearer <token>")
    with sessions().begin() as session:
        user = services.user_for_token(session, token.strip())
        g.api_user = None if user is None else Account.of(user)
    if g.api_user is None:
        abort(401, description="the API token is unknown or revoked")
    return None


@blp.before_request
def _refuse_json_the_parsers_would_misread() -> Response | None:
    """A body nested deeper than Python's JSON decoder recurses would be a RecursionError (a 500) in
    whichever parser reads it first (webargs, request.get_json, the views), and a key repeated in one
    object would silently lose a value. Decode the body once here as market files are read and refuse
    both, at their JSON paths; anything else wrong with it is left to the parsers."""
    if not request.is_json:
        return None
    try:
        decode_json(request.get_data(cache=True).decode("utf-8"))
    except JsonRefused as exc:
        return errors.error_response(400, {p.path: [p.message] for p in exc.problems})
    except ValueError:                          # malformed, not UTF-8, NaN: the parsers say so
        pass
    return None


def me_() -> Account:
    return g.api_user


def _key(key: str, what: str, round_id: int) -> str:
    if not ID.fullmatch(key):
        raise NotFound(f"no {what} {key!r} in round {round_id}")
    return key


def _stamp(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# ---------------------------------------------------------------- idempotent writes

def write(do: Callable[[Any], Any], schema: Any, status: int, payload: Any = None) -> Response:
    """Run `do(session)` in one transaction and answer `schema.dump(result)` with `status`; with an
    Idempotency-Key, store the response in the same transaction, or replay the stored one. `payload`: what
    makes the request the same request, where its raw body does not (a multipart body's boundary changes)."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        with sessions().begin() as session:
            body = schema.dump(do(session))
        return _json(body, status)
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidInput({"header.Idempotency-Key": "1 to 255 visible ASCII characters"})
    user = me_()
    if payload is None:
        raw = request.get_data(cache=True)
        try:
            payload = json.loads(raw) if raw.strip() else None
        except ValueError:
            payload = raw.decode("latin-1")
    digest = idempotency.request_hash(request.method, request.full_path.rstrip("?"), payload)
    try:
        with sessions().begin() as session:
            found = idempotency.find(session, user.id, key)
            if found is not None:
                return _replay(found, digest)
            body = schema.dump(do(session))
            idempotency.save(session, user.id, key, request.method, request.path, digest, status, body)
        return _json(body, status)
    except (idempotency.DuplicateKey, MarketDomainError):
        # A concurrent request with the same key may have won meanwhile: answer as it did.
        with sessions().begin() as session:
            found = idempotency.find(session, user.id, key)
            if found is not None:
                return _replay(found, digest)
        raise


def _replay(found: Any, digest: str) -> Response:
    if found.request_hash != digest:
        raise InvalidInput({"header.Idempotency-Key": "this key was already used for a different request "
                                                      f"({found.method} {found.path}); use a new key"})
    response = _json(found.body, found.status)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _json(body: Any, status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


# ---------------------------------------------------------------- output

def round_out(r: Round) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "currency": r.currency, "status": r.status, "note": r.note,
            "created_at": _stamp(r.created_at), "changed_at": _stamp(r.changed_at),
            "opens_at": _stamp(r.opens_at), "closes_at": _stamp(r.closes_at)}


def challenge_out(c: Any) -> dict[str, Any]:
    return {"id": c.key, "title": c.title, "value": c.value, "reliability": c.reliability, "tags": list(c.tags or []),
            "description": c.description, "place": c.place,
            "components": [{"id": k.key, "title": k.title, "unit": k.unit, "quantity": k.quantity,
                            "critical": k.critical, "value": k.value, "requires": list(k.requires or []),
                            "min_reliability": k.min_reliability,
                            "max_unit_price": None if k.max_unit_price_cents is None
                            else format_money(k.max_unit_price_cents)} for k in c.components]}


def pledge_out(p: Pledge) -> dict[str, Any]:
    return {"id": p.key, "round": p.round_id, "funder": p.funder.key, "amount": format_money(p.amount_cents),
            "scope": p.scope, "max_share": p.max_share, "match": p.match,
            "min_spend": None if p.min_spend_cents is None else format_money(p.min_spend_cents),
            "max_challenge_share": p.max_challenge_share,
            "conditions": [{"funder": c["funder"], "min": format_money(c["min_cents"])} for c in p.conditions or []],
            "listed": p.listed, "rollover": p.rollover, "withdrawn": p.withdrawn, "excluded": p.excluded_reason,
            "created_at": _stamp(p.created_at), "changed_at": _stamp(p.changed_at)}


def bid_out(b: Bid) -> dict[str, Any]:
    return {"id": b.key, "round": b.round_id, "actor": b.actor.key,
            "items": [{"component": i.component.path, "quantity": i.quantity, "price": format_money(i.price_cents)}
                      for i in b.items],
            "reliability": b.reliability, "load": b.load, "exclusive_group": b.exclusive_group,
            "standby_days": b.standby_days,
            "standby_price": None if b.standby_price_cents is None else format_money(b.standby_price_cents),
            "standby_withdrawn": b.standby_withdrawn_at is not None,
            "fixed": b.fixed, "fixed_reason": b.fixed_reason, "withdrawn": b.withdrawn, "excluded": b.excluded_reason,
            "created_at": _stamp(b.created_at),
            "changed_at": _stamp(b.changed_at)}


def job_out(j: Job) -> dict[str, Any]:
    links = {"self": f"/api/v1/jobs/{j.id}", "round": f"/api/v1/rounds/{j.round_id}"}
    if j.run_id is not None and j.state == JobState.SUCCEEDED:
        links["run"] = f"/api/v1/rounds/{j.round_id}/runs/{j.run_id}"
    return figures(j) | {"links": links}


def run_out(r: ClearingRun) -> dict[str, Any]:
    return {"id": r.id, "round": r.round_id, "status": r.status, "backend": r.backend, "seconds": r.seconds,
            "value": r.value, "cost": format_money(r.cost_cents), "digest": r.digest, "is_result": r.is_result,
            "created_by": r.created_by, "created_at": _stamp(r.created_at)}


# ---------------------------------------------------------------- who am I

@blp.route("/me")
@blp.response(200, s.Me)
def me() -> dict[str, Any]:
    """The account the token belongs to."""
    user = me_()
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role}


# ---------------------------------------------------------------- rounds

@blp.route("/rounds")
@blp.response(200, s.RoundOut(many=True))
@blp.paginate(Page, **PAGE)
def rounds() -> list[dict[str, Any]]:
    """All rounds, newest first."""
    with sessions().begin() as session:
        return [round_out(r) for r in reversed(services.list_rounds(session))]


@blp.route("/rounds", methods=["POST"])
@blp.arguments(s.RoundCreate, as_kwargs=False)
@blp.response(201, s.RoundOut)
def round_create(data: dict[str, Any]) -> Response:
    """Create a draft round (analysts and admins)."""
    body = request.get_json()
    return write(lambda session: round_out(services.create_round(session, me_(), body)), made(s.RoundOut), 201)


@blp.route(ROUND)
@blp.response(200, s.RoundOut)
def round_get(round_id: int) -> dict[str, Any]:
    """One round."""
    with sessions().begin() as session:
        return round_out(get_round(session, round_id))


def _transition(name: str, service: Callable[..., Round], doc: str) -> None:
    def view(round_id: int) -> Response:
        return write(lambda session: round_out(service(session, me_(), round_id)), made(s.RoundOut), 200)
    view.__name__ = f"round_{name}"
    view.__doc__ = doc
    blp.route(f"{ROUND}/{name}", methods=["POST"])(blp.response(200, s.RoundOut)(view))


_transition("open", services.open_round, "draft -> open: funders may pledge and actors bid (analysts, admins).")
_transition("close", services.close_round, "open -> closed: no more pledges or bids (analysts, admins).")
_transition("reopen", services.reopen_round,
            "closed -> open: pledges and bids may change again; recorded in the audit log (analysts, admins).")


@blp.route(f"{ROUND}/clear", methods=["POST"])
@blp.arguments(s.ClearArgs, location="query", as_kwargs=False)
@blp.response(202, s.JobOut, headers=LOCATION)
def round_clear(args: dict[str, Any], round_id: int) -> Response:
    """Queue a clearing of a closed round (or a re-clearing of a cleared one) as a job (analysts, admins):
    202 with the job as it was queued and `Location: /api/v1/jobs/{id}`; follow the job there. A clearing
    that fails ends the job failed with the reason (nothing is recorded but an audit row); earlier runs are
    always kept. 409 while a clearing of the round is queued or running (the message names that job); 503
    with Retry-After when the job queue cannot be reached (nothing was queued). With an Idempotency-Key a
    retry replays the first 202 and queues nothing."""
    options = {"backend": args["solver"], "time_limit": args["time_limit"], "gap": args["gap"],
               "explain": args["explain"]}
    return queue_job(lambda with_job: job_queues.submit(sessions(), job_queue(), me_(), round_id, with_job,
                                                         **options))


def queue_job(submit: Callable[[job_queues.WithJob], int]) -> Response:
    """Answer 202 with the job `submit` queues. With an Idempotency-Key the answer is stored in the
    transaction that writes the job (a retry racing this request finds it), and a retry replays it."""
    key = request.headers.get("Idempotency-Key")
    answered: dict[str, Any] = {}

    def keep(session: Any, job: Any) -> None:
        answered["body"] = made(s.JobOut).dump(job_out(job))
        if key is not None:
            idempotency.save(session, me_().id, key, request.method, request.path, digest, 202, answered["body"])

    digest = idempotency.request_hash(request.method, request.full_path.rstrip("?"), None)
    if key is not None:
        if not IDEMPOTENCY_KEY.fullmatch(key):
            raise InvalidInput({"header.Idempotency-Key": "1 to 255 visible ASCII characters"})
        found = _found(key)
        if found is not None:
            return _with_location(_replay(found, digest))
    try:
        submit(keep)
    except (idempotency.DuplicateKey, MarketDomainError):
        found = _found(key) if key is not None else None    # a concurrent retry with the key won meanwhile
        if found is None:
            raise
        return _with_location(_replay(found, digest))
    return _with_location(_json(answered["body"], 202))


def _found(key: str) -> Any:
    with sessions().begin() as session:
        return idempotency.find(session, me_().id, key)


def _with_location(response: Response) -> Response:
    body = response.get_json(silent=True)
    if response.status_code == 202 and isinstance(body, dict) and "id" in body:
        response.headers["Location"] = f"/api/v1/jobs/{body['id']}"
    return response


# ---------------------------------------------------------------- challenges

@blp.route(f"{ROUND}/challenges")
@blp.response(200, s.ChallengeOut(many=True))
@blp.paginate(Page, **PAGE)
def challenges(round_id: int) -> list[dict[str, Any]]:
    """The round's challenges with their components."""
    with sessions().begin() as session:
        get_round(session, round_id)
        return [challenge_out(c) for c in reads.challenges(session, round_id)]


@blp.route(f"{ROUND}/challenges", methods=["POST"])
@blp.arguments(s.ChallengeCreate, as_kwargs=False)
@blp.response(201, s.ChallengeOut)
def challenge_create(data: dict[str, Any], round_id: int) -> Response:
    """Add a challenge to a draft round (analysts, admins); `max_unit_price` is money."""
    body = request.get_json()
    return write(lambda session: challenge_out(services.add_challenge(session, me_(), round_id, body)),
                 made(s.ChallengeOut), 201)


@blp.route(f"{ROUND}/challenges/{KEY}")
@blp.response(200, s.ChallengeOut)
def challenge_get(round_id: int, key: str) -> dict[str, Any]:
    """One challenge."""
    with sessions().begin() as session:
        return challenge_out(reads.challenge(session, round_id, _key(key, "challenge", round_id)))


# ---------------------------------------------------------------- pledges (own)

def _funder_or_staff() -> None:
    if me_().role not in (Role.FUNDER, *STAFF):
        raise Forbidden(f"only funders have pledges; this token's account is {me_().role}")


@blp.route(f"{ROUND}/pledges")
@blp.response(200, s.PledgeOut(many=True))
@blp.paginate(Page, **PAGE)
def pledges(round_id: int) -> list[dict[str, Any]]:
    """Your pledges in the round (analysts and admins: all of them)."""
    _funder_or_staff()
    with sessions().begin() as session:
        get_round(session, round_id)
        return [pledge_out(p) for p in services.visible_pledges(session, me_(), round_id)]


@blp.route(f"{ROUND}/funders")
@blp.response(200, s.FunderOut(many=True))
@blp.paginate(Page, **PAGE)
def condition_funders(round_id: int) -> list[dict[str, Any]]:
    """The funders of the round your pledge's `conditions` may name, by key and name: those that list every
    pledge of theirs by name (so a condition tells nothing of an unlisted pledge), not yourself (analysts and
    admins: every funder of the round). Naming any other key is refused as an unknown one."""
    _funder_or_staff()
    with sessions().begin() as session:
        get_round(session, round_id)
        return [{"id": f.key, "name": f.name} for f in services.condition_funders(session, me_(), round_id)]


@blp.route(f"{ROUND}/pledges", methods=["POST"])
@blp.arguments(s.PledgeCreate, as_kwargs=False)
@blp.response(201, s.PledgeOut)
def pledge_create(data: dict[str, Any], round_id: int) -> Response:
    """Pledge (funders, while the round is open). Version 1.1 of the market format: `min_spend`,
    `max_challenge_share`, `conditions` ([{"funder": key, "min": money}], each funder once, not yourself, one of
    GET .../funders) and the scope's `all_tags` and `exclude_tags`; errors name the field, e.g.
    "conditions[0].funder"."""
    body = request.get_json()
    return write(lambda session: pledge_out(services.pledge(session, me_(), round_id, body)), made(s.PledgeOut), 201)


@blp.route(f"{ROUND}/pledges/{KEY}")
@blp.response(200, s.PledgeOut)
def pledge_get(round_id: int, key: str) -> dict[str, Any]:
    """One of your pledges (someone else's is a 404)."""
    with sessions().begin() as session:
        return pledge_out(services.pledge_for(session, me_(), round_id, _key(key, "pledge", round_id)))


@blp.route(f"{ROUND}/pledges/{KEY}", methods=["PATCH"])
@blp.arguments(s.PledgeChange(partial=True), as_kwargs=False)
@blp.response(200, s.PledgeOut)
def pledge_change(data: dict[str, Any], round_id: int, key: str) -> Response:
    """Change some of amount, scope, max_share, match, min_spend, max_challenge_share, conditions (null removes
    an optional one; conditions and scope are replaced whole). An amount below the min_spend kept is refused."""
    body = request.get_json()

    def do(session: Any) -> dict[str, Any]:
        return pledge_out(services.change_pledge(session, me_(), round_id, _key(key, "pledge", round_id), body))
    return write(do, made(s.PledgeOut), 200)


@blp.route(f"{ROUND}/pledges/{KEY}", methods=["DELETE"])
@blp.response(200, s.PledgeOut)
def pledge_withdraw(round_id: int, key: str) -> Response:
    """Withdraw a pledge: it stays on record, marked withdrawn."""
    def do(session: Any) -> dict[str, Any]:
        return pledge_out(services.withdraw_pledge(session, me_(), round_id, _key(key, "pledge", round_id)))
    return write(do, made(s.PledgeOut), 200)


# ---------------------------------------------------------------- bids (own, sealed)

def _actor_or_staff() -> None:
    if me_().role not in (Role.ACTOR, *STAFF):
        raise Forbidden(f"bids are sealed: only their actors see them; this token's account is {me_().role}")


@blp.route(f"{ROUND}/bids")
@blp.response(200, s.BidOut(many=True))
@blp.paginate(Page, **PAGE)
def bids(round_id: int) -> list[dict[str, Any]]:
    """Your bids in the round (analysts and admins: all of them). Others never see a bid; after the
    clearing the winning ones appear as awards in the allocation."""
    _actor_or_staff()
    with sessions().begin() as session:
        get_round(session, round_id)
        rows = services.visible_bids(session, me_(), round_id)
        return [bid_out(b) for b in rows]


@blp.route(f"{ROUND}/bids", methods=["POST"])
@blp.arguments(s.BidCreate, as_kwargs=False)
@blp.response(201, s.BidOut)
def bid_create(data: dict[str, Any], round_id: int) -> Response:
    """Bid (actors, while the round is open); prices are money."""
    body = request.get_json()
    return write(lambda session: bid_out(services.bid(session, me_(), round_id, body)), made(s.BidOut), 201)


@blp.route(f"{ROUND}/bids/{KEY}")
@blp.response(200, s.BidOut)
def bid_get(round_id: int, key: str) -> dict[str, Any]:
    """One of your bids (someone else's is a 404: bids are sealed)."""
    with sessions().begin() as session:
        return bid_out(services.bid_for(session, me_(), round_id, _key(key, "bid", round_id)))


@blp.route(f"{ROUND}/bids/{KEY}", methods=["PATCH"])
@blp.arguments(s.BidChange(partial=True), as_kwargs=False)
@blp.response(200, s.BidOut)
def bid_change(data: dict[str, Any], round_id: int, key: str) -> Response:
    """Change some of items (replaced whole), reliability, load, exclusive_group."""
    body = request.get_json()

    def do(session: Any) -> dict[str, Any]:
        return bid_out(services.change_bid(session, me_(), round_id, _key(key, "bid", round_id), body))
    return write(do, made(s.BidOut), 200)


@blp.route(f"{ROUND}/bids/{KEY}", methods=["DELETE"])
@blp.response(200, s.BidOut)
def bid_withdraw(round_id: int, key: str) -> Response:
    """Withdraw a bid: it stays on record, marked withdrawn."""
    def do(session: Any) -> dict[str, Any]:
        return bid_out(services.withdraw_bid(session, me_(), round_id, _key(key, "bid", round_id)))
    return write(do, made(s.BidOut), 200)


@blp.route(f"{ROUND}/bids/{KEY}/standby", methods=["DELETE"])
@blp.response(200, s.BidOut)
def bid_standby_withdraw(round_id: int, key: str) -> Response:
    """Withdraw your bid's standby offer (issue 18), after the clearing too, until a repair calls the bid in."""
    def do(session: Any) -> dict[str, Any]:
        return bid_out(services.bids.withdraw_standby(session, me_(), round_id, _key(key, "bid", round_id)))
    return write(do, made(s.BidOut), 200)


# ---------------------------------------------------------------- re-tenders (issue 18)

TENDER = "/tenders/<int(max=9223372036854775807):failure_id>"


@blp.route("/tenders")
@blp.response(200, s.TenderOut(many=True))
def tenders() -> list[dict[str, Any]]:
    """The re-tenders open now: a failed award's challenges on which actors may bid and funders add money."""
    with sessions().begin() as session:
        return [{"failure": f.id, "round": f.round_id, "until": f.tender_until,
                 "challenges": [c.key for c in services.repair.touched_challenges(session, f)]}
                for f in services.tender.open_tenders(session)]


@blp.route(f"{TENDER}/bids", methods=["POST"])
@blp.arguments(s.TenderBidIn, as_kwargs=False)
@blp.response(201, s.BidOut)
def tender_bid(data: dict[str, Any], failure_id: int) -> Response:
    """Bid in a re-tender (actors): sealed, like any bid; it takes part only in that failure's repair."""
    body = request.get_json()
    return write(lambda session: bid_out(services.tender.tender_bid(session, me_(), failure_id, body)),
                 made(s.BidOut), 201)


@blp.route(f"{TENDER}/pledges", methods=["POST"])
@blp.arguments(s.TenderPledgeIn, as_kwargs=False)
@blp.response(201, s.PledgeOut)
def tender_pledge(data: dict[str, Any], failure_id: int) -> Response:
    """Add money to a failed award's repair (funders): owed only for what the committed repair uses."""
    body = request.get_json()
    return write(lambda session: pledge_out(services.tender.tender_pledge(session, me_(), failure_id, body)),
                 made(s.PledgeOut), 201)


def _exclusion(kind: str, out: Callable[[Any], dict[str, Any]], schema: type[Schema]) -> None:
    """POST .../{kind}s/{key}/exclude {"reason"} and .../include, for pledges and bids alike."""
    def exclude(data: dict[str, Any], round_id: int, key: str) -> Response:
        body = request.get_json()
        return write(lambda session: out(services.exclude(session, me_(), round_id, kind,
                                                          _key(key, kind, round_id), body)), made(schema), 200)

    def include(round_id: int, key: str) -> Response:
        return write(lambda session: out(services.include(session, me_(), round_id, kind,
                                                          _key(key, kind, round_id))), made(schema), 200)

    exclude.__name__, include.__name__ = f"{kind}_exclude", f"{kind}_include"
    exclude.__doc__ = (f"Leave a {kind} out of the round's clearing, with the reason (analysts, admins; open or "
                       f"closed rounds): the way out of a round that cannot be cleared with it. Its owner sees "
                       f"the reason; recorded in the audit log as \"exclude\".")
    include.__doc__ = f"Take an excluded {kind} back into the clearing (analysts, admins; audited \"include\")."
    blp.route(f"{ROUND}/{kind}s/{KEY}/exclude", methods=["POST"])(
        blp.arguments(s.Exclusion, as_kwargs=False)(blp.response(200, schema)(exclude)))
    blp.route(f"{ROUND}/{kind}s/{KEY}/include", methods=["POST"])(blp.response(200, schema)(include))


_exclusion("pledge", pledge_out, s.PledgeOut)
_exclusion("bid", bid_out, s.BidOut)


@blp.route(f"{ROUND}/bids/{KEY}/fix", methods=["POST"])
@blp.arguments(s.BidFix, as_kwargs=False)
@blp.response(200, s.BidOut)
def bid_fix(data: dict[str, Any], round_id: int, key: str) -> Response:
    """Mark a bid fixed, with the reason (analysts, admins; open or closed rounds): it is contracted already, so
    every clearing must accept it (market format 1.1, `bid.fixed`), and its actor may no longer change or
    withdraw it. Its actor sees the mark and the reason; recorded in the audit log as "fix"."""
    body = request.get_json()
    return write(lambda session: bid_out(services.fix_bid(session, me_(), round_id, _key(key, "bid", round_id),
                                                          body)), made(s.BidOut), 200)


@blp.route(f"{ROUND}/bids/{KEY}/unfix", methods=["POST"])
@blp.arguments(s.BidFix, as_kwargs=False)
@blp.response(200, s.BidOut)
def bid_unfix(data: dict[str, Any], round_id: int, key: str) -> Response:
    """Take a bid's fixed mark off, with the reason (analysts, admins; audited "unfix")."""
    body = request.get_json()
    return write(lambda session: bid_out(services.unfix_bid(session, me_(), round_id, _key(key, "bid", round_id),
                                                            body)), made(s.BidOut), 200)


# ---------------------------------------------------------------- money after the clearing (the ledger)

def pledge_money_out(p: Pledge, money: Any) -> dict[str, Any]:
    return {"pledge": p.key, "round": p.round_id, "committed": format_money(money.committed),
            "in_escrow": format_money(money.in_escrow), "deposited": format_money(money.deposited),
            "owed": format_money(money.owed)}


def round_money_out(round_id: int, money: settlement.RoundMoney) -> dict[str, Any]:
    return {"round": round_id, "committed": money.committed,
            "committed_amount": format_money(money.committed_cents),
            "deposited_amount": format_money(money.deposited_cents), "phase": money.phase}


def terms_out(session: Any, round_id: int) -> dict[str, Any]:
    return {"round": round_id, **dataclasses.asdict(settlement.terms(session, round_id)),
            "committed": settlement.is_committed(session, round_id)}


@blp.route(f"{ROUND}/terms")
@blp.response(200, s.TermsOut)
def terms_get(round_id: int) -> dict[str, Any]:
    """The round's settlement terms: holdback percent, service period, review time (anyone logged in)."""
    with sessions().begin() as session:
        get_round(session, round_id)
        return terms_out(session, round_id)


@blp.route(f"{ROUND}/terms", methods=["PATCH"])
@blp.arguments(s.TermsIn(partial=True), as_kwargs=False)
@blp.response(200, s.TermsOut)
def terms_change(data: dict[str, Any], round_id: int) -> Response:
    """Change some of the round's settlement terms (analysts, admins), until its clearing is committed: the
    milestones made then follow them. Audited "terms"."""
    body = request.get_json()

    def do(session: Any) -> dict[str, Any]:
        settlement.set_terms(session, me_(), round_id, body)
        return terms_out(session, round_id)
    return write(do, made(s.TermsOut), 200)


@blp.route(f"{ROUND}/commit", methods=["POST"])
@blp.response(200, s.RoundMoneyOut)
def round_commit(round_id: int) -> Response:
    """Commit the cleared round's result (analysts, admins): every flow becomes its pledge's commitment into
    escrow for its component, once; a committed round is not cleared again. Audited "commit"."""
    def do(session: Any) -> dict[str, Any]:
        services.commit_run(session, me_(), round_id)
        return round_money_out(round_id, settlement.round_money(session, round_id))
    return write(do, made(s.RoundMoneyOut), 200)


@blp.route(f"{ROUND}/money")
@blp.response(200, s.RoundMoneyOut)
def round_money(round_id: int) -> dict[str, Any]:
    """Whether the round's result is committed, and how much is committed and deposited (analysts, admins)."""
    if me_().role not in STAFF:
        raise Forbidden("only analysts and admins see a round's money; a funder sees its own pledges' money "
                        "(GET .../pledges/{key}/money)")
    with sessions().begin() as session:
        get_round(session, round_id)
        return round_money_out(round_id, settlement.round_money(session, round_id))


@blp.route(f"{ROUND}/pledges/{KEY}/money")
@blp.response(200, s.PledgeMoneyOut)
def pledge_money(round_id: int, key: str) -> dict[str, Any]:
    """One of your pledges' money: committed, in escrow, deposited, owed (someone else's is a 404)."""
    with sessions().begin() as session:
        pledge = services.pledge_for(session, me_(), round_id, _key(key, "pledge", round_id))
        return pledge_money_out(pledge, settlement.pledge_money(session, pledge.id))


@blp.route(f"{ROUND}/pledges/{KEY}/deposits", methods=["POST"])
@blp.arguments(s.DepositIn, as_kwargs=False)
@blp.response(201, s.PledgeMoneyOut)
def pledge_deposit(data: dict[str, Any], round_id: int, key: str) -> Response:
    """Record money paid in for a committed pledge, at most what it owes (its funder; an admin for a bank
    transfer). Audited "deposit"; send an Idempotency-Key so that a retried request is not counted twice."""
    body = request.get_json()

    def do(session: Any) -> dict[str, Any]:
        pledge_key = _key(key, "pledge", round_id)
        services.record_deposit(session, me_(), round_id, pledge_key, body)
        pledge = services.pledge_for(session, me_(), round_id, pledge_key)
        return pledge_money_out(pledge, settlement.pledge_money(session, pledge.id))
    return write(do, made(s.PledgeMoneyOut), 201)


# ---------------------------------------------------------------- delivery and verification (issue 17)

MILESTONE = "/milestones/<int(max=9223372036854775807):milestone_id>"
REPORT = "/reports/<int(max=9223372036854775807):report_id>"
FILE = "/files/<int(max=9223372036854775807):file_id>"
REPORT_FIELDS = ("quantity", "note", "latitude", "longitude")
EVIDENCE_CONTENT = {t: {"schema": {"type": "string", "format": "binary"}} for t in delivery.EVIDENCE_TYPES}


def file_out(f: delivery.FileView) -> dict[str, Any]:
    return {"id": f.id, "name": f.name, "content_type": f.content_type, "size_bytes": f.size_bytes,
            "url": f"/api/v1/files/{f.id}"}


def report_out(milestone_id: int, r: delivery.ReportView) -> dict[str, Any]:
    return {"id": r.id, "milestone": milestone_id, "state": r.state, "quantity": r.quantity, "note": r.note,
            "latitude": r.latitude, "longitude": r.longitude, "submitted_at": r.submitted_at,
            "reviewed_at": r.reviewed_at, "accepted_quantity": r.accepted_quantity,
            "released": None if r.released_cents is None else format_money(r.released_cents), "reason": r.reason,
            "files": [file_out(f) for f in r.files]}


def milestone_out(d: delivery.MilestoneDetail) -> dict[str, Any]:
    return {"id": d.id, "round": d.round_id, "component": d.component, "actor": d.actor, "kind": d.kind,
            "quantity": d.quantity, "amount": format_money(d.amount_cents), "state": d.state,
            "service_days": d.service_days, "opens_at": d.opens_at, "due_at": d.due_at,
            "released": format_money(d.released_cents), "refunded": format_money(d.refunded_cents),
            "in_escrow": format_money(d.in_escrow_cents), "settled": d.settled, "next_step": d.next_step,
            "may_report": d.may_report, "disputable": d.disputable,
            "reports": [report_out(d.id, r) for r in d.reports],
            "disputes": [dispute_out(d.id, x) for x in d.disputes]}


def dispute_out(milestone_id: int, d: delivery.DisputeView) -> dict[str, Any]:
    return {"id": d.id, "milestone": milestone_id, "report": d.report_id, "kind": d.kind,
            "amount": format_money(d.amount_cents), "reason": d.reason, "opened_at": d.opened_at, "state": d.state,
            "decided_at": d.decided_at, "decision": d.decision,
            "released": None if d.released_cents is None else format_money(d.released_cents)}


def _dispute_of(session: Any, milestone_id: int, dispute_id: int) -> dict[str, Any]:
    detail = delivery.details_of(session, [milestone_id])[milestone_id]
    return next(dispute_out(milestone_id, x) for x in detail.disputes if x.id == dispute_id)


def _report_of(session: Any, milestone_id: int, report_id: int) -> dict[str, Any]:
    detail = delivery.details_of(session, [milestone_id])[milestone_id]
    return next(report_out(milestone_id, r) for r in detail.reports if r.id == report_id)


@blp.route(f"{ROUND}/milestones")
@blp.response(200, s.MilestoneOut(many=True))
@blp.paginate(Page, **PAGE)
def milestones(round_id: int) -> list[dict[str, Any]]:
    """The committed round's milestones you may read: an actor its own, a funder those its pledges pay for, a
    verifier those it is assigned to; analysts and admins all."""
    with sessions().begin() as session:
        rows = delivery.visible_milestones(session, me_(), round_id)
        return [milestone_out(d) for d in delivery.details(session, rows)]


@blp.route(MILESTONE)
@blp.response(200, s.MilestoneOut)
def milestone_get(milestone_id: int) -> dict[str, Any]:
    """One milestone with its reports, evidence files, money released and next step (404 if not yours to see)."""
    with sessions().begin() as session:
        return milestone_out(delivery.milestone_detail(session, me_(), milestone_id))


@blp.route(f"{MILESTONE}/reports", methods=["POST"])
@blp.doc(requestBody=s.REPORT_FORM)
@blp.response(201, s.ReportOut)
def report_create(milestone_id: int) -> Response:
    """Report your milestone delivered (multipart/form-data: quantity, note, latitude and longitude, and up to 5
    evidence files named `files`), from its opening until its deadline. A verifier reviews it. Audited
    "report"; send an Idempotency-Key so that a retried upload is not a second report."""
    unknown = {f"form.{k}": "unknown field: send quantity, note, latitude, longitude and files"
               for k in request.form if k not in REPORT_FIELDS}
    unknown |= {f"files.{k}": "evidence files go in the field named files" for k in request.files if k != "files"}
    if unknown:
        raise InvalidInput(unknown)
    data = {"quantity": whole_or_text(request.form.get("quantity")), "note": request.form.get("note", ""),
            "latitude": number_or_none(request.form.get("latitude")),
            "longitude": number_or_none(request.form.get("longitude"))}
    files = uploads(request.files.getlist("files"))
    same = {"form": sorted(request.form.items(multi=True)),
            "files": [[f.filename, hashlib.sha256(f.data).hexdigest()] for f in files]}

    def do(session: Any) -> dict[str, Any]:
        made_report = delivery.submit_report(session, me_(), milestone_id, data, files, storage())
        return _report_of(session, milestone_id, made_report.id)
    return write(do, made(s.ReportOut), 201, payload=same)


@blp.route(f"{REPORT}/review", methods=["POST"])
@blp.arguments(s.ReviewIn, as_kwargs=False)
@blp.response(200, s.ReportOut)
def report_review(data: dict[str, Any], report_id: int) -> Response:
    """Accept (in full, or `quantity` units: paid pro rata, `reason` required) or reject (`reason` required) a
    report on a milestone you are assigned to verify and independent of. Accepting releases its money to the
    actor, attributed to each funding pledge, in the same transaction. Audited."""
    body = request.get_json()

    def do(session: Any) -> dict[str, Any]:
        report = delivery.review_report(session, me_(), report_id, body)
        return _report_of(session, report.milestone_id, report.id)
    return write(do, made(s.ReportOut), 200)


@blp.route(f"{REPORT}/dispute", methods=["POST"])
@blp.arguments(s.DisputeIn, as_kwargs=False)
@blp.response(201, s.DisputeOut)
def report_dispute(data: dict[str, Any], report_id: int) -> Response:
    """Dispute the rejection of your latest report, or the deduction of an acceptance (once per report): what the
    milestone holds in escrow is frozen until an analyst decides. Audited "dispute"."""
    body = request.get_json()

    def do(session: Any) -> dict[str, Any]:
        row = services.open_dispute(session, me_(), report_id, body)
        return _dispute_of(session, row.milestone_id, row.id)
    return write(do, made(s.DisputeOut), 201)


@blp.route("/disputes/<int(max=9223372036854775807):dispute_id>/decision", methods=["POST"])
@blp.arguments(s.DecisionIn, as_kwargs=False)
@blp.response(200, s.DisputeOut)
def dispute_decide(data: dict[str, Any], dispute_id: int) -> Response:
    """Decide a dispute (analysts, admins): for the actor (paid `release` of the disputed amount, all by default;
    the rest goes back to the funders) or for the verifier (a deduction goes back to the funders; a rejection
    stands). Audited "decide dispute"."""
    body = request.get_json()

    def do(session: Any) -> dict[str, Any]:
        row = services.decide_dispute(session, me_(), dispute_id, body)
        return _dispute_of(session, row.milestone_id, row.id)
    return write(do, made(s.DisputeOut), 200)


@blp.route(f"{MILESTONE}/write-off", methods=["POST"])
@blp.arguments(s.WriteOffIn, as_kwargs=False)
@blp.response(200, s.MilestoneOut)
def milestone_write_off(data: dict[str, Any], milestone_id: int) -> Response:
    """Write a milestone off (analysts, admins): what it holds in escrow goes back to each funding pledge; a
    delivery not accepted takes its holdback with it. Refused while a report or a dispute waits. Audited."""
    body = request.get_json()

    def do(session: Any) -> dict[str, Any]:
        services.write_off(session, me_(), milestone_id, body)
        return milestone_out(delivery.details_of(session, [milestone_id])[milestone_id])
    return write(do, made(s.MilestoneOut), 200)


@blp.route(f"{ROUND}/disputes")
@blp.response(200, s.DisputeOut(many=True))
def round_disputes(round_id: int) -> list[dict[str, Any]]:
    """Disputes waiting for an analyst in the round (analysts, admins)."""
    with sessions().begin() as session:
        get_round(session, round_id)
        rows = services.disputes.open_disputes(session, me_(), round_id)
        found = delivery.details_of(session, sorted({d.milestone_id for d in rows}))
        return [dispute_out(d.milestone_id, x) for d in rows for x in found[d.milestone_id].disputes if x.id == d.id]


@blp.route("/verification/reports")
@blp.response(200, s.WaitingOut(many=True))
@blp.paginate(Page, **PAGE)
def waiting() -> list[dict[str, Any]]:
    """Reports waiting for review: yours to verify (analysts and admins: every one). Overdue ones are past the
    round's review time: escalated to the analysts, never paid without a verifier."""
    with sessions().begin() as session:
        return [{"report": w.report.id, "milestone": w.milestone.id, "round": w.milestone.round_id,
                 "component": w.component, "actor": w.actor, "submitted_at": _stamp(w.report.submitted_at),
                 "due_at": w.due, "overdue": w.overdue} for w in delivery.waiting_reports(session, me_())]


@blp.route(FILE)
@blp.doc(responses={"200": {"description": "the file, as its checked type", "content": EVIDENCE_CONTENT}})
def file_get(file_id: int) -> Response:
    """An evidence file's bytes, to whoever may read its milestone (anyone else: 404)."""
    with sessions().begin() as session:
        row, content = delivery.evidence(session, me_(), file_id, storage())
        name, content_type = row.name, row.content_type
    response = Response(content, mimetype=content_type)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name, safe='')}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def verifier_out(a: verification.AssignmentView) -> dict[str, Any]:
    return dataclasses.asdict(a)


@blp.route(f"{ROUND}/verifiers")
@blp.response(200, s.VerifierOut(many=True))
def verifiers(round_id: int) -> list[dict[str, Any]]:
    """Who verifies the round or its challenges (analysts, admins)."""
    with sessions().begin() as session:
        return [verifier_out(a) for a in verification.assignments(session, me_(), round_id)]


@blp.route(f"{ROUND}/verifiers", methods=["POST"])
@blp.arguments(s.VerifierIn, as_kwargs=False)
@blp.response(201, s.VerifierOut)
def verifier_assign(data: dict[str, Any], round_id: int) -> Response:
    """Assign a verifier (analysts, admins): refused when the account funds or bid on what it would verify.
    Audited "assign verifier"."""
    body = request.get_json()

    def do(session: Any) -> dict[str, Any]:
        row = verification.assign_verifier(session, me_(), round_id, body)
        return next(verifier_out(a) for a in verification.assignments(session, me_(), round_id) if a.id == row.id)
    return write(do, made(s.VerifierOut), 201)


@blp.route(f"{ROUND}/verifiers/<int(max=9223372036854775807):assignment_id>", methods=["DELETE"])
@blp.response(200, s.VerifierOut)
def verifier_unassign(round_id: int, assignment_id: int) -> Response:
    """Remove a verifier assignment (analysts, admins); the answer is the assignment removed. Audited
    "unassign verifier"."""
    def do(session: Any) -> dict[str, Any]:
        found = [verifier_out(a) for a in verification.assignments(session, me_(), round_id) if a.id == assignment_id]
        verification.unassign_verifier(session, me_(), round_id, assignment_id)
        return found[0]
    return write(do, made(s.VerifierOut), 200)


# ---------------------------------------------------------------- funders' statements (issue 17)

def statement_out(found: statements.Statement) -> dict[str, Any]:
    m = format_money
    return {"round": found.round_id, "round_name": found.round_name, "currency": found.currency,
            "funder": found.funder_key, "committed": found.committed, "pledged": m(found.pledged_cents),
            "taken": m(found.committed_cents), "unused": m(found.unused_cents), "deposited": m(found.deposited_cents),
            "owed": m(found.owed_cents), "released": m(found.released_cents), "refunded": m(found.refunded_cents),
            "due_back": m(found.due_back_cents), "repaired": m(found.repaired_cents),
            "rolled_out": m(found.rolled_out_cents), "rolled_in": m(found.rolled_in_cents),
            "in_escrow": m(found.in_escrow_cents),
            "held_back": m(found.held_back_cents),
            "lines": [{"pledge": line.pledge, "milestone": line.milestone_id, "component": line.component,
                       "actor": line.actor, "kind": line.kind, "quantity": line.quantity, "state": line.state,
                       "your_part": m(line.funded_cents), "released": m(line.released_cents),
                       "refunded": m(line.refunded_cents),
                       "verified_at": line.verified_at, "accepted_quantity": line.accepted_quantity,
                       "bought": line.bought,
                       "evidence": [file_out(f) for f in line.evidence]} for line in found.lines]}


@blp.route(f"{ROUND}/statement")
@blp.arguments(s.StatementArgs, location="query", as_kwargs=True)
@blp.response(200, s.StatementOut)
def statement(round_id: int, funder: str | None = None) -> dict[str, Any]:
    """Your statement of the round (a funder's own; analysts and admins: `funder`'s): pledged, taken,
    deposited, released for verified work, held back, and per milestone what the money bought."""
    with sessions().begin() as session:
        return statement_out(statements.statement(session, me_(), round_id, funder))


def progress_out(c: Any) -> dict[str, Any]:
    return {"challenge": c.key or None, "title": c.title, "milestones": c.milestones, "verified": c.verified,
            "written_off": c.written_off, "committed": format_money(c.committed_cents),
            "released": format_money(c.released_cents), "refunded": format_money(c.refunded_cents)}


@blp.route(f"{ROUND}/progress")
@blp.response(200, s.ProgressOut)
def round_progress(round_id: int) -> dict[str, Any]:
    """The committed round's progress per challenge: milestones verified of total, money released of committed
    (any account; 409 before the commit)."""
    with sessions().begin() as session:
        found = services.progress.round_progress(session, round_id)
    if found is None:
        raise WrongState(f"round {round_id}'s clearing is not committed: there is no progress to follow")
    return {"round": found.round_id, "phase": found.phase, "currency": found.currency,
            "challenges": [progress_out(c) for c in found.challenges], "total": progress_out(found.totals)}


@blp.route("/notifications")
@blp.response(200, s.NotificationOut(many=True))
@blp.paginate(Page, **PAGE)
def notifications_list() -> list[dict[str, Any]]:
    """Your inbox, newest first: awards won or lost, milestones to report, reports accepted or rejected, money
    released, disputes decided."""
    with sessions().begin() as session:
        return [{"id": n.id, "kind": n.kind, "text": n.text, "link": n.link, "round": n.round_id,
                 "created_at": _stamp(n.created_at), "read": n.read_at is not None}
                for n in services.notifications.inbox(session, me_(), limit=None)]


@blp.route("/notifications/read", methods=["POST"])
@blp.arguments(s.ReadIn, as_kwargs=False)
@blp.response(200, s.ReadOut)
def notifications_read(data: dict[str, Any]) -> Response:
    """Mark your notifications read (those up to `upto`, or all)."""
    def do(session: Any) -> dict[str, Any]:
        return {"marked": services.notifications.mark_read(session, me_(), data.get("upto"))}
    return write(do, made(s.ReadOut), 200)


@blp.route("/statements")
@blp.response(200, s.StatementOut(many=True))
def portfolio() -> list[dict[str, Any]]:
    """Your statements in every round you pledged in, newest first (funders)."""
    with sessions().begin() as session:
        return [statement_out(found) for found in statements.portfolio(session, me_())]


# ---------------------------------------------------------------- clearing runs and allocations

@blp.route(f"{ROUND}/runs")
@blp.response(200, s.RunOut(many=True))
@blp.paginate(Page, **PAGE)
def runs(round_id: int) -> list[dict[str, Any]]:
    """The round's clearing runs, oldest first (analysts, admins)."""
    if me_().role not in STAFF:
        raise Forbidden("only analysts and admins see clearing runs; everyone sees the result's allocation")
    with sessions().begin() as session:
        get_round(session, round_id)
        return [run_out(r) for r in services.runs(session, round_id)]


@blp.route(f"{ROUND}/runs/{RUN}")
@blp.response(200, s.RunAllocation)
def run_get(round_id: int, run_id: int) -> dict[str, Any]:
    """One clearing run with its allocation (analysts, admins)."""
    if me_().role not in STAFF:
        raise Forbidden("only analysts and admins see clearing runs; everyone sees the result's allocation")
    with sessions().begin() as session:
        run = by_id(session, ClearingRun, run_id)
        if run is None or run.round_id != round_id:
            raise NotFound(f"no clearing run {run_id} in round {round_id}")
        services.record_download(session, me_(), round_id, run.id, "api run")
        return {"run": run_out(run), "allocation": run.allocation}


@blp.route(f"{ROUND}/allocation")
@blp.response(200, s.RunAllocation)
def allocation(round_id: int) -> dict[str, Any]:
    """The cleared round's result: awards, challenges completed and why the others were not (everyone; 409
    before the round is cleared). Bids stay sealed and pledges private: analysts and admins get the run's
    allocation whole; anyone else gets the reasons without a losing bid's id or figures (an actor: in full
    about its own bids), the flows and pledges (spent, returned) of only its own pledges and those listed by
    name, and on each challenge `funders`, how many funders pay into it; neither the run's `digest` nor the
    allocation's `solver` block (counts of bids and pledges, bounds)."""
    with sessions().begin() as session:
        rnd = get_round(session, round_id)
        run = reads.result(session, round_id)
        if run is None or rnd.status != RoundStatus.CLEARED:
            from market.errors import WrongState
            raise WrongState(f"round {round_id} is {rnd.status}: it has no allocation until it is cleared")
        services.record_download(session, me_(), round_id, run.id, "api allocation")
        seer = sealing.viewer(session, me_(), round_id)
        out = run_out(run)
        if not seer.full:
            del out["digest"]       # a hash of the whole market, sealed bids included: guesses could be checked
        return {"run": out, "allocation": sealing.allocation_for(run.allocation, seer)}


# ---------------------------------------------------------------- clearing jobs

def _staff_only(what: str) -> None:
    if me_().role not in STAFF:
        raise Forbidden(f"only analysts and admins see {what}: they show the solver's figures")


@blp.route(f"{ROUND}/jobs")
@blp.response(200, s.JobOut(many=True))
@blp.paginate(Page, **PAGE)
def round_jobs(round_id: int) -> list[dict[str, Any]]:
    """The round's clearing jobs, newest first (its last 100; analysts, admins)."""
    _staff_only("clearing jobs")
    with sessions().begin() as session:
        get_round(session, round_id)
        return [job_out(j) for j in jobs.round_jobs(session, me_(), round_id, limit=100)]


@blp.route(f"/jobs/{JOB}")
@blp.response(200, s.JobOut)
def job_get(job_id: int) -> dict[str, Any]:
    """A clearing job: state, the solver's stage, elapsed seconds, incumbent, bound and gap as the backend
    reports them (null until it does), the options asked for, and the run it recorded (analysts, admins).
    Poll it (once a second is plenty) until `state` is succeeded, failed or cancelled."""
    _staff_only("clearing jobs")
    with sessions().begin() as session:
        return job_out(jobs.get_job(session, me_(), job_id))


@blp.route(f"/jobs/{JOB}/cancel", methods=["POST"])
@blp.response(200, s.JobOut)
def job_cancel(job_id: int) -> Response:
    """Cancel a queued job at once, or ask a running one to stop: it ends `cancelled` within a few seconds
    and the round stays as it was (analysts, admins). 409 once the job has ended."""
    _staff_only("clearing jobs")
    return write(lambda session: job_out(jobs.cancel_job(session, me_(), job_id)), made(s.JobOut), 200)


@blp.route(f"/jobs/{JOB}/retry", methods=["POST"])
@blp.response(202, s.JobOut, headers=LOCATION)
def job_retry(job_id: int) -> Response:
    """Queue a new job with a failed or cancelled job's options (analysts, admins): 202 with the new job and
    its Location. 409 if the job did not fail nor was cancelled, or another clearing of the round is queued
    or running; 503 with Retry-After when the queue cannot be reached."""
    _staff_only("clearing jobs")
    return queue_job(lambda with_job: job_queues.retry(sessions(), job_queue(), me_(), job_id, with_job))


# ---------------------------------------------------------------- stateless solve

@blp.route("/solve", methods=["POST"])
@blp.arguments(s.SolveArgs, location="query", as_kwargs=False)
@blp.response(200, s.AllocationDocument)
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["format"], "additionalProperties": True,
    "properties": {"format": {"type": "string", "example": "swarm-market/1"}}}}}})
def solve(args: dict[str, Any]) -> Response | dict[str, Any]:
    """Clear a market document (the file format) and return its allocation; stores nothing. Any signed-in
    role. Limits: 2 MB, 500 challenges, 5000 components, 20000 bids or pledges (413 beyond). `time_limit`
    (at most 20 s, default 20) bounds the whole request, reasons included: it answers within it plus a few
    seconds to read the market and build its model, with the best allocation found by then (status
    "feasible") and, for reasons the time left no room for, "not explained: time limit". Invalid markets:
    422 with each problem at its JSON path. The solve runs in a process of its own that is killed at a hard
    bound of `time_limit` + 10 s: then 503 with a JSON error, and no solver process outlives the request."""
    started = time.monotonic()                  # reading the market counts too
    raw = request.get_data(cache=True)
    try:
        document = json.loads(raw)
    except ValueError:
        abort(400, description="the body is not valid JSON")
    if not isinstance(document, dict):
        raise InvalidInput({"": "expected a swarm-market/1 or swarm-market/1.1 document (a JSON object)"})
    _solve_limits(document)
    time_limit = args["time_limit"]
    try:
        return bounded.clear_in_child(raw, time_limit, args["explain"], bound=time_limit + SOLVE_HARD_MARGIN,
                                      spent=time.monotonic() - started,
                                      start_method=current_app.config.get("SOLVE_START_METHOD"))
    except MarketError as exc:
        problems: dict[str, list[str]] = {}
        for problem in exc.problems:
            problems.setdefault(problem.path, []).append(problem.message)
        return errors.error_response(422, problems)
    except ClearingError as exc:
        raise ClearingFailed(f"the market could not be cleared: {exc}") from None
    except bounded.SolverCrashed as exc:        # a backend's own crash: said (409), not a 500
        raise ClearingFailed(f"the market could not be cleared: the solver failed ({exc})") from None
    except bounded.Overran:
        return errors.error_response(503, {"": [
            f"the solve did not end within its hard bound of {time_limit + SOLVE_HARD_MARGIN:g} s (time_limit "
            f"+ {SOLVE_HARD_MARGIN} s to read the market and build its model) and was stopped: try a smaller "
            "market or time_limit"]})
    except bounded.ChildDied as exc:
        return errors.error_response(503, {"": [f"the market could not be cleared: {exc}; try again"]})


def _solve_limits(document: dict[str, Any]) -> None:
    def count(items: Any) -> int:
        return len(items) if isinstance(items, list) else 0
    challenges = document.get("challenges")
    sizes = {"challenges": count(challenges),
             "components": sum(count(c.get("components")) for c in challenges if isinstance(c, dict))
             if isinstance(challenges, list) else 0,
             "bids": sum(count(a.get("bids")) for a in document.get("actors", []) if isinstance(a, dict))
             if isinstance(document.get("actors"), list) else 0,
             "pledges": sum(count(f.get("pledges")) for f in document.get("funders", []) if isinstance(f, dict))
             if isinstance(document.get("funders"), list) else 0}
    over = {name: f"{sizes[name]} {name}: at most {limit} in one solve" for name, limit in SOLVE_MAX.items()
            if sizes[name] > limit}
    if over:
        from werkzeug.exceptions import RequestEntityTooLarge
        error = RequestEntityTooLarge()
        error.data = {"errors": {"json": over}}  # type: ignore[attr-defined]
        raise error


# ---------------------------------------------------------------- docs page

pages = FlaskBlueprint("api_pages", __name__, url_prefix="/api/v1")


@pages.route("/docs")
def docs() -> str:
    """A reference page rendered here from the OpenAPI document (no scripts, no CDN)."""
    from flask import current_app
    spec = current_app.extensions["swarm_api"].spec.to_dict()
    return render_template("api/docs.html", spec=spec, json=json)
