"""Values on the outcome pages are numbers as people read them (issue 19): grouped, never in exponent form."""
from __future__ import annotations

from web.filters import number


def test_values_are_grouped_and_never_in_exponent_form():
    assert f"{2472550:g}" == "2.47255e+06"                     # what the pages used to show
    assert number(2472550) == "2,472,550" and number(2472550.0) == "2,472,550"
    assert number(1234.5) == "1,234.5" and number(0.25) == "0.25" and number(0) == "0" and number(None) == ""


def test_the_round_and_results_pages_show_a_large_value_grouped(app, accounts):
    from tests.small_market import market_doc
    from tests.web_fixtures import import_doc
    doc = market_doc()
    doc["challenges"][0]["value"] = 2472550
    round_id = import_doc(app, doc)
    page = accounts.client_for("ana@example.org", "analyst").get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "2,472,550" in page and "e+06" not in page
