"""Load: gunicorn (deploy/gunicorn.conf.py) on PostgreSQL on loopback, with `swarm worker`, driven by locust.

    .venv/bin/python bench/load.py                                  # a fresh database on the local PostgreSQL
    .venv/bin/python bench/load.py --seconds 30 --redis-db 13 --web-workers 3 --web-threads 4
    .venv/bin/python bench/load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/swarm_load

Needs `pip install -e '.[production,load]'` (gunicorn, locust), a PostgreSQL and a Redis on loopback. It
makes its own database (`swarm_load_<pid>`, dropped at the end unless --keep-db) unless given one, which
must be empty; the queue and the rate-limit counters go to Redis DB --redis-db (both, under their own
prefixes; the DB is emptied first).

Setup (in this process, through the services): a generated 200-challenge market (`swarm generate --size M
--seed 1`: 836 components, 634 pledges, 2,465 bids) imported as the open round everyone writes to and reads;
the same market with seed 2 imported and closed, the round the analyst clears; the water fixture imported
and cleared, for its results page; 50 funder and 50 actor accounts with an API token each, an analyst with
one. Then gunicorn and `swarm worker` start (stderr to files in the work folder) and each phase runs
locust (bench/load_users.py, its own process) with --users users and no wait between requests:

  ceiling   GET /healthz: the trivial endpoint, the ceiling of this server on this machine
  pledge    funders pledge (POST) and change their pledges' amounts (PATCH)
  bid       actors bid (POST) and change their bids (PATCH)
  mixed     funders, actors and anonymous readers (pages) together, 2:1.5:1.5
  clearing  the mixed load; 15 s in (--clear-after) the analyst clears the closed round through the API (a job
            run by `swarm worker`): "before the job" is the load until the job starts, "while clearing" from
            its start to its end, on the same data

Each phase prints requests, req/s, p50/p95/p99 in ms and errors per endpoint over its steady window (the
first 2 s and the last 1 s left out), and the CPU each process group used (cores busy; ms of CPU per
request for the web server and PostgreSQL). Last, the check: every pledge and bid of the load's accounts in
the database must be exactly what the 2xx answers said (created keys, last amount or items), and nothing else.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PHASES = ("ceiling", "pledge", "bid", "mixed", "clearing")
TRIM_START, TRIM_END = 2.0, 1.0
PAGE = "page"


# ---------------------------------------------------------------- database and setup

def fresh_database(admin_url: str, name: str) -> str:
    from sqlalchemy import create_engine, text
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_database(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def generated(seed: int, folder: Path) -> Path:
    path = folder / f"market-M-{seed}.json"
    subprocess.run([str(BIN / "swarm"), "generate", "--size", "M", "--seed", str(seed), "-o", str(path)],
                   check=True, capture_output=True)
    return path


def set_up(url: str, folder: Path, users: int) -> dict[str, Any]:
    """The rounds and the accounts; what the users need (tokens, keys) as a dict."""
    from market import migrate, services
    from market.db import make_engine, make_sessionmaker
    from market.models import Challenge, Component
    from solver.clearing import ClearOptions
    from solver.loading import load_market
    from sqlalchemy import select

    engine = make_engine(url)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        open_round = services.import_market(session, None, load_market(generated(1, folder)))
        clearing_round = services.import_market(session, None, load_market(generated(2, folder)))
        services.close_round(session, None, clearing_round.id)
        water = services.import_market(session, None, load_market(ROOT / "fixtures" / "water-sdg6.json"))
        services.close_round(session, None, water.id)
        ids = {"round": open_round.id, "clearing_round": clearing_round.id, "cleared_round": water.id}
        rows = session.execute(select(Challenge.key, Component.key, Component.quantity, Component.max_unit_price_cents)
                               .join(Component.challenge).where(Challenge.round_id == open_round.id)
                               .order_by(Challenge.position, Component.position)).all()
        components = [{"path": f"{c}/{k}", "max_cents": None if price is None else price * quantity}
                      for c, k, quantity, price in rows]
        challenges = sorted({c for c, _, _, _ in rows})
        tags = sorted({t for c in load_market(generated(1, folder)).challenges for t in c.tags})
        accounts: dict[str, list[dict[str, Any]]] = {"funders": [], "actors": []}
        for kind, role in (("funders", "funder"), ("actors", "actor")):
            for i in range(users):
                user = services.create_user(session, None, f"load-{role}-{i}@example.org", f"Load {role} {i}", role)
                _, secret = services.create_token(session, None, user.id, "load")
                accounts[kind].append({"user_id": user.id, "token": secret, "owned": []})
        analyst = services.create_user(session, None, "load-analyst@example.org", "Load analyst", "analyst")
        _, analyst_token = services.create_token(session, None, analyst.id, "load")
    services.clear_round(sessions, None, water.id, ClearOptions(backend="highs", explain=True))
    if engine.dialect.name == "postgresql":         # the statistics autovacuum would gather on a live database
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE")
    engine.dispose()
    return ids | {"components": components, "challenges": challenges, "tags": tags, "analyst": analyst_token,
                  **accounts}


# ---------------------------------------------------------------- the servers

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Servers:
    url: str
    redis: str
    folder: Path
    port: int
    web_workers: int
    web_threads: int
    worker_nice: int | None
    web_class: str = "gthread"
    web_args: list[str] = field(default_factory=list)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = dict(os.environ, SWARM_DATABASE_URL=self.url, SWARM_QUEUE_URL=self.redis,
                   SWARM_RATELIMIT_STORAGE_URL=self.redis, SWARM_SECRET_KEY="load-" + "k" * 40,
                   SWARM_BIND=f"127.0.0.1:{self.port}", SWARM_WEB_WORKERS=str(self.web_workers),
                   SWARM_WEB_THREADS=str(self.web_threads), SWARM_LOG_FORMAT="json")
        if not self.web_workers:
            del env["SWARM_WEB_WORKERS"]                # the config's own default
        return env

    def start(self) -> None:
        env = self.env()
        self.procs["web"] = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "--worker-class", self.web_class,
             *self.web_args],
            cwd=self.folder, env=env,
            stdout=subprocess.DEVNULL, stderr=open(self.folder / "gunicorn.log", "wb"))
        worker = [str(BIN / "swarm"), "worker"]
        if self.worker_nice is not None:
            worker += ["--nice", str(self.worker_nice)]
        self.procs["worker"] = subprocess.Popen(worker, cwd=self.folder, env=env, stdout=subprocess.DEVNULL,
                                                stderr=open(self.folder / "worker.log", "wb"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise SystemExit(f"{name} stopped at start (exit {proc.returncode}): see {self.folder}/{name}*.log")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise SystemExit(f"gunicorn did not become ready within 60 s: see {self.folder}/gunicorn.log")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                proc.wait(40)
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop on SIGTERM within 40 s: killed", file=sys.stderr)
                proc.kill()
                proc.wait()

    def group(self, name: str) -> list[psutil.Process]:
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return []
        parent = psutil.Process(proc.pid)
        return [parent, *parent.children(recursive=True)]


# ---------------------------------------------------------------- CPU accounting

def cpu_of(processes: list[psutil.Process]) -> float:
    """CPU seconds of these processes and of their children they waited for."""
    total = 0.0
    for p in processes:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


def postgres_processes() -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["name"]):
        if p.info["name"] in ("postgres", "postmaster"):
            found.append(p)
    return found


@dataclass
class CpuClock:
    """CPU seconds per group between start() and stop(): over the processes of each group alive at each end,
    their own time plus their children's that they waited for. A process that ended meanwhile was waited for
    by its parent, alive at the end (a work horse by `swarm worker`, CBC by the horse, a PostgreSQL backend by
    the postmaster), so its CPU is in its parent's children's time then: counted once, in full."""
    servers: Servers
    start_seconds: dict[str, float] = field(default_factory=dict)
    machine0: float = 0.0

    def _groups(self) -> dict[str, list[psutil.Process]]:
        return {"web": self.servers.group("web"), "worker": self.servers.group("worker"),
                "postgres": postgres_processes()}

    @staticmethod
    def _machine() -> float:
        times = psutil.cpu_times()
        return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))

    def start(self) -> None:
        self.start_seconds = {name: cpu_of(processes) for name, processes in self._groups().items()}
        self.machine0 = self._machine()

    def stop(self) -> dict[str, float]:
        used = {name: cpu_of(processes) - self.start_seconds.get(name, 0.0)
                for name, processes in self._groups().items()}
        used["machine"] = self._machine() - self.machine0
        return used


# ---------------------------------------------------------------- a phase

@dataclass
class Phase:
    name: str
    classes: list[str]
    counts: dict[str, int]
    seconds: float


def phases(users: int, seconds: float, clearing_bound: float) -> dict[str, Phase]:
    funders, actors = round(users * 0.4), round(users * 0.3)
    mix = {"SWARM_LOAD_FUNDERS": funders, "SWARM_LOAD_ACTORS": actors, "SWARM_LOAD_READERS": users - funders - actors}
    return {
        "ceiling": Phase("ceiling", ["Ceiling"], {}, seconds),
        "pledge": Phase("pledge", ["Funder"], {"SWARM_LOAD_FUNDERS": users}, seconds),
        "bid": Phase("bid", ["Actor"], {"SWARM_LOAD_ACTORS": users}, seconds),
        "mixed": Phase("mixed", ["Funder", "Actor", "Reader"], mix, seconds),
        "clearing": Phase("clearing", ["Funder", "Actor", "Reader"], mix, clearing_bound),
    }


def api(port: int, token: str, method: str, path: str) -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1{path}", method=method,
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def run_phase(phase: Phase, servers: Servers, setup: dict[str, Any], users: int, folder: Path,
              clear_args: str, clear_after: float) -> dict[str, Any]:
    given = folder / f"{phase.name}.in.json"
    out = folder / f"{phase.name}.out.json"
    stop = folder / f"{phase.name}.stop"
    given.write_text(json.dumps(setup))
    env = dict(os.environ, SWARM_LOAD_IN=str(given), SWARM_LOAD_OUT=str(out), SWARM_LOAD_STOP=str(stop),
               **{k: str(v) for k, v in phase.counts.items()})
    # --stop-timeout: at the end each user finishes the request it is making, so every write has its answer
    command = [str(BIN / "locust"), "-f", str(ROOT / "bench" / "load_users.py"), "--headless", "-u", str(users),
               "-r", str(users), "-t", f"{int(phase.seconds)}s", "--stop-timeout", "60",
               "--host", f"http://127.0.0.1:{servers.port}", "--only-summary", "--loglevel", "WARNING",
               "--exit-code-on-error", "0", *phase.classes]
    clock = CpuClock(servers)
    clock.start()
    started = time.time()
    locust = subprocess.Popen(command, cwd=folder, env=env, stdout=open(folder / f"{phase.name}.locust.log", "wb"),
                              stderr=subprocess.STDOUT)
    clearing = Clearing(servers.port, setup, clear_args, started + clear_after) if phase.name == "clearing" else None
    while True:
        pid, status, usage = os.wait4(locust.pid, os.WNOHANG)
        if pid:
            break
        if clearing is not None and clearing.step(ended=False):
            stop.touch()                                # the users finish their requests and locust quits
        time.sleep(1)
    locust.returncode = os.waitstatus_to_exitcode(status)
    ended = time.time()
    cpu = clock.stop()
    cpu["generator"] = usage.ru_utime + usage.ru_stime   # locust's own CPU, from the kernel's account
    if clearing is not None:
        clearing.step(ended=True)
    if not out.exists():
        raise SystemExit(f"locust wrote no results for phase {phase.name}: see {folder}/{phase.name}.locust.log")
    result = json.loads(out.read_text())
    return {"phase": phase.name, "started": started, "ended": ended, "cpu": cpu,
            "job": None if clearing is None else clearing.job, **result}


@dataclass
class Clearing:
    """The analyst clears the closed round through the API at `at` (the phase's load before it is the baseline
    of the same data), then follows the job to its end."""
    port: int
    setup: dict[str, Any]
    args: str
    at: float
    job: dict[str, Any] | None = None
    done_at: float | None = None

    def _api(self, method: str, path: str) -> Any:
        return api(self.port, self.setup["analyst"], method, path)

    def step(self, ended: bool) -> bool:
        """True once the job has ended, 3 s ago. `ended`: locust is done; a job still running is cancelled."""
        if self.job is None:
            if ended or time.time() < self.at:
                return False
            self.job = self._api("POST", f"/rounds/{self.setup['clearing_round']}/clear?{self.args}")
        assert self.job is not None
        if self.job["state"] in ("queued", "running"):
            self.job = self._api("GET", f"/jobs/{self.job['id']}")
        if ended and self.job["state"] in ("queued", "running"):
            print(f"the phase ended before clearing job {self.job['id']}: cancelled", file=sys.stderr)
            self._api("POST", f"/jobs/{self.job['id']}/cancel")
            while self.job["state"] in ("queued", "running"):
                time.sleep(1)
                self.job = self._api("GET", f"/jobs/{self.job['id']}")
        if self.job["state"] not in ("queued", "running") and self.done_at is None:
            self.done_at = time.time()
        return self.done_at is not None and time.time() > self.done_at + 3


# ---------------------------------------------------------------- figures

def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def rows_for(samples: list[list[Any]], window: tuple[float, float], label: str,
             groups: dict[str, list[str]]) -> list[dict[str, Any]]:
    start, end = window
    seconds = max(end - start, 1e-9)
    kept = [s for s in samples if start <= s[0] <= end]
    names = sorted({s[1] for s in kept})
    rows = []
    for name in names + list(groups):
        members = groups.get(name, [name])
        chosen = [s for s in kept if s[1] in members]
        if not chosen:
            continue
        times = [s[2] for s in chosen]
        errors = sum(1 for s in chosen if not (200 <= s[3] < 400))
        rows.append({"phase": label, "endpoint": name, "requests": len(chosen), "rps": len(chosen) / seconds,
                     "p50": percentile(times, 0.5), "p95": percentile(times, 0.95), "p99": percentile(times, 0.99),
                     "max": max(times), "errors": errors, "seconds": seconds})
    return rows


GROUPS = {"pledge (POST+PATCH)": ["POST pledge", "PATCH pledge"], "bid (POST+PATCH)": ["POST bid", "PATCH bid"],
          "pages (all)": ["page /", "page open round", "page challenge", "page results",
                          "page round being cleared"]}


def stamp_seconds(value: str | None) -> float | None:
    from datetime import datetime
    return None if value is None else datetime.fromisoformat(value).timestamp()


def report(result: dict[str, Any]) -> list[dict[str, Any]]:
    samples = result["samples"]
    if not samples:
        return []
    first = min(s[0] for s in samples)
    last = max(s[0] for s in samples)
    window = (first + TRIM_START, last - TRIM_END)
    job = result.get("job")
    if job is None or not job.get("started_at") or not job.get("finished_at"):
        return rows_for(samples, window, result["phase"], GROUPS)
    started, finished = stamp_seconds(job["started_at"]) or 0.0, stamp_seconds(job["finished_at"]) or 0.0
    # the same load, on the same data, before the job and while it runs
    return (rows_for(samples, (window[0], started), "before the job", GROUPS)
            + rows_for(samples, (started, finished), "while clearing", GROUPS))


def print_rows(rows: list[dict[str, Any]]) -> None:
    print(f"{'phase':<15} {'endpoint':<26} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
          f"{'max ms':>7} {'errors':>6}")
    for r in rows:
        print(f"{r['phase']:<15} {r['endpoint']:<26} {r['requests']:>8} {r['rps']:>7.1f} {r['p50']:>7.0f} "
              f"{r['p95']:>7.0f} {r['p99']:>7.0f} {r['max']:>7.0f} {r['errors']:>6}")


def print_cpu(results: list[dict[str, Any]]) -> None:
    print(f"\n{'phase':<10} {'wall s':>6} {'requests':>8} {'web cores':>9} {'pg cores':>8} {'worker':>7} "
          f"{'locust':>7} {'machine':>7} {'other':>6} {'web ms/req':>10} {'pg ms/req':>9}")
    for r in results:
        wall = r["ended"] - r["started"]
        n = len(r["samples"]) or 1
        c = r["cpu"]
        ours = c.get("web", 0) + c.get("postgres", 0) + c.get("worker", 0) + c.get("generator", 0)
        print(f"{r['phase']:<10} {wall:>6.1f} {len(r['samples']):>8} {c.get('web', 0) / wall:>9.2f} "
              f"{c.get('postgres', 0) / wall:>8.2f} {c.get('worker', 0) / wall:>7.2f} {c['generator'] / wall:>7.2f} "
              f"{c['machine'] / wall:>7.2f} {max(0.0, c['machine'] - ours) / wall:>6.2f} "
              f"{1000 * c.get('web', 0) / n:>10.2f} {1000 * c.get('postgres', 0) / n:>9.2f}")


# ---------------------------------------------------------------- the check

def check(url: str, setup: dict[str, Any], results: list[dict[str, Any]]) -> bool:
    """The database holds exactly the load's pledges and bids that got a 2xx, as the last 2xx left each."""
    from market.db import make_engine, make_sessionmaker
    from market.models import Bid, Pledge, RoundActor, RoundFunder
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    pledges: dict[str, int] = {}
    bids: dict[str, list[list[Any]]] = {}
    unknown: list[str] = []
    for r in results:                          # phases in order: a later answer replaces an earlier one
        pledges.update(r["pledges"])
        bids.update({k: v for k, v in r["bids"].items()})
        unknown += r["unknown"]
    funders = {a["user_id"] for a in setup["funders"]}
    actors = {a["user_id"] for a in setup["actors"]}
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        stored_pledges = {p.key: p.amount_cents for p in session.execute(
            select(Pledge).join(Pledge.funder).where(Pledge.round_id == setup["round"],
                                                     RoundFunder.user_id.in_(funders))).scalars()}
        stored_bids = {b.key: [[i.component.path, i.quantity, i.price_cents] for i in b.items]
                       for b in session.execute(
                           select(Bid).join(Bid.actor).where(Bid.round_id == setup["round"],
                                                             RoundActor.user_id.in_(actors))
                           .options(selectinload(Bid.items))).scalars()}
    engine.dispose()
    ok = True
    for kind, answered, stored in (("pledges", pledges, stored_pledges), ("bids", bids, stored_bids)):
        missing = sorted(set(answered) - set(stored))
        extra = sorted(set(stored) - set(answered))
        differ = sorted(k for k in set(answered) & set(stored) if answered[k] != stored[k])
        same = not missing and not extra and not differ
        ok = ok and same
        print(f"check {kind}: {len(answered)} answered 2xx, {len(stored)} in the database: "
              + ("exactly the same" if same else
                 f"MISMATCH: {len(missing)} missing {missing[:3]}, {len(extra)} extra {extra[:3]}, "
                 f"{len(differ)} differ {differ[:3]}"))
    if unknown:
        print(f"check: {len(unknown)} writes got no answer or a 5xx (their outcome is unknown): {unknown[:3]}")
    return ok and not unknown


# ---------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: a new one on "
                                               "127.0.0.1:5432, dropped at the end)")
    parser.add_argument("--keep-db", action="store_true", help="keep the database made here")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379", help="the Redis server")
    parser.add_argument("--redis-db", type=int, default=13, help="the Redis DB number (emptied first)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20, help="length of each phase but the clearing")
    parser.add_argument("--clearing-bound", type=float, default=150,
                        help="the clearing phase ends when the job does, or after this many seconds")
    parser.add_argument("--clear-after", type=float, default=15,
                        help="seconds into the clearing phase when the analyst clears (the load before: the baseline)")
    parser.add_argument("--clear-args", default="time_limit=60",
                        help="query of POST /rounds/{id}/clear (solver, time_limit, gap, explain)")
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--web-workers", type=int, default=0, help="SWARM_WEB_WORKERS (0: the config's default)")
    parser.add_argument("--web-threads", type=int, default=8, help="SWARM_WEB_THREADS")
    parser.add_argument("--web-class", default="gthread", help="gunicorn's --worker-class (the config's: gthread)")
    parser.add_argument("--gunicorn-arg", action="append", default=[], metavar="ARG",
                        help="one more argument for gunicorn, after the config (e.g. --gunicorn-arg=--keep-alive=0)")
    parser.add_argument("--worker-nice", type=int, default=None, help="`swarm worker --nice N`")
    parser.add_argument("--json", help="also write the rows and CPU figures to this file")
    args = parser.parse_args()
    chosen = [p.strip() for p in args.phases.split(",") if p.strip()]
    if unknown := [p for p in chosen if p not in PHASES]:
        parser.error(f"unknown phases {unknown}: use {', '.join(PHASES)}")

    import redis
    redis_url = f"{args.redis.rstrip('/')}/{args.redis_db}"
    redis.Redis.from_url(redis_url).flushdb()
    folder = Path(tempfile.mkdtemp(prefix="swarm-load-"))
    made = None
    url = args.database_url
    if url is None:
        made = f"swarm_load_{os.getpid()}"
        url = fresh_database(PG_ADMIN, made)
    print(f"database {url.split('@')[-1]}; Redis {redis_url}; files in {folder}", flush=True)
    servers = None
    try:
        t0 = time.monotonic()
        setup = set_up(url, folder, args.users)
        print(f"setup: {time.monotonic() - t0:.1f} s (rounds {setup['round']} open, {setup['clearing_round']} "
              f"closed, {setup['cleared_round']} cleared)", flush=True)
        servers = Servers(url, redis_url, folder, free_port(), args.web_workers,
                          args.web_threads, args.worker_nice, args.web_class, args.gunicorn_arg)
        servers.start()
        nice = "" if args.worker_nice is None else f" --nice {args.worker_nice}"
        print(f"gunicorn on 127.0.0.1:{servers.port}: {len(servers.group('web')) - 1} {args.web_class} workers x "
              f"{servers.web_threads} threads; swarm worker{nice}", flush=True)
        plan = phases(args.users, args.seconds, args.clearing_bound)
        results, rows = [], []
        for name in chosen:
            result = run_phase(plan[name], servers, setup, args.users, folder, args.clear_args, args.clear_after)
            _owned(setup, result)              # the next phase's users change what they own now too
            results.append(result)
            rows += report(result)
            job = result.get("job")
            extra = "" if job is None else (f"; job {job['id']} {job['state']} in {job.get('elapsed_seconds')} s "
                                            f"({job.get('reason') or job.get('stage') or ''})")
            print(f"phase {name}: {len(result['samples'])} requests in {result['ended'] - result['started']:.1f} s"
                  f"{extra}", flush=True)
        print()
        print_rows(rows)
        print_cpu(results)
        print()
        ok = check(url, setup, results)
        if args.json:
            Path(args.json).write_text(json.dumps({"rows": rows, "cpu": [
                {"phase": r["phase"], "wall": r["ended"] - r["started"], "requests": len(r["samples"]), **r["cpu"]}
                for r in results], "check": ok, "job": [r.get("job") for r in results if r.get("job")]}, indent=1))
    finally:
        if servers is not None:
            servers.stop()
        if made is not None and not args.keep_db:
            drop_database(PG_ADMIN, made)
        if not os.environ.get("SWARM_LOAD_KEEP_FILES"):
            shutil.rmtree(folder, ignore_errors=True)
    sys.exit(0 if ok else 1)


def _owned(setup: dict[str, Any], result: dict[str, Any]) -> None:
    """Give each account the keys it got 2xx for, so the next phase's users change them too."""
    pledge_keys = set(result["pledges"])
    bid_keys = set(result["bids"])
    for account in setup["funders"]:
        prefix = f"p-u{account['user_id']}-"
        account["owned"] = sorted(set(account["owned"]) | {k for k in pledge_keys if k.startswith(prefix)})
    for account in setup["actors"]:
        prefix = f"b-u{account['user_id']}-"
        account["owned"] = sorted(set(account["owned"]) | {k for k in bid_keys if k.startswith(prefix)})


if __name__ == "__main__":
    main()
