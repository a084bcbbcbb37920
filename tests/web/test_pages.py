"""Public pages: rounds, challenges with gap signals and outcomes, results with the Sankey, plotly served."""
from __future__ import annotations

import html
import json
import re

from tests.small_market import market_doc
from tests.web_fixtures import Accounts, cleared, import_doc


def test_home_lists_rounds_with_links_by_role(app, accounts, client, empty_round):
    page = client.get("/").data.decode()
    assert "small water" in page and "open" in page and "Sign up" in page and "My pledges" not in page
    funder = accounts.client_for("f@example.org", "funder")
    page = funder.get("/").data.decode()
    assert f"/rounds/{empty_round}/pledges/new" in page and "/bids/new" not in page and "/analyst/" not in page


def test_round_page_shows_gap_signals_while_open(app, client):
    doc = market_doc()
    doc["actors"][1]["bids"] = []                                   # nobody bids on the latrines
    round_id = import_doc(app, doc)
    page = html.unescape(client.get(f"/rounds/{round_id}").data.decode())
    assert "Gap signals" in page
    rows = re.findall(r"<tr><td><a href=\"/rounds/\d+/challenges/(\w+)\">", page)
    assert rows[:2] == ["wells", "latrines"]                        # nearest to fundable first
    assert "latrines/build" in page and "0 of 1" in page and "2 of 2" in page
    assert "2400" not in page and "2,400" not in page and "8,000" not in page    # no bid prices
    detail = client.get(f"/rounds/{round_id}/challenges/latrines").data.decode()
    assert "no eligible bid yet" in detail and "Reliability target" in detail


def test_challenge_page_facts(client, empty_round):
    page = html.unescape(client.get(f"/rounds/{empty_round}/challenges/wells").data.decode())
    assert "Wells in Kisumu" in page and "sdg:6.1" in page and "80%" in page
    assert "5,000.00 USD" in page and "optional (value 50)" in page and "drill" in page


def test_challenge_outcomes_after_clearing(app, client):
    doc = market_doc()
    doc["challenges"][1]["components"][0]["max_unit_price"] = "100"   # the latrines bid is above the reserve
    round_id = cleared(app, doc)
    wells = html.unescape(client.get(f"/rounds/{round_id}/challenges/wells").data.decode())
    assert "Funded" in wells and "Who pays" in wells and "DrillCo" in wells
    assert "Funded by 1 funder." in wells and "Foundation" not in wells        # no pledge is listed by name
    latrines = html.unescape(client.get(f"/rounds/{round_id}/challenges/latrines").data.decode())
    assert "Not funded" in latrines and "Why not" in latrines and "reserve" in latrines
    page = client.get(f"/rounds/{round_id}").data.decode()
    assert "funded" in page and "not funded" in page and "Gap signals" not in page


def test_results_page_has_the_sankey_data_and_table(app, client):
    round_id = cleared(app)

    def sankey(viewer):
        page = viewer.get(f"/rounds/{round_id}/results").data.decode()
        return page, json.loads(html.unescape(re.search(
            r'<script type="application/json" id="sankey-data">(.*?)</script>', page, re.S).group(1)))

    page, data = sankey(client)
    # Anyone: the unlisted funders' money into challenges as one node; what came back to them is not drawn
    # (beside the public payments it would tell what they pledged).
    assert "2 funders" in data["nodes"] and "DrillCo" in data["nodes"] and "returned to funders" not in data["nodes"]
    assert "Foundation" not in page                                  # no pledge is listed by name
    assert all(isinstance(link["cents"], int) and link["cents"] > 0 for link in data["links"])
    inflow = sum(link["cents"] for link in data["links"] if data["kinds"][link["source"]] == "funder")
    paid = sum(link["cents"] for link in data["links"] if data["kinds"][link["target"]] == "actor")
    assert inflow == paid and "Returned to funders" not in page
    analyst = Accounts(app).client_for("an@example.org", "analyst")
    whole, data = sankey(analyst)
    assert "returned to funders" in data["nodes"] and "Returned to funders" in whole
    inflow = sum(link["cents"] for link in data["links"] if data["kinds"][link["source"]] == "funder")
    assert inflow == 900000 + 300000 + 250050                        # every pledged cent: spent or returned
    assert "<table id=\"money-table\">" in page
    assert page.index("/vendor/plotly.min.js") < page.index("/static/sankey.js")
    assert "cdn" not in page.lower()


def test_plotly_and_the_stylesheet_are_served_locally(client):
    js = client.get("/vendor/plotly.min.js")
    assert js.status_code == 200 and js.mimetype == "text/javascript" and len(js.data) > 1_000_000
    js.close()
    css = client.get("/static/style.css")
    assert css.status_code == 200 and b".error" in css.data
    css.close()


def test_unknown_and_oversized_ids_are_404(client, empty_round):
    for url in ("/rounds/424242", f"/rounds/{10**20}", f"/rounds/{empty_round}/challenges/nope",
                f"/rounds/{empty_round}/challenges/{'x' * 65}", f"/rounds/{10**20}/results", "/nowhere"):
        r = client.get(url)
        assert r.status_code == 404, url
        assert "<h1>" in r.data.decode()


def test_pages_work_without_javascript(client, empty_round):
    for url in ("/", f"/rounds/{empty_round}", "/login", "/signup"):
        page = client.get(url).data.decode()
        assert "<script" not in page, url
