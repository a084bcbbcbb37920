"""Idempotency-Key: a retried write answers as the first did and creates nothing twice, on SQLite and
PostgreSQL, also when the duplicates arrive at the same time."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from market.models import IdempotencyRecord, Pledge, Round
from tests.small_market import market_doc
from web import db as web_db

from tests.web_fixtures import Accounts, import_doc

from .helpers import Api, assert_error, token_for

PLEDGE = {"amount": "100.00"}                   # the server gives the id


def count(app, model):
    with web_db.sessions(app).begin() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_retry_replays_the_first_response(app, funder, empty_round):
    url = f"/rounds/{empty_round}/pledges"
    first = funder.post(url, PLEDGE, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = funder.post(url, PLEDGE, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert count(app, Pledge) == 1 and count(app, IdempotencyRecord) == 1
    # without a key the same body is a new request: a second pledge
    fresh = funder.post(url, PLEDGE)
    assert fresh.status_code == 201 and fresh.get_json()["id"] != first.get_json()["id"]


def test_same_key_other_request_is_refused(app, funder, empty_round):
    url = f"/rounds/{empty_round}/pledges"
    key = funder.post(url, PLEDGE, headers={"Idempotency-Key": "k-2"}).get_json()["id"]
    body = assert_error(funder.post(url, {**PLEDGE, "amount": "101"}, headers={"Idempotency-Key": "k-2"}), 422,
                        "header.Idempotency-Key")
    assert "different request" in body["errors"]["header.Idempotency-Key"][0]
    assert_error(funder.patch(f"{url}/{key}", {"amount": "5"}, headers={"Idempotency-Key": "k-2"}), 422,
                 "header.Idempotency-Key")
    assert count(app, Pledge) == 1


def test_keys_are_per_user_and_checked(users, funder, empty_round):
    url = f"/rounds/{empty_round}/pledges"
    other = users("other@example.org", "funder")
    assert funder.post(url, PLEDGE, headers={"Idempotency-Key": "shared"}).status_code == 201
    second = other.post(url, PLEDGE, headers={"Idempotency-Key": "shared"})
    assert second.status_code == 201 and "Idempotent-Replayed" not in second.headers
    assert_error(funder.post(url, PLEDGE, headers={"Idempotency-Key": "a b"}), 422, "header.Idempotency-Key")
    assert_error(funder.post(url, PLEDGE, headers={"Idempotency-Key": "x" * 256}), 422, "header.Idempotency-Key")


def test_failed_requests_store_nothing_and_may_be_retried(app, funder, analyst, empty_round):
    url = f"/rounds/{empty_round}/pledges"
    assert_error(funder.post(url, {"amount": "x"}, headers={"Idempotency-Key": "k-3"}), 422, "amount")
    assert count(app, IdempotencyRecord) == 0
    assert funder.post(url, {"amount": "3"}, headers={"Idempotency-Key": "k-3"}).status_code == 201


def test_every_write_takes_a_key(app, analyst, actor, empty_round):
    created = analyst.post("/rounds", {"name": "r"}, headers={"Idempotency-Key": "r-1"})
    again = analyst.post("/rounds", {"name": "r"}, headers={"Idempotency-Key": "r-1"})
    assert again.get_json() == created.get_json() and count(app, Round) == 2
    rid = created.get_json()["id"]
    challenge = {"id": "c", "components": [{"id": "k"}]}
    assert analyst.post(f"/rounds/{rid}/challenges", challenge, headers={"Idempotency-Key": "c-1"}).status_code == 201
    assert analyst.post(f"/rounds/{rid}/challenges", challenge, headers={"Idempotency-Key": "c-1"}).status_code == 201
    opened = analyst.post(f"/rounds/{rid}/open", headers={"Idempotency-Key": "o-1"})
    assert analyst.post(f"/rounds/{rid}/open", headers={"Idempotency-Key": "o-1"}).get_json() == opened.get_json()
    bid = {"items": [{"component": "c/k", "price": "1"}]}
    url = f"/rounds/{rid}/bids"
    made = actor.post(url, bid, headers={"Idempotency-Key": "b-1"})
    assert made.status_code == 201
    replay = actor.post(url, bid, headers={"Idempotency-Key": "b-1"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == made.get_json()
    key = made.get_json()["id"]
    assert actor.delete(f"{url}/{key}", headers={"Idempotency-Key": "b-2"}).status_code == 200
    assert actor.delete(f"{url}/{key}", headers={"Idempotency-Key": "b-2"}).status_code == 200   # not a 409
    analyst.post(f"/rounds/{rid}/close")
    cleared = analyst.post(f"/rounds/{rid}/clear", headers={"Idempotency-Key": "clear-1"})
    replayed = analyst.post(f"/rounds/{rid}/clear", headers={"Idempotency-Key": "clear-1"})
    assert cleared.status_code == 202 and replayed.status_code == 202
    assert replayed.get_json() == cleared.get_json() and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.headers["Location"] == cleared.headers["Location"] == f"/api/v1/jobs/{cleared.get_json()['id']}"
    assert len(analyst.get(f"/rounds/{rid}/jobs").get_json()) == 1             # no second job
    assert len(analyst.get(f"/rounds/{rid}/runs").get_json()) == 1


def test_concurrent_duplicates_create_once(any_app):
    accounts = Accounts(any_app)
    user_id = accounts.create("racer@example.org", "funder")
    token = token_for(any_app, user_id)
    doc = market_doc()
    doc["funders"], doc["actors"] = [], []
    rid = import_doc(any_app, doc)
    barrier = threading.Barrier(4)
    results = []

    def send() -> None:
        api = Api(any_app, token)
        barrier.wait()
        results.append(api.post(f"/rounds/{rid}/pledges", PLEDGE, headers={"Idempotency-Key": "race"}))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [201] * 4, [r.data for r in results]
    assert len({r.data for r in results}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in results) == 3
    assert count(any_app, Pledge) == 1 and count(any_app, IdempotencyRecord) == 1
