"""The simulated users of bench/load.py, for locust (FastHttpUser: geventhttpclient, the lightest client it has).

Run only by bench/load.py, as a process of its own (locust monkey-patches with gevent on import: never import
this module elsewhere). What it needs comes in a JSON file named by SWARM_LOAD_IN (tokens, the rounds, the
components to bid on, the pledges and bids each account already has); on quitting (at the end of its time,
or once the file SWARM_LOAD_STOP appears) it writes SWARM_LOAD_OUT: every request as [start time, name,
milliseconds, status] and what each write that got a 2xx left behind
(pledges: key -> amount in cents; bids: key -> items), for the final check against the database.

Users:
  Ceiling  GET /healthz, the trivial endpoint
  Funder   pledges (POST, with an Idempotency-Key as a careful client sends) and changes the amount of one of
           its pledges (PATCH), 30/70 once it has one
  Actor    bids on 1-3 components at or under their reserve (POST) and changes a bid's prices (PATCH), 30/70
  Reader   anonymous pages: home, the open round, a challenge of it, the cleared round's results, the round
           being cleared
Counts per class come from SWARM_LOAD_FUNDERS, _ACTORS, _READERS (a class not named on the command line is
not run). Nobody waits between requests: 50 users are 50 requests in flight.
"""
from __future__ import annotations

import json
import os
import random
import time
import uuid
from typing import Any

import gevent
from locust import FastHttpUser, constant, events, task

SETUP: dict[str, Any] = json.loads(open(os.environ["SWARM_LOAD_IN"], encoding="utf-8").read())
OUT = os.environ["SWARM_LOAD_OUT"]
STOP = os.environ.get("SWARM_LOAD_STOP", "")
API = "/api/v1"

samples: list[list[Any]] = []
pledges: dict[str, int] = {}                 # key -> amount in cents, as the last 2xx left it
bids: dict[str, list[list[Any]]] = {}        # key -> [[component, quantity, price in cents], ...]
unknown: list[str] = []                      # writes without an answer (none expected)
_taken = {"funders": 0, "actors": 0}


@events.request.add_listener
def _record(request_type: str, name: str, response_time: float, response: Any = None, exception: Any = None,
            start_time: float | None = None, **kwargs: Any) -> None:
    status = getattr(response, "status_code", 0) or 0 if response is not None else 0
    samples.append([start_time or time.time(), name, round(response_time, 2), status])


@events.init.add_listener
def _watch_for_stop(environment: Any, **kwargs: Any) -> None:
    """bench/load.py ends a phase early (the clearing one, once its job ended) by making the file STOP: the
    runner then stops as at the end of its time, each user finishing its request (--stop-timeout)."""
    def watch() -> None:
        while not (STOP and os.path.exists(STOP)):
            gevent.sleep(0.2)
        if environment.runner is not None:
            environment.runner.quit()
    gevent.spawn(watch)


@events.quitting.add_listener
def _dump(environment: Any, **kwargs: Any) -> None:
    with open(OUT, "w", encoding="utf-8") as handle:
        json.dump({"samples": samples, "pledges": pledges, "bids": bids, "unknown": unknown}, handle)


def _account(kind: str) -> dict[str, Any]:
    accounts = SETUP[kind]
    found = accounts[_taken[kind] % len(accounts)]
    _taken[kind] += 1
    return found


def _cents(text: str) -> int:
    whole, _, fraction = text.partition(".")
    return int(whole) * 100 + int((fraction + "00")[:2])


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class Ceiling(FastHttpUser):
    wait_time = constant(0)

    @task
    def healthz(self) -> None:
        self.client.get("/healthz", name="GET /healthz")


class _Writer(FastHttpUser):
    abstract = True
    wait_time = constant(0)
    kind = ""

    def on_start(self) -> None:
        account = _account(self.kind)
        self.headers = {"Authorization": f"Bearer {account['token']}"}
        self.owned: list[str] = list(account["owned"])
        self.base = f"{API}/rounds/{SETUP['round']}"

    def _write(self, method: str, path: str, name: str, body: dict[str, Any], idempotent: bool) -> Any:
        headers = dict(self.headers, **({"Idempotency-Key": uuid.uuid4().hex} if idempotent else {}))
        response = self.client.request(method, path, name=name, json=body, headers=headers)
        if response.status_code == 0 or response.status_code >= 500:
            unknown.append(f"{method} {path}: {response.status_code}")
        return response if 200 <= response.status_code < 300 else None


class Funder(_Writer):
    fixed_count = int(os.environ.get("SWARM_LOAD_FUNDERS", "0"))
    kind = "funders"

    @task
    def pledge_or_change(self) -> None:
        amount = random.randrange(100, 5_000_000)                     # 1.00 to 50,000.00
        if not self.owned or random.random() < 0.3:
            body: dict[str, Any] = {"amount": _money(amount)}
            if random.random() < 0.3:
                body["scope"] = {"tags": [random.choice(SETUP["tags"])]}
            if random.random() < 0.2:
                body["listed"] = True
            answer = self._write("POST", f"{self.base}/pledges", "POST pledge", body, idempotent=True)
            if answer is not None:
                key = answer.json()["id"]
                self.owned.append(key)
                pledges[key] = _cents(answer.json()["amount"])
        else:
            key = random.choice(self.owned)
            answer = self._write("PATCH", f"{self.base}/pledges/{key}", "PATCH pledge", {"amount": _money(amount)},
                                 idempotent=False)
            if answer is not None:
                pledges[key] = _cents(answer.json()["amount"])


class Actor(_Writer):
    fixed_count = int(os.environ.get("SWARM_LOAD_ACTORS", "0"))
    kind = "actors"

    def _items(self) -> list[dict[str, Any]]:
        chosen = random.sample(SETUP["components"], random.randint(1, 3))
        items = []
        for component in chosen:
            ceiling = component["max_cents"] if component["max_cents"] is not None else 1_000_000
            items.append({"component": component["path"],
                          "price": _money(random.randrange(max(1, ceiling // 2), ceiling + 1))})
        return items

    def _keep(self, answer: Any) -> str:
        body = answer.json()
        bids[body["id"]] = [[i["component"], i["quantity"], _cents(i["price"])] for i in body["items"]]
        return str(body["id"])

    @task
    def bid_or_change(self) -> None:
        if not self.owned or random.random() < 0.3:
            answer = self._write("POST", f"{self.base}/bids", "POST bid", {"items": self._items()}, idempotent=True)
            if answer is not None:
                self.owned.append(self._keep(answer))
        else:
            key = random.choice(self.owned)
            answer = self._write("PATCH", f"{self.base}/bids/{key}", "PATCH bid", {"items": self._items()},
                                 idempotent=False)
            if answer is not None:
                self._keep(answer)


class Reader(FastHttpUser):
    fixed_count = int(os.environ.get("SWARM_LOAD_READERS", "0"))
    wait_time = constant(0)

    @task(1)
    def home(self) -> None:
        self.client.get("/", name="page /")

    @task(2)
    def open_round(self) -> None:
        self.client.get(f"/rounds/{SETUP['round']}", name="page open round")

    @task(4)
    def challenge(self) -> None:
        key = random.choice(SETUP["challenges"])
        self.client.get(f"/rounds/{SETUP['round']}/challenges/{key}", name="page challenge")

    @task(2)
    def results(self) -> None:
        self.client.get(f"/rounds/{SETUP['cleared_round']}/results", name="page results")

    @task(1)
    def clearing_round(self) -> None:
        self.client.get(f"/rounds/{SETUP['clearing_round']}", name="page round being cleared")
