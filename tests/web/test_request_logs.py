"""Request ids and the access line (web/logs.py): each request's id is taken from a sane X-Request-ID or
made, echoed, and on every line logged during the request; JSON lines carry the access line's fields; a
reset or confirmation token never reaches the log."""
from __future__ import annotations

import json
import logging
import re

import pytest

from web import logs


class Lines(logging.Handler):
    """The formatted lines, through the filter a deployment's handler has."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(formatter)
        self.addFilter(logs.RequestContext())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def json_lines(caplog):
    caplog.set_level(logging.INFO)
    handler = Lines(logs.JsonLines())
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


@pytest.fixture
def logging_app(app):
    @app.route("/_says-something")
    def says_something() -> str:
        logging.getLogger("tests.view").warning("inside the view")
        return "said"
    return app


def parsed(handler: Lines) -> list[dict]:
    return [json.loads(line) for line in handler.lines]


def test_a_request_id_is_made_and_echoed(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


@pytest.mark.parametrize("given, kept", [
    ("3f2a9c7e-1b2d-4c5e-8f90-0a1b2c3d4e5f", True),
    ("nginx:0123456789abcdef.1_2", True),
    ("x" * 128, True),
    ("x" * 129, False),
    ("", False),
    ("two words", False),
    ('"}{"injected": 1', False),
    ("é", False),
])
def test_an_incoming_request_id_is_kept_only_when_sane(client, given, kept):
    echoed = client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"]
    assert (echoed == given) is kept
    if not kept:
        assert re.fullmatch(r"[0-9a-f]{32}", echoed)


def test_every_line_of_a_request_carries_its_id_and_the_access_line_its_fields(logging_app, json_lines):
    response = logging_app.test_client().get("/_says-something?secret=1", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "req-42"
    view_line, access_line = parsed(json_lines)[-2:]
    assert view_line["message"] == "inside the view" and view_line["logger"] == "tests.view"
    assert view_line["level"] == "WARNING" and view_line["request_id"] == "req-42"
    assert view_line["method"] == "GET" and view_line["path"] == "/_says-something"
    assert "status" not in view_line and "duration_ms" not in view_line
    assert access_line["logger"] == "swarm.access" and access_line["level"] == "INFO"
    assert access_line["request_id"] == "req-42" and access_line["status"] == 200
    assert access_line["method"] == "GET" and access_line["path"] == "/_says-something"
    assert isinstance(access_line["duration_ms"], float) and access_line["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", access_line["time"])
    assert "secret" not in json.dumps(access_line), "the query string is not logged"


def test_a_refused_request_has_an_id_and_an_access_line(client, json_lines):
    response = client.get("/no/such/page", headers={"X-Request-ID": "req-404"})
    assert response.status_code == 404 and response.headers["X-Request-ID"] == "req-404"
    access = [line for line in parsed(json_lines) if line["logger"] == "swarm.access"]
    assert access[-1]["status"] == 404 and access[-1]["request_id"] == "req-404"


@pytest.mark.parametrize("path", ["/reset/abcDEF123-token_value", "/confirm/abcDEF123-token_value"])
def test_reset_and_confirmation_tokens_never_reach_the_access_log(client, json_lines, path):
    client.get(path)
    text = "\n".join(json_lines.lines)
    assert "abcDEF123" not in text
    access = [line for line in parsed(json_lines) if line["logger"] == "swarm.access"][-1]
    assert access["path"] == path.rsplit("/", 1)[0] + "/[token hidden]"


def test_lines_outside_a_request_and_the_text_format():
    record = logging.LogRecord("swarm.x", logging.INFO, __file__, 1, "started %s", ("up",), None)
    logs.RequestContext().filter(record)
    assert json.loads(logs.JsonLines().format(record))["request_id"] == "-"
    assert logs.TextLines().format(record).endswith(" INFO [-] swarm.x: started up")


def test_configure_installs_one_handler_of_the_chosen_format():
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        logs.configure("json")
        handler = logs.configure("json")        # again: replaces its own, not pytest's capture handlers
        ours = [h for h in root.handlers if h not in before]
        assert ours == [handler] and isinstance(handler.formatter, logs.JsonLines)
        assert any(isinstance(f, logs.RequestContext) for f in handler.filters) and root.level == logging.INFO
        assert [h for h in before if h in root.handlers] == [h for h in before if type(h) is not logging.StreamHandler]
        with pytest.raises(ValueError, match="unknown log format 'xml'"):
            logs.configure("xml")
    finally:
        for h in root.handlers[:]:
            if h not in before:
                root.removeHandler(h)
        root.setLevel(level)
