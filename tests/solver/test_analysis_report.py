"""`swarm report`: one self-contained HTML file; rendered in headless Chromium, the Sankey draws."""
import json
import re

import pytest

from tests.browser import NEEDS_BROWSER, launch, sync_playwright

from .helpers import SMALL, WATER, run, solve, write

@pytest.fixture(scope="module")
def water_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    allocation = solve(tmp, WATER)
    sweep = tmp / "sweep.json"
    swept = run("sweep", WATER, "--scale-pledges", "0.5:1.5:3", "--in-process", "-o", sweep)
    assert swept.exit_code == 0, swept.output
    out = tmp / "report.html"
    result = run("report", WATER, allocation, "-o", out, "--sweep", sweep)
    assert result.exit_code == 0, result.output
    assert "self-contained" in result.output
    return out


def test_report_is_self_contained_with_table_and_reasons(water_report):
    text = water_report.read_text()
    assert not re.search(r"<script[^>]*\ssrc=", text)             # plotly.js is inlined, nothing fetched
    assert len(re.findall(r"<script", text)) >= 2
    assert 'id="sankey"' in text and 'id="sweep-curve"' in text
    assert "kampala-sanitation" in text and "latrine-blocks: no eligible bid" in text


@NEEDS_BROWSER
def test_the_sankey_draws_in_headless_chromium(water_report):
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page()
            page.route("http*://**", lambda route: route.abort())      # prove no network is needed
            page.goto(water_report.as_uri())
            page.wait_for_selector("#sankey g.sankey-node", timeout=20000)
            nodes = page.locator("#sankey g.sankey-node").count()
            links = page.locator("#sankey path.sankey-link").count()
            assert nodes > 20 and links > 20
            assert page.locator("#sweep-curve g.scatterlayer path").count() >= 1
            assert page.locator("#challenges tbody tr").count() == 12
        finally:
            browser.close()


def test_report_bad_input(tmp_path):
    market = write(tmp_path, SMALL)
    allocation = solve(tmp_path, market)
    result = run("report", market, tmp_path / "nope.json", "-o", tmp_path / "r.html")
    assert result.exit_code == 2 and "no such file" in result.output
    (tmp_path / "s.json").write_text(json.dumps({"rows": []}))
    result = run("report", market, allocation, "-o", tmp_path / "r.html", "--sweep", tmp_path / "s.json")
    assert result.exit_code == 2 and "not a sweep result" in result.output


def test_names_in_the_report_are_text_never_markup(tmp_path):
    """Titles and the market's name are the user's words: shown as typed, never parsed as HTML."""
    markup = '<img src=x onerror="alert(1)"><b>bold</b>'
    doc = json.loads(json.dumps(SMALL))
    doc["name"] = markup
    doc["challenges"][0]["title"] = markup
    market = write(tmp_path, doc)
    out = tmp_path / "r.html"
    result = run("report", market, solve(tmp_path, market), "-o", out)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "<img src=x" not in text and "<b>bold</b>" not in text
    assert text.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&lt;b&gt;bold&lt;/b&gt;") == 3   # title, h1, row


def test_allocation_files_are_read_as_market_files_are(tmp_path, monkeypatch):
    """`swarm verify` and `report` read an allocation with the market files' rules: a bounded read, no
    repeated key, no nesting deeper than the decoder goes; each an exit 2 with the file named."""
    from solver.analysis import common

    market = write(tmp_path, SMALL)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    twice = tmp_path / "twice.json"
    twice.write_text('{"format": "swarm-allocation/1", "format": "x"}')
    for path, message in ((deep, "nested"), (twice, "more than once")):
        result = run("verify", market, path)
        assert result.exit_code == 2 and str(path) in result.output and message in result.output, result.output
        assert "Traceback" not in result.output
    allocation = solve(tmp_path, market)
    monkeypatch.setattr(common, "MAX_FILE_BYTES", 100)
    result = run("verify", market, allocation)
    assert result.exit_code == 2 and "larger than" in result.output, result.output
