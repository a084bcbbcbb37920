"""What the fault tests share: an HTTP client that tells a lost connection from an answer, a browser with
cookies and CSRF for the pages, a database of their own seeded with accounts, tokens and rounds, and a burst
of pledges sent with Idempotency-Keys and retried as a careful API client would.

The client's rule, which the tests assert the server keeps: a write that got no answer (the connection
dropped) or a 503 may or may not have been done; sending it again with the same Idempotency-Key either does
it (the first attempt stored nothing) or replays the stored answer (`Idempotent-Replayed: true`: it was
done, the answer was lost), so each key ends with exactly one pledge, never none, never two.
"""
from __future__ import annotations

import http.client
import http.cookiejar
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from market import migrate, services
from market.db import make_engine, make_sessionmaker
from market.models import IdempotencyRecord, Pledge, RoundFunder
from tests.servers import Gunicorn, PostgresServer, postgres_folder, running, wait_until
from tests.small_market import import_market, market_doc

PASSWORD = "correct horse"
API = "/api/v1"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]           # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()


class ConnectionLost(Exception):
    """No answer: refused, reset, closed before a whole response, or timed out."""


def call(base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = 20) -> Reply:
    """One request on a connection of its own; a Reply whatever its status, or ConnectionLost."""
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    sent = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    except (OSError, http.client.HTTPException) as exc:
        raise ConnectionLost(f"{method} {path}: {type(exc).__name__}: {exc}") from None
    finally:
        connection.close()


def api(base: str, token: str, method: str, path: str, body: Any = None, **headers: str) -> Reply:
    return call(base, method, API + path, body, {"Authorization": f"Bearer {token}", **headers})


def assert_api_error(reply: Reply, status: int) -> dict[str, Any]:
    """The API's one error shape, as JSON."""
    assert reply.status == status and reply.type == "application/json", (reply.status, reply.body[:500])
    body = reply.json()
    assert set(body) == {"status", "error", "errors"} and body["status"] == status, body
    return body


def assert_error_page(reply: Reply, status: int, title: str) -> str:
    """An HTML error page of the site's own (no traceback, no werkzeug page)."""
    text = reply.body.decode()
    assert reply.status == status and reply.type == "text/html", (reply.status, text[:500])
    assert f"<h1>{title}</h1>" in text and "Traceback" not in text, text[:2000]
    return text


class Browser:
    """A person on the site: cookies kept, CSRF tokens read from the pages, redirects followed."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def _open(self, request: urllib.request.Request) -> Reply:
        try:
            with self.opener.open(request, timeout=20) as response:
                return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())

    def get(self, path: str) -> Reply:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, form: dict[str, str], csrf_from: str) -> Reply:
        """Send `form` to `path` with the CSRF token of the page at `csrf_from`."""
        page = self.get(csrf_from)
        found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.body.decode())
        assert found, f"no CSRF token on {csrf_from} ({page.status})"
        data = urllib.parse.urlencode({**form, "csrf_token": found.group(1)}).encode()
        return self._open(urllib.request.Request(self.base + path, data=data, method="POST"))

    def login(self, email: str) -> None:
        reply = self.post("/login", {"email": email, "password": PASSWORD}, "/login")
        assert reply.status == 200 and "Log out" in reply.body.decode(), reply.body.decode()[:1000]


# ---------------------------------------------------------------- the database

@dataclass(frozen=True)
class Seeded:
    """A migrated database holding a funder and an analyst (each with an API token; the analyst can log in
    with PASSWORD), an open round of the small market and two closed ones."""
    url: str
    funder: str
    funder_id: int
    analyst: str
    analyst_email: str
    open_round: int
    closed_rounds: tuple[int, int]


def seed(url: str) -> Seeded:
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        with sessions.begin() as session:
            fast = generate_password_hash(PASSWORD, "pbkdf2:sha256:1000")
            funder = services.create_user(session, None, "funder@example.org", "Funder", "funder", fast)
            analyst = services.create_user(session, None, "analyst@example.org", "Analyst", "analyst", fast)
            funder_token = services.create_token(session, None, funder.id, "faults")[1]
            analyst_token = services.create_token(session, None, analyst.id, "faults")[1]
            funder_id = funder.id
        open_round = import_market(sessions, market_doc())
        closed = (import_market(sessions, market_doc()), import_market(sessions, market_doc()))
        with sessions.begin() as session:
            for round_id in closed:
                services.close_round(session, None, round_id)
    finally:
        engine.dispose()
    return Seeded(url, funder_token, funder_id, analyst_token, "analyst@example.org", open_round, closed)


@contextmanager
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL of the test's own, running, stopped and removed after the test."""
    with postgres_folder() as folder, running(PostgresServer(folder)) as server:
        yield server.start()


@contextmanager
def seeded_postgres() -> Iterator[tuple[PostgresServer, Seeded]]:
    with own_postgres() as server:
        yield server, seed(server.create_database("swarm"))


def import_closed(url: str, doc: dict[str, Any]) -> int:
    """A closed round holding market `doc`; its id."""
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        round_id = import_market(sessions, doc)
        with sessions.begin() as session:
            services.close_round(session, None, round_id)
    finally:
        engine.dispose()
    return round_id


def job_state(base: str, token: str, job_id: int) -> dict[str, Any]:
    reply = api(base, token, "GET", f"/jobs/{job_id}")
    assert reply.status == 200, reply.body
    body: dict[str, Any] = reply.json()
    return body


def job_ended(base: str, token: str, job_id: int, within: float) -> dict[str, Any]:
    """The job once it has ended (succeeded, failed or cancelled), waiting up to `within` seconds."""
    def ended() -> dict[str, Any] | None:
        job = job_state(base, token, job_id)
        return job if job["state"] in ("succeeded", "failed", "cancelled") else None
    return wait_until(ended, within, f"job {job_id} ending", every=0.25)


def pledges_of(url: str, round_id: int, user_id: int) -> tuple[list[str], dict[str, str]]:
    """The keys of the user's pledges in the round (every one, in the order made), and the user's stored
    idempotent answers: Idempotency-Key -> the key of the pledge it answered with."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine).begin() as session:
            keys = list(session.scalars(select(Pledge.key).join(RoundFunder, Pledge.funder_id == RoundFunder.id)
                                        .where(Pledge.round_id == round_id, RoundFunder.user_id == user_id)
                                        .order_by(Pledge.id)))
            records = {r.key: r.body["id"] for r in session.scalars(
                select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id))}
    finally:
        engine.dispose()
    return keys, records


# ---------------------------------------------------------------- pledges in a burst

@dataclass
class Attempt:
    at: float                         # seconds since the burst started
    status: int | None                # None: the connection was lost
    replayed: bool = False


@dataclass
class Sent:
    """One pledge: its Idempotency-Key, every attempt, and the pledge's key once a 201 said it."""
    idempotency_key: str
    attempts: list[Attempt] = field(default_factory=list)
    pledge: str | None = None


class PledgeBurst:
    """`count` pledges of 1.00 to 9.99 sent by `clients` threads to the open round, each with its own
    Idempotency-Key; a lost connection or a 503 is sent again with the same key after `pause` seconds,
    until a 201 or `within` seconds. Anything else ends that pledge (the test says what it got)."""

    def __init__(self, gunicorn: Gunicorn, seeded: Seeded, count: int, clients: int = 6, pause: float = 0.2,
                 within: float = 60) -> None:
        self.base, self.seeded = gunicorn.base, seeded
        self.sent = [Sent(f"burst-{uuid.uuid4().hex}") for _ in range(count)]
        self.clients, self.pause, self.within = clients, pause, within
        self.done = 0
        self._next = 0
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.started = 0.0

    def start(self) -> PledgeBurst:
        self.started = time.monotonic()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def join(self) -> PledgeBurst:
        for thread in self._threads:
            thread.join(self.within + 30)
            assert not thread.is_alive(), "a burst client is stuck"
        return self

    def _client(self) -> None:
        while True:
            with self._lock:
                if self._next >= len(self.sent):
                    return
                sent = self.sent[self._next]
                self._next += 1
            self._send(sent)
            with self._lock:
                self.done += 1

    def _send(self, sent: Sent) -> None:
        amount = f"{1 + self.sent.index(sent) % 9}.{self.sent.index(sent) % 100:02d}"
        while time.monotonic() - self.started < self.within:
            try:
                reply = api(self.base, self.seeded.funder, "POST", f"/rounds/{self.seeded.open_round}/pledges",
                            {"amount": amount}, **{"Idempotency-Key": sent.idempotency_key})
            except ConnectionLost:
                sent.attempts.append(Attempt(time.monotonic() - self.started, None))
                time.sleep(self.pause)
                continue
            sent.attempts.append(Attempt(time.monotonic() - self.started, reply.status,
                                         reply.headers.get("idempotent-replayed") == "true"))
            if reply.status == 201:
                sent.pledge = reply.json()["id"]
                return
            if reply.status != 503:
                return
            assert_api_error(reply, 503)
            time.sleep(self.pause)

    def wait_done(self, share: float, within: float = 60) -> None:
        """Until `share` of the pledges got their final answer."""
        waited_until = time.monotonic() + within
        while self.done < share * len(self.sent):
            assert time.monotonic() < waited_until, f"only {self.done} of {len(self.sent)} pledges answered"
            time.sleep(0.02)

    # what happened
    def statuses(self) -> dict[int | None, int]:
        counts: dict[int | None, int] = {}
        for sent in self.sent:
            for attempt in sent.attempts:
                counts[attempt.status] = counts.get(attempt.status, 0) + 1
        return counts

    def retried(self) -> list[Sent]:
        return [s for s in self.sent if len(s.attempts) > 1]

    def assert_exactly_once(self) -> None:
        """Every pledge got its 201; the database holds exactly the pledges the 201s named, each once, and
        each Idempotency-Key's stored answer names its own pledge: none lost, none duplicated."""
        unanswered = [(s.idempotency_key, s.attempts) for s in self.sent if s.pledge is None]
        assert not unanswered, f"{len(unanswered)} pledges never got a 201: {unanswered[:3]}"
        keys, records = pledges_of(self.seeded.url, self.seeded.open_round, self.seeded.funder_id)
        answered = [s.pledge for s in self.sent]
        assert len(set(answered)) == len(answered), "two Idempotency-Keys were answered with the same pledge"
        assert sorted(keys) == sorted(answered), (
            f"database: {len(keys)} pledges, answered: {len(answered)}; "
            f"not answered: {sorted(set(keys) - set(answered))[:5]}, lost: {sorted(set(answered) - set(keys))[:5]}")
        assert {s.idempotency_key: s.pledge for s in self.sent} == {k: records[k] for k in
                                                                     (s.idempotency_key for s in self.sent)}
        for sent in self.sent:
            # a replay answers only a retry; a first attempt that was answered was never replayed
            assert not sent.attempts[0].replayed, sent
            # a retry after a 503 or a lost answer: done now (201), or done before and replayed (201, replayed)
            assert all(a.status in (None, 503) for a in sent.attempts[:-1]), sent

    def summary(self) -> str:
        replayed = sum(1 for s in self.sent if s.attempts[-1].replayed)
        return (f"{len(self.sent)} pledges, attempts by status {self.statuses()}, {len(self.retried())} retried, "
                f"{replayed} answered by a replay")

