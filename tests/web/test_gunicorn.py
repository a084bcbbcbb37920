"""deploy/gunicorn.conf.py, run for real on loopback: threaded workers, the app's JSON access lines with
the request id (gunicorn's own access line, which would show reset tokens, off), the probes, and /solve's
child process started from a threaded worker."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.api.helpers import token_for
from tests.paths import ROOT
from tests.small_market import market_doc
from tests.web_fixtures import Accounts

CONFIG = ROOT / "deploy" / "gunicorn.conf.py"


def settings() -> dict:
    namespace: dict = {}
    exec(compile(CONFIG.read_text(), str(CONFIG), "exec"), namespace)
    return namespace


def test_the_settings():
    conf = settings()
    assert conf["worker_class"] == "gthread" and conf["threads"] >= 2 and conf["workers"] >= 2
    assert conf["timeout"] == 30 and conf["graceful_timeout"] == 30
    assert conf["wsgi_app"] == "web:create_app()" and conf["accesslog"] is None
    assert conf["logconfig_dict"]["formatters"]["swarm"]["()"] == "web.logs.JsonLines"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, **headers: str) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def test_gunicorn_serves_with_json_access_lines(app, tmp_path: Path):
    """Every line of its log is JSON: HiGHS's banner, printed by each /solve child, goes nowhere."""
    pytest.importorskip("gunicorn")
    token = token_for(app, Accounts(app).create("funder@example.org", "funder"))
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SWARM_BIND": f"127.0.0.1:{port}", "SWARM_WEB_WORKERS": "2",
           "SWARM_DATABASE_URL": app.config["DATABASE_URL"], "SWARM_SECRET_KEY": "s" * 40, "SWARM_LOG_FORMAT": "json"}
    env.pop("SWARM_QUEUE_URL", None)
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(CONFIG)], cwd=tmp_path, env=env,
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                status, _, _ = get(base + "/healthz")
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                time.sleep(0.1)
        assert status == 200
        status, body, headers = get(base + "/readyz", **{"X-Request-ID": "lb-probe-7"})
        assert status == 200 and json.loads(body)["status"] == "ready" and headers["X-Request-ID"] == "lb-probe-7"
        get(base + "/reset/tok3n-never-logged")
        request = urllib.request.Request(base + "/api/v1/solve?explain=true", data=json.dumps(market_doc()).encode(),
                                         method="POST",
                                         headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200 and json.loads(response.read())["format"] == "swarm-allocation/1"
    finally:
        server.terminate()
        server.wait(30)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    access = {line["path"]: line for line in lines if line["logger"] == "swarm.access"}
    assert {"status": 200, "request_id": "lb-probe-7", "method": "GET"}.items() <= access["/readyz"].items()
    assert "/reset/[token hidden]" in access
    assert access["/api/v1/solve"]["status"] == 200 and access["/api/v1/solve"]["duration_ms"] > 0
    assert "tok3n" not in log.read_text()
    assert not [line for line in lines if line["logger"] == "gunicorn.access"]
