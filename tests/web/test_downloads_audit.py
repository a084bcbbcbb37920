"""Every way a round's files leave the database is in the audit log: the analyst's downloads (market file,
allocation JSON and CSV), the API's allocation and runs, `swarm export`; and `swarm user reset-password`."""
from __future__ import annotations

import re

from sqlalchemy import select

from market.models import AuditLog
from tests.api.helpers import API, token_for
from tests.small_market import market_doc
from tests.swarm import run_on
from tests.web_fixtures import Accounts, import_doc
from web import db as web_db


def downloads(app):
    with web_db.sessions(app).begin() as session:
        return [(a.who, a.action, a.details.get("file")) for a in session.execute(
            select(AuditLog).where(AuditLog.action.in_(["export", "download"])).order_by(AuditLog.id)).scalars()]


def test_web_and_api_downloads_are_audited(any_app):
    accounts = Accounts(any_app)
    analyst = accounts.client_for("ana@example.org", "analyst")
    round_id = import_doc(any_app, market_doc())
    analyst.post(f"/analyst/rounds/{round_id}/clear")
    for name in ("market.json", "allocation.json", "allocation.csv"):
        assert analyst.get(f"/analyst/rounds/{round_id}/{name}").status_code == 200
    funder_id = accounts.create("f@example.org", "funder")
    api = any_app.test_client()
    bearer = {"Authorization": f"Bearer {token_for(any_app, funder_id)}"}
    assert api.get(f"{API}/rounds/{round_id}/allocation", headers=bearer).status_code == 200
    run_id = api.get(f"{API}/rounds/{round_id}/allocation", headers=bearer).get_json()["run"]["id"]
    staff = {"Authorization": f"Bearer {token_for(any_app, 1)}"}
    assert api.get(f"{API}/rounds/{round_id}/runs/{run_id}", headers=staff).status_code == 200
    assert api.get(f"{API}/rounds/{round_id}/runs", headers=staff).status_code == 200        # a list: no file
    assert downloads(any_app) == [("ana@example.org", "export", None),
                                  ("ana@example.org", "download", "allocation.json"),
                                  ("ana@example.org", "download", "allocation.csv"),
                                  ("f@example.org", "download", "api allocation"),
                                  ("f@example.org", "download", "api allocation"),
                                  ("ana@example.org", "download", "api run")]


def test_swarm_export_is_audited(app):
    round_id = import_doc(app, market_doc())
    url = app.config["DATABASE_URL"]
    assert run_on(url, "export", round_id).exit_code == 0
    assert downloads(app) == [("cli", "export", None)]


def test_swarm_user_reset_password_prints_a_one_time_link(app, accounts, client):
    accounts.create("f@example.org", "funder")
    url = app.config["DATABASE_URL"]
    r = run_on(url, "user", "reset-password", "--email", "f@example.org", "--base-url", "https://market.example/")
    assert r.exit_code == 0, r.output
    link = r.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"https://market\.example/reset/[A-Za-z0-9_-]{43}", link)
    assert "works once" in r.stderr
    client.get(link.removeprefix("https://market.example"))
    assert client.post("/reset", data={"new_password": "set by the admin", "confirm": "set by the admin"}
                       ).status_code == 302
    assert accounts.login(app.test_client(), "f@example.org", "set by the admin").status_code == 302
    r = run_on(url, "user", "reset-password", "--email", "nobody@example.org")
    assert r.exit_code == 1 and "no account 'nobody@example.org'" in r.output
