"""Benchmark: does `POST /api/v1/solve` answer within its stated bound (issue 14)?

The API promises the whole request, reasons included, within `time_limit` plus a few seconds to read the
market and build its model. This posts generated markets (`swarm generate --challenges N --seed 1`, as large
as /solve accepts) with `explain=true` to the app through werkzeug's test client and prints, per market,
backend and time limit: the wall time of the whole request, its excess over the limit, the status, and how
many reasons said "not explained: time limit".

    .venv/bin/python bench/solve_bound.py                       # 200 and 500 challenges, 5 and 20 s
    .venv/bin/python bench/solve_bound.py --challenges 500 --limits 20

Nothing here is a test: the requests take minutes.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def market(challenges: int, folder: Path) -> dict:
    path = folder / f"market-{challenges}.json"
    subprocess.run([sys.executable, "-m", "web.cli", "generate", "--challenges", str(challenges), "--funders",
                    str(max(4, challenges // 10)), "--actors", str(max(6, challenges // 5)), "--seed", "1",
                    "-o", str(path)], cwd=ROOT, check=True, capture_output=True)
    return json.loads(path.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--challenges", default="200,500")
    parser.add_argument("--limits", default="5,20")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from market import services
    from market.db import make_engine, make_sessionmaker
    from market import migrate
    from web import create_app

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'bench.sqlite3'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        with make_sessionmaker(engine).begin() as session:
            user = services.create_user(session, None, "bench@example.org", "Bench", "analyst")
            _, secret = services.create_token(session, user, user.id, "bench")
        engine.dispose()
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                          "INSTANCE_PATH": str(folder / "instance")})
        client = app.test_client()
        print(f"{'market':>14} {'limit s':>7} {'request s':>9} {'over s':>6} {'status':>9} "
              f"{'unexplained':>11} {'bytes':>9}")
        for n in (int(x) for x in args.challenges.split(",")):
            doc = market(n, folder)
            body = json.dumps(doc)
            for limit in (float(x) for x in args.limits.split(",")):
                started = time.monotonic()
                response = client.post(f"/api/v1/solve?time_limit={limit:g}&explain=true", data=body,
                                       content_type="application/json",
                                       headers={"Authorization": f"Bearer {secret}"})
                took = time.monotonic() - started
                answer = response.get_json() or {}
                allocation = answer.get("allocation", answer)
                reasons = [r for u in allocation.get("unfunded", []) for r in u.get("reasons", [])]
                unexplained = sum("not explained: time limit" in r for r in reasons)
                status = allocation.get("status", response.status_code)
                print(f"{f'{n} challenges':>14} {limit:7g} {took:9.1f} {took - limit:6.1f} "
                      f"{status!s:>9} {unexplained:>11} {len(body):>9}", flush=True)


if __name__ == "__main__":
    main()
