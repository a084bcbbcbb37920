"""Behind a TLS proxy (SWARM_PROXY_COUNT, config PROXY_COUNT): the client's address and scheme come from
X-Forwarded-For and -Proto only when the app is told a proxy sets them; otherwise they are ignored (anyone
could send them, and per-address rate limits would be dodged)."""
from __future__ import annotations

import pytest
from flask import request

from tests.web_fixtures import make_app

FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "swarm.example.org"}


def seen(app):
    @app.route("/_who")
    def who() -> dict[str, str]:
        return {"address": request.remote_addr or "", "scheme": request.scheme, "host": request.host}
    return app.test_client().get("/_who", headers=FORWARDED).get_json()


@pytest.mark.parametrize("count, expected", [
    (0, {"address": "127.0.0.1", "scheme": "http", "host": "localhost"}),
    (1, {"address": "203.0.113.9", "scheme": "https", "host": "swarm.example.org"}),
])
def test_forwarded_headers_are_trusted_only_when_configured(tmp_path, web_template, count, expected):
    assert seen(make_app(tmp_path, web_template, PROXY_COUNT=count)) == expected


def test_the_environment_sets_the_proxy_count(tmp_path, web_template, monkeypatch):
    monkeypatch.setenv("SWARM_PROXY_COUNT", "1")
    assert seen(make_app(tmp_path, web_template))["address"] == "203.0.113.9"


def test_a_proxy_count_that_is_not_a_number_is_refused_clearly(tmp_path, web_template, monkeypatch):
    monkeypatch.setenv("SWARM_PROXY_COUNT", "yes")
    with pytest.raises(ValueError, match="SWARM_PROXY_COUNT='yes': the number of proxies in front"):
        make_app(tmp_path, web_template)
