"""Analysts' pages: rounds, challenges, open / close / clear, runs, downloads, results; and who may not."""
from __future__ import annotations

import csv
import html
import io
import json

import pytest

from solver.loading import parse_market
from tests.small_market import market_doc
from tests.web_fixtures import import_doc

CHALLENGE = {"id": "kisumu-wells", "title": "Wells in Kisumu", "tags": "sdg:6.1, region:kenya", "value": "1200",
             "reliability": "0.8",
             "components-0-id": "drill", "components-0-quantity": "2", "components-0-critical": "y",
             "components-0-max_unit_price": "5,000", "components-0-unit": "well",
             "components-1-id": "pump", "components-1-critical": "y", "components-1-requires": "drill",
             "components-2-id": "training", "components-2-value": "50", "components-2-min_reliability": "0.9"}


@pytest.fixture
def analyst(accounts):
    return accounts.client_for("ana@example.org", "analyst")


def test_funders_and_actors_cannot_reach_analyst_pages(accounts, app, empty_round):
    urls = ["/analyst/", f"/analyst/rounds/{empty_round}", f"/analyst/rounds/{empty_round}/challenges/new",
            f"/analyst/rounds/{empty_round}/challenges/wells/edit", f"/analyst/rounds/{empty_round}/market.json",
            f"/analyst/rounds/{empty_round}/allocation.json", f"/analyst/rounds/{empty_round}/allocation.csv"]
    for email, role in (("f@example.org", "funder"), ("a@example.org", "actor")):
        client = accounts.client_for(email, role)
        for url in urls:
            assert client.get(url).status_code == 403, url
        for verb in ("open", "close", "reopen", "clear"):
            assert client.post(f"/analyst/rounds/{empty_round}/{verb}").status_code == 403
        assert client.post("/analyst/", data={"name": "x", "currency": "USD"}).status_code == 403
    assert app.test_client().get("/analyst/").status_code == 302          # to the login page


def test_create_round_add_and_edit_a_challenge_then_open(app, analyst):
    r = analyst.post("/analyst/", data={"name": "Lake Victoria water", "currency": "usd", "note": ""})
    assert r.status_code == 302
    round_url = r.headers["Location"]
    round_id = int(round_url.rstrip("/").split("/")[-1])
    page = analyst.get(round_url).data.decode()
    assert "Lake Victoria water" in page and "draft" in page and "Open the round" in page
    r = analyst.post(f"/analyst/rounds/{round_id}/challenges/new", data=CHALLENGE)
    assert r.status_code == 302, html.unescape(r.data.decode())
    detail = analyst.get(f"/rounds/{round_id}/challenges/kisumu-wells").data.decode()
    assert "Wells in Kisumu" in detail and "region:kenya" in detail and "5,000.00 USD" in detail
    form = analyst.get(f"/analyst/rounds/{round_id}/challenges/kisumu-wells/edit").data.decode()
    assert 'value="kisumu-wells"' in form and 'value="5000.00"' in form and 'value="drill"' in form
    edited = CHALLENGE | {"title": "Boreholes in Kisumu", "components-1-id": "", "components-1-requires": ""}
    r = analyst.post(f"/analyst/rounds/{round_id}/challenges/kisumu-wells/edit", data=edited)
    assert r.status_code == 302, html.unescape(r.data.decode())
    detail = analyst.get(f"/rounds/{round_id}/challenges/kisumu-wells").data.decode()
    assert "Boreholes in Kisumu" in detail and "kisumu-wells/pump" not in detail
    assert analyst.post(f"/analyst/rounds/{round_id}/open").status_code == 302
    assert "open" in analyst.get(f"/analyst/rounds/{round_id}").data.decode()
    r = analyst.post(f"/analyst/rounds/{round_id}/challenges/new", data=CHALLENGE | {"id": "other"})
    assert r.status_code == 409 and "only while it is a draft" in r.data.decode()


def test_challenge_form_errors_keep_the_input(app, analyst):
    round_id = int(analyst.post("/analyst/", data={"name": "R", "currency": "USD"}).headers["Location"].split("/")[-1])
    bad = CHALLENGE | {"components-1-requires": "nothing", "components-0-max_unit_price": "-5",
                       "reliability": "2"}
    r = analyst.post(f"/analyst/rounds/{round_id}/challenges/new", data=bad)
    page = html.unescape(r.data.decode())
    assert r.status_code == 400
    assert 'id="components-0-max_unit_price-err"' in page and 'id="reliability-err"' in page
    assert 'value="Wells in Kisumu"' in page and 'value="nothing"' in page
    r = analyst.post(f"/analyst/rounds/{round_id}/challenges/new", data=CHALLENGE | {"components-1-requires": "nothing"})
    page = html.unescape(r.data.decode())
    assert r.status_code == 400 and 'unknown component "nothing"' in page and 'id="components-1-requires-err"' in page
    r = analyst.post(f"/analyst/rounds/{round_id}/challenges/new", data=CHALLENGE | {"id": "bad id!"})
    assert r.status_code == 400 and 'id="id-err"' in r.data.decode()
    assert "None yet" in analyst.get(f"/analyst/rounds/{round_id}").data.decode()     # nothing half-saved


def test_round_form_errors(analyst):
    r = analyst.post("/analyst/", data={"name": "R", "currency": "dollars"})
    assert r.status_code == 400 and "ISO 4217" in html.unescape(r.data.decode()) and 'value="dollars"' in r.data.decode()


def test_close_clear_runs_downloads_and_results(app, analyst):
    round_id = import_doc(app, market_doc())
    assert analyst.post(f"/analyst/rounds/{round_id}/close").status_code == 302
    assert analyst.post(f"/analyst/rounds/{round_id}/close").status_code == 409
    r = analyst.post(f"/analyst/rounds/{round_id}/clear")                     # a job, run in the request here
    assert r.status_code == 302 and r.headers["Location"].endswith("/analyst/jobs/1")
    job = html.unescape(analyst.get(r.headers["Location"]).data.decode())
    assert "succeeded" in job and f'href="/rounds/{round_id}/results"' in job
    analyst.post(f"/analyst/rounds/{round_id}/clear")                         # again: a second run
    page = analyst.get(f"/analyst/rounds/{round_id}").data.decode()
    assert "#1" in page and "#2" in page and "cleared" in page
    market = analyst.get(f"/analyst/rounds/{round_id}/market.json")
    assert market.headers["Content-Disposition"].startswith("attachment")
    assert parse_market(json.loads(market.data)).name == "small water"
    allocation = json.loads(analyst.get(f"/analyst/rounds/{round_id}/allocation.json").data)
    assert allocation["format"] == "swarm-allocation/1"
    first = json.loads(analyst.get(f"/analyst/rounds/{round_id}/allocation.json?run=1").data)
    assert first["awards"] == allocation["awards"]
    assert analyst.get(f"/analyst/rounds/{round_id}/allocation.json?run=99").status_code == 404
    rows = list(csv.DictReader(io.StringIO(analyst.get(f"/analyst/rounds/{round_id}/allocation.csv").data.decode())))
    assert list(rows[0]) == ["pledge", "funder", "challenge", "component", "amount"]
    assert [(r["pledge"], r["component"], r["amount"]) for r in rows] == [
        (f["pledge"], f["component"], f["amount"]) for f in allocation["flows"]]
    assert all(r["challenge"] == r["component"].split("/")[0] for r in rows)
    results = analyst.get(f"/rounds/{round_id}/results").data.decode()
    assert 'id="sankey"' in results and "/vendor/plotly.min.js" in results and "returned to funders" in results
    assert "allocation (JSON)" in results


def test_not_cleared_yet(analyst, empty_round):
    assert analyst.get(f"/analyst/rounds/{empty_round}/allocation.csv").status_code == 404
    assert "not been cleared yet" in analyst.get(f"/rounds/{empty_round}/results").data.decode()


def test_clearing_a_draft_is_a_409(analyst):
    round_id = int(analyst.post("/analyst/", data={"name": "R", "currency": "USD"}).headers["Location"].split("/")[-1])
    assert analyst.post(f"/analyst/rounds/{round_id}/clear").status_code == 409
    assert analyst.post(f"/analyst/rounds/{round_id}/close").status_code == 409


def test_a_closed_round_is_reopened_from_its_page(app, analyst, empty_round):
    assert "Reopen the round" not in analyst.get(f"/analyst/rounds/{empty_round}").data.decode()
    assert analyst.post(f"/analyst/rounds/{empty_round}/reopen").status_code == 409      # it is open
    analyst.post(f"/analyst/rounds/{empty_round}/close")
    assert "Reopen the round" in analyst.get(f"/analyst/rounds/{empty_round}").data.decode()
    r = analyst.post(f"/analyst/rounds/{empty_round}/reopen", follow_redirects=True)
    assert r.status_code == 200 and f"Round {empty_round} reopened." in r.data.decode()
    assert "Close the round" in r.data.decode()


def test_challenge_numbers_beyond_the_engines_bounds_are_marked(app, analyst):
    round_id = int(analyst.post("/analyst/", data={"name": "R", "currency": "USD"}).headers["Location"].split("/")[-1])
    bad = CHALLENGE | {"value": "1" + "0" * 12, "reliability": "0.0000001", "components-2-value": "0.0015",
                       "components-0-max_unit_price": "100,000,000"}
    page = html.unescape(analyst.post(f"/analyst/rounds/{round_id}/challenges/new", data=bad).data.decode())
    for field, message in (("value", "at most 1,000,000,000"), ("reliability", "at least 0.001"),
                           ("components-2-value", "at most 3 decimals"),
                           ("components-0-max_unit_price", "at most 99,999,999.99")):
        assert f'id="{field}-err"' in page and message in page, field
    assert "None yet" in analyst.get(f"/analyst/rounds/{round_id}").data.decode()


def test_a_clearing_that_crashes_is_said_on_the_round_page(app, analyst, monkeypatch):
    from market.services import clearing

    def crashing(market, options):
        raise RuntimeError("HiGHS returned status 13")

    monkeypatch.setattr(clearing, "clear", crashing)
    round_id = import_doc(app, market_doc())
    r = analyst.post(f"/analyst/rounds/{round_id}/clear")
    assert r.status_code == 302 and r.headers["Location"].endswith("/analyst/jobs/1")
    page = html.unescape(analyst.get("/analyst/jobs/1").data.decode())
    assert "failed" in page and "Retry" in page
    assert (f"round {round_id} could not be cleared: the cbc solver failed (RuntimeError: HiGHS returned status 13)"
            in page)
    assert "job 1" in analyst.get(f"/analyst/rounds/{round_id}").data.decode()


def test_the_clear_form_passes_its_time_limit_and_gap_to_the_solver(app, analyst, monkeypatch):
    """Blank fields take the defaults for the round's size (services.jobs.limits_for_round)."""
    from market.services import clearing

    given = []
    real = clearing.clear

    def recording(market, options, *args, **kwargs):
        given.append((options.backend, options.time_limit, options.gap))
        return real(market, options, *args, **kwargs)

    monkeypatch.setattr(clearing, "clear", recording)
    round_id = import_doc(app, market_doc())
    page = analyst.get(f"/analyst/rounds/{round_id}").data.decode()
    assert 'name="time_limit" type="text" value="60"' in page and "suit a round of this size" in page
    assert analyst.post(f"/analyst/rounds/{round_id}/clear").status_code == 302
    assert analyst.post(f"/analyst/rounds/{round_id}/clear",
                        data={"solver": "highs", "time_limit": "5", "gap": "0.01"}).status_code == 302
    assert given == [("cbc", 60.0, None), ("highs", 5.0, 0.01)]


@pytest.mark.parametrize("field, value, message", [("time_limit", "0", "must be above 0"),
                                                   ("time_limit", "9999", "at most 3600"),
                                                   ("gap", "1", "must be below 1"), ("gap", "-1", "negative"),
                                                   ("solver", "gurobi", "Not a valid choice")])
def test_the_clear_form_names_the_field_it_refuses(app, analyst, field, value, message):
    round_id = import_doc(app, market_doc())
    r = analyst.post(f"/analyst/rounds/{round_id}/clear", data={field: value})
    page = html.unescape(r.data.decode())
    assert r.status_code == 400 and f'id="{field}-err"' in page and message in page, page[-3000:]
    assert "nothing was queued" in page and "None yet" in page               # no job
    assert f'value="{value}"' in page or field == "solver"


def test_an_analyst_excludes_a_pledge_and_a_bid_from_the_round_page(app, analyst, accounts, empty_round):
    funder = accounts.client_for("fund@example.org", "funder")
    actor = accounts.client_for("act@example.org", "actor")
    assert funder.post(f"/rounds/{empty_round}/pledges/new", data={"amount": "100"}).status_code == 302
    assert actor.post(f"/rounds/{empty_round}/bids/new", data={"items-0-component": "wells/drill",
                                                                "items-0-price": "50"}).status_code == 302
    page = analyst.get(f"/analyst/rounds/{empty_round}").data.decode()
    [pledge_key] = [line.split("pledge-")[1].split('"')[0] for line in page.splitlines() if 'id="pledge-' in line]
    [bid_key] = [line.split("bid-")[1].split('"')[0] for line in page.splitlines() if 'id="bid-' in line]
    assert f'action="/analyst/rounds/{empty_round}/pledges/{pledge_key}/exclude"' in page
    assert 'name="csrf_token"' in page and 'name="reason"' in page

    base = f"/analyst/rounds/{empty_round}"
    r = analyst.post(f"{base}/pledges/{pledge_key}/exclude", data={"reason": "  "})
    page = html.unescape(analyst.get(r.headers["Location"]).data.decode())
    assert f"Pledge {pledge_key} was not excluded" in page and "give a reason" in page, page[-3000:]
    assert "in the clearing" in page
    analyst.post(f"{base}/pledges/{pledge_key}/exclude", data={"reason": "the fund is frozen"})
    analyst.post(f"{base}/bids/{bid_key}/exclude", data={"reason": "priced <b>in error</b>"})
    page = html.unescape(analyst.get(base).data.decode())
    assert "excluded: the fund is frozen" in page and "Include again" in page
    mine = html.unescape(funder.get(f"/rounds/{empty_round}/pledges").data.decode())
    assert "Excluded from the clearing by an analyst: the fund is frozen" in mine
    mine = actor.get(f"/rounds/{empty_round}/bids").data.decode()
    assert "Excluded from the clearing by an analyst: priced &lt;b&gt;in error&lt;/b&gt;" in mine

    analyst.post(f"{base}/bids/{bid_key}/include")
    assert "Excluded from the clearing" not in actor.get(f"/rounds/{empty_round}/bids").data.decode()
    assert funder.post(f"{base}/pledges/{pledge_key}/include").status_code == 403      # staff only
    analyst.post(f"{base}/close")
    assert analyst.post(f"{base}/clear").status_code == 302
    mine = html.unescape(funder.get(f"/rounds/{empty_round}/pledges").data.decode())
    assert "Excluded from the clearing by an analyst: the fund is frozen" in mine and "Not part of the clearing" in mine
    assert "Include again" not in analyst.get(base).data.decode()          # the cleared round's result stands


def test_a_draft_round_is_public_with_its_challenges(app, analyst):
    """README, "What a user can rely on": a draft is the call for work announced ahead, open to anyone."""
    round_id = int(analyst.post("/analyst/", data={"name": "Lake Victoria water", "currency": "usd", "note": ""}
                                ).headers["Location"].rstrip("/").split("/")[-1])
    assert analyst.post(f"/analyst/rounds/{round_id}/challenges/new", data=CHALLENGE).status_code == 302
    anyone = app.test_client()
    assert "Lake Victoria water" in anyone.get("/").data.decode()
    page = anyone.get(f"/rounds/{round_id}")
    assert page.status_code == 200 and CHALLENGE["title"] in html.unescape(page.data.decode())
