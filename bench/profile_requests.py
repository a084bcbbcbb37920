"""Where a request's time goes: the load's endpoints through Flask's test client on PostgreSQL, profiled.

    .venv/bin/python bench/profile_requests.py                          # every endpoint, 200 requests each
    .venv/bin/python bench/profile_requests.py --only pledge-post,page-round --requests 50 --top 30
    .venv/bin/python bench/profile_requests.py --pyinstrument --only pledge-post   # needs pyinstrument

The same setup as bench/load.py (a fresh database on the local PostgreSQL with the 200-challenge open round,
the closed one, the cleared water round and the accounts), the app made as gunicorn makes it
(`web:create_app()` with the same environment: Redis for the rate limits, JSON log lines through the
gunicorn config's handlers, written to /dev/null here). One thread, no concurrency: the milliseconds per
request are its CPU plus its round trips to PostgreSQL and Redis. For each endpoint: the mean and median ms
per request, the share of it spent waiting on PostgreSQL (psycopg's execute and commit), and the functions
with the most time of their own and the most cumulative time (cProfile), or pyinstrument's tree; with
--time-only, no profiler: the milliseconds per request and this process's CPU per request.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import logging.config
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402  (bench/load.py: the same setup)


def app_like_gunicorn(url: str, redis_url: str, folder: Path) -> Any:
    """`web:create_app()` with the environment bench/load.py gives gunicorn, logging as its config does."""
    os.environ.update(SWARM_DATABASE_URL=url, SWARM_QUEUE_URL=redis_url, SWARM_RATELIMIT_STORAGE_URL=redis_url,
                      SWARM_SECRET_KEY="load-" + "k" * 40, SWARM_LOG_FORMAT="json")
    config: dict[str, Any] = {}
    exec(compile((ROOT / "deploy" / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), config)
    logconfig = config["logconfig_dict"]
    logconfig["handlers"]["console"]["stream"] = open(os.devnull, "w")    # noqa: SIM115  (for the whole run)
    logging.config.dictConfig(logconfig)
    os.chdir(folder)
    from web import create_app
    return create_app()


def endpoints(client: Any, setup: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    funder = {"Authorization": f"Bearer {setup['funders'][0]['token']}"}
    actor = {"Authorization": f"Bearer {setup['actors'][0]['token']}"}
    base = f"/api/v1/rounds/{setup['round']}"
    first_pledge = client.post(f"{base}/pledges", json={"amount": "100.00"}, headers=funder).get_json()["id"]
    component = setup["components"][0]
    first_bid = client.post(f"{base}/bids", json={"items": [{"component": component["path"], "price": "1.00"}]},
                            headers=actor).get_json()["id"]

    def amount() -> str:
        return f"{random.randrange(1, 50000)}.00"

    def items() -> list[dict[str, Any]]:
        return [{"component": c["path"], "price": "1.00"} for c in random.sample(setup["components"], 2)]

    return {
        "healthz": lambda: client.get("/healthz"),
        "pledge-post": lambda: client.post(f"{base}/pledges", json={"amount": amount()},
                                           headers=dict(funder, **{"Idempotency-Key": uuid.uuid4().hex})),
        "pledge-patch": lambda: client.patch(f"{base}/pledges/{first_pledge}", json={"amount": amount()},
                                             headers=funder),
        "bid-post": lambda: client.post(f"{base}/bids", json={"items": items()},
                                        headers=dict(actor, **{"Idempotency-Key": uuid.uuid4().hex})),
        "bid-patch": lambda: client.patch(f"{base}/bids/{first_bid}", json={"items": items()}, headers=actor),
        "page-home": lambda: client.get("/"),
        "page-round": lambda: client.get(f"/rounds/{setup['round']}"),
        "page-challenge": lambda: client.get(f"/rounds/{setup['round']}/challenges/"
                                             f"{random.choice(setup['challenges'])}"),
        "page-results": lambda: client.get(f"/rounds/{setup['cleared_round']}/results"),
        "page-closed-round": lambda: client.get(f"/rounds/{setup['clearing_round']}"),
    }


def by_package(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Own time (cProfile's tottime) summed per library, or per module of this project."""
    totals: dict[str, float] = {}
    for (filename, _, name), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "site-packages/" in filename:
            package = filename.split("site-packages/")[1].split("/")[0]
        elif filename.startswith(str(ROOT)):
            package = str(Path(filename).relative_to(ROOT))
        elif filename == "~":
            package = f"builtins ({name.split(' of ')[0].strip('<>{}')})" if "method" in name else "builtins"
        else:
            package = "stdlib " + Path(filename).stem
        totals[package] = totals.get(package, 0.0) + own
    return sorted(totals.items(), key=lambda kv: -kv[1])


def database_share(stats: pstats.Stats) -> float:
    """Seconds inside psycopg's cursor execute and connection commit (mostly waiting on the server)."""
    total = 0.0
    for (filename, _, name), (_, _, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "psycopg" in filename and name in ("execute", "commit", "_commit_gen", "executemany"):
            total += cumulative
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: a new one, dropped after)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint (after 20 to warm up)")
    parser.add_argument("--only", help="comma-separated endpoints")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--pyinstrument", action="store_true", help="pyinstrument's call tree instead of cProfile")
    parser.add_argument("--time-only", action="store_true", help="no profiler: the milliseconds per request alone")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="swarm-profile-"))
    made = None
    url = args.database_url
    if url is None:
        made = f"swarm_profile_{os.getpid()}"
        url = load.fresh_database(load.PG_ADMIN, made)
    try:
        setup = load.set_up(url, folder, 2)
        app = app_like_gunicorn(url, args.redis, folder)
        client = app.test_client()
        chosen = endpoints(client, setup)
        names = [n.strip() for n in args.only.split(",")] if args.only else list(chosen)
        summary = []
        for name in names:
            call = chosen[name]
            for _ in range(20):
                response = call()
                assert response.status_code < 400, (name, response.status_code, response.get_data(as_text=True))
            times = []
            profiler: Any = None
            if args.time_only:
                cpu = time.process_time()
                for _ in range(args.requests):
                    t0 = time.perf_counter()
                    call()
                    times.append((time.perf_counter() - t0) * 1000)
                cpu_ms = (time.process_time() - cpu) * 1000 / args.requests
                summary.append((name, statistics.mean(times), statistics.median(times), cpu_ms))
                continue
            if args.pyinstrument:
                from pyinstrument import Profiler
                profiler = Profiler(interval=0.0005)
                profiler.start()
            else:
                profiler = cProfile.Profile()
                profiler.enable()
            for _ in range(args.requests):
                t0 = time.perf_counter()
                response = call()
                times.append((time.perf_counter() - t0) * 1000)
                assert response.status_code < 400, (name, response.status_code)
            if args.pyinstrument:
                profiler.stop()
                print(f"\n===== {name}: pyinstrument =====")
                print(profiler.output_text(unicode=False, color=False, show_all=False))
                db_ms = float("nan")
            else:
                profiler.disable()
                stats = pstats.Stats(profiler)
                db_ms = 1000 * database_share(stats) / args.requests
                print(f"\n===== {name}: own time per library (ms per request, under the profiler) =====")
                for package, seconds in by_package(stats)[:args.top]:
                    print(f"  {1000 * seconds / args.requests:7.3f}  {package}")
                for order in ("tottime", "cumulative"):
                    out = io.StringIO()
                    pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
                    text = out.getvalue()
                    print(f"\n===== {name}: top {args.top} by {order} ({args.requests} requests) =====")
                    print(text[text.index("   ncalls"):].rstrip())
            summary.append((name, statistics.mean(times), statistics.median(times), db_ms))
        last = "CPU ms" if args.time_only else "in psycopg ms"
        under = "without a profiler; CPU: this process" if args.time_only else "under the profiler"
        print(f"\n{'endpoint':<18} {'mean ms':>8} {'median ms':>9} {last:>13}   ({under})")
        for name, mean, median, db_ms in summary:
            print(f"{name:<18} {mean:>8.2f} {median:>9.2f} {db_ms:>13.2f}")
    finally:
        if made is not None:
            from web.db import dispose
            try:
                dispose(app)
            except NameError:
                pass
            load.drop_database(load.PG_ADMIN, made)


if __name__ == "__main__":
    main()
