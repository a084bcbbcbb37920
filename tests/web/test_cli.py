"""`swarm serve` and `swarm user create` (web/commands.py), in the assembled `swarm` (web/cli.py)."""
from __future__ import annotations

import re

import pytest
import werkzeug.serving
from sqlalchemy import select
from werkzeug.security import check_password_hash

from market.db import make_engine, make_sessionmaker
from market.models import Round, User
from tests.swarm import run_on
from web.cli import main
from web.commands import DEMO_ANALYST


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


def users(url):
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        out = {u.email: (u.role, u.password_hash) for u in session.execute(select(User)).scalars()}
        rounds = [(r.name, r.status) for r in session.execute(select(Round)).scalars()]
    engine.dispose()
    return out, rounds


def test_every_market_command_is_still_there():
    assert {"validate", "solve", "verify", "db", "import", "export", "clear", "rounds", "serve", "user"} <= set(main.commands)


def test_user_create_with_password_and_prompt(url):
    r = run_on(url, "user", "create", "--email", "Ana@Example.org", "--name", "Ana", "--role", "analyst",
            "--password", "long enough")
    assert r.exit_code == 0, r.output
    assert re.search(r"created analyst ana@example.org \(user \d+\)", r.output)
    r = run_on(url, "user", "create", "--email", "f@example.org", "--name", "F", "--role", "funder",
            input="prompted pw\nprompted pw\n")
    assert r.exit_code == 0, r.output
    accounts, _ = users(url)
    assert accounts["ana@example.org"][0] == "analyst" and check_password_hash(accounts["ana@example.org"][1], "long enough")
    assert check_password_hash(accounts["f@example.org"][1], "prompted pw")
    r = run_on(url, "user", "create", "--email", "ana@example.org", "--name", "A", "--role", "admin", "--password", "x" * 10)
    assert r.exit_code == 2 and "already has an account" in r.output
    r = run_on(url, "user", "create", "--email", "b@example.org", "--name", "B", "--role", "admin", "--password", "short")
    assert r.exit_code == 2 and "password: at least 10 characters" in r.output


@pytest.mark.parametrize("password, why", [("Password2024!", "too common"), ("qwertyuiop", "too common"),
                                           ("bertha@example.org", "your email or name"),
                                           ("I am Bertha Benz", "your email or name")])
def test_user_create_refuses_a_weak_password(url, password, why):
    r = run_on(url, "user", "create", "--email", "bertha@example.org", "--name", "Bertha Benz", "--role", "analyst",
               "--password", password)
    assert r.exit_code == 2 and "error: password: " in r.output and why in r.output


def test_serve_imports_the_demo_round_once(url, monkeypatch):
    served = []
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda host, port, app, **kw: served.append((host, port, app)))
    r = run_on(url, "serve", "--port", "5057")
    assert r.exit_code == 0, r.output
    assert "as the open demo round 1" in r.output and f"Demo analyst: {DEMO_ANALYST} / " in r.output
    assert "http://127.0.0.1:5057/" in r.output
    password = re.search(rf"{re.escape(DEMO_ANALYST)} / (\S+)", r.output).group(1)
    accounts, rounds = users(url)
    assert check_password_hash(accounts[DEMO_ANALYST][1], password)
    assert rounds == [("Water and sanitation, Lake Victoria basin and beyond (SDG 6)", "open")] or \
        (len(rounds) == 1 and rounds[0][1] == "open")
    host, port, app = served[0]
    assert (host, port) == ("127.0.0.1", 5057) and app.config["DATABASE_URL"] == url
    r = run_on(url, "serve", "--port", "5058", "--host", "0.0.0.0")
    assert r.exit_code == 0 and "demo round" not in r.output and "Demo analyst" not in r.output
    assert len(users(url)[1]) == 1 and served[1][:2] == ("0.0.0.0", 5058)


def test_serve_refuses_a_database_that_is_not_set_up(tmp_path, monkeypatch):
    import sqlite3
    path = tmp_path / "other.sqlite3"
    sqlite3.connect(path).execute("CREATE TABLE something (x)").connection.close()
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda *a, **kw: pytest.fail("must not serve"))
    r = run_on(f"sqlite:///{path}", "serve")
    assert r.exit_code == 2 and "run `swarm db upgrade`" in r.output


def test_the_installed_script_points_at_web_cli():
    from importlib.metadata import entry_points
    [script] = [e for e in entry_points(group="console_scripts") if e.name == "swarm"]
    assert script.value == "web.cli:main"
