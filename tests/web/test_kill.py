"""A web worker killed while its /solve request runs CBC leaves no CBC behind (solver/parent_death.py):
the app served by werkzeug in a process of its own, on SQLite and PostgreSQL, its worker killed outright
or terminated mid-solve."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from tests.api.helpers import token_for
from tests.orphans import NEEDS_SIGNALS, busy_market, kill_and_check
from tests.paths import ROOT
from tests.web_fixtures import Accounts

SERVER = """
import json, sys
from werkzeug.serving import make_server
from web import create_app
httpd = make_server("127.0.0.1", 0, create_app(json.loads(sys.argv[1])), threaded=True)
print(httpd.server_port, flush=True)
httpd.serve_forever()
"""


def _post_solve(port: int, token: str) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/solve?time_limit=20",
                                     data=busy_market().encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        urllib.request.urlopen(request, timeout=120).read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        pass                                    # the worker was killed under it


@NEEDS_SIGNALS
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_worker_leaves_no_cbc(any_app, how):
    token = token_for(any_app, Accounts(any_app).create("funder@example.org", "funder"))
    config = {key: any_app.config[key] for key in ("DATABASE_URL", "SECRET_KEY", "TESTING", "WTF_CSRF_ENABLED")}
    config["INSTANCE_PATH"] = any_app.instance_path
    server = subprocess.Popen([sys.executable, "-c", SERVER, json.dumps(config)], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(server.stdout.readline())
        request = threading.Thread(target=_post_solve, args=(port, token), daemon=True)
        request.start()
        kill_and_check(server, how)
        request.join(30)
    finally:
        server.kill()
        server.wait(30)
        server.stdout.close()
