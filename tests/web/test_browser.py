"""A real browser (Playwright on Debian's chromium) through the whole round, with CSRF on:
a funder signs up and pledges, an actor signs up and bids on a bundle, an analyst closes and clears
the round, the funder sees the outcome and the Sankey renders, with no Content-Security-Policy refusal. Screenshots are saved (path printed;
SWARM_SCREENSHOT_DIR chooses the folder). Skipped, with the reason, without chromium or playwright."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from market import services
from tests.small_market import market_doc
from tests.web_fixtures import import_doc, make_app
from tests.browser import NEEDS_BROWSER, expect, launch, sync_playwright
from web import db as web_db

pytestmark = NEEDS_BROWSER


@pytest.fixture
def server(tmp_path, web_template):
    app = make_app(tmp_path, web_template, WTF_CSRF_ENABLED=True, TESTING=False)
    doc = market_doc()
    doc["funders"], doc["actors"] = [], []
    round_id = import_doc(app, doc)
    with web_db.sessions(app).begin() as session:
        services.create_user(session, None, "analyst@example.org", "Ana Lyst", "analyst",
                             generate_password_hash("analyst pass", "pbkdf2:sha256:1000"))
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", round_id
    httpd.shutdown()
    thread.join(5)
    httpd.server_close()
    web_db.dispose(app)


@pytest.fixture
def shots(tmp_path, capsys):
    folder = Path(os.environ.get("SWARM_SCREENSHOT_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    with capsys.disabled():
        print(f"\nbrowser screenshots: {folder}")


def sign_up(page, base, name, email, role):
    page.goto(f"{base}/signup")
    page.fill("#name", name)
    page.fill("#email", email)
    page.fill("#password", "browser pass")
    page.check(f"input[name=role][value={role}]")
    page.click("main button[type=submit]")
    expect(page.locator("p.flash.success")).to_contain_text("signed up as " + role)
    page.fill("#email", email)                      # signing up does not log in (it must not tell a taken
    page.fill("#password", "browser pass")          # email from a new one): the login page follows
    page.click("main button[type=submit]")
    expect(page.locator("p.flash.success")).to_contain_text("Logged in as " + email)


def csp_violations(page):
    """The Content-Security-Policy refusals the page reports on the console (chromium says "Refused to ...
    because it violates the following Content Security Policy directive"), and its uncaught errors."""
    seen = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: seen.append(f"uncaught: {e}"))
    return seen


def fill_bundle(page, base, round_id, drill_price, pump_price):
    """The bid form with one bundle of the drill and the pump (not sent yet)."""
    page.goto(f"{base}/rounds/{round_id}/bids/new")
    page.select_option("#items-0-component", "wells/drill")
    page.fill("#items-0-price", drill_price)
    page.select_option("#items-1-component", "wells/pump")
    page.fill("#items-1-price", pump_price)


def log_in_as_analyst(page, base):
    page.goto(f"{base}/login")
    page.fill("#email", "analyst@example.org")
    page.fill("#password", "analyst pass")
    page.click("main button[type=submit]")


def test_funder_actor_analyst_round_trip(server, shots):
    base, round_id = server
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            funder = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
            refused = csp_violations(funder)
            sign_up(funder, base, "Lake Trust", "trust@example.org", "funder")
            funder.goto(f"{base}/rounds/{round_id}")
            funder.click("text=Make a pledge")
            funder.fill("#amount", "abc")
            funder.click("main button[type=submit]")
            expect(funder.locator("#amount-err")).to_contain_text("not an amount")
            funder.fill("#amount", "12,000.50")
            funder.check("input[name=challenges][value=wells]")
            funder.fill("#max_share", "100")
            funder.screenshot(path=str(shots / "1-funder-pledge-form.png"), full_page=True)
            funder.click("main button[type=submit]")
            expect(funder.locator("p.flash.success")).to_contain_text("12,000.50 USD saved")

            actor = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
            sign_up(actor, base, "DrillCo", "drill@example.org", "actor")
            fill_bundle(actor, base, round_id, "8,000", "1,500.25")
            actor.fill("#reliability", "0.95")
            actor.screenshot(path=str(shots / "2-actor-bundle-bid.png"), full_page=True)
            actor.click("main button[type=submit]")
            expect(actor.locator("p.flash.success")).to_contain_text("sealed")
            expect(actor.locator("main")).to_contain_text("9,500.25 USD")

            # sealed: the funder sees no price of the bid, only that the components have an eligible bid
            funder.goto(f"{base}/rounds/{round_id}/challenges/wells")
            expect(funder.locator("main")).to_contain_text("2 of 2 critical components have an eligible bid")
            assert "8,000" not in funder.content()

            analyst = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
            log_in_as_analyst(analyst, base)
            analyst.goto(f"{base}/analyst/rounds/{round_id}")
            analyst.click("text=Close the round")
            expect(analyst.locator("p.flash.success")).to_contain_text("closed")
            analyst.click("text=Clear the round")
            expect(analyst.locator("p.flash.success")).to_contain_text("cleared")
            analyst.screenshot(path=str(shots / "3-analyst-results.png"), full_page=True)

            funder.goto(f"{base}/rounds/{round_id}/pledges")
            expect(funder.locator("main")).to_contain_text("Where the money went")
            expect(funder.locator("main")).to_contain_text("Returned to you")
            expect(funder.locator("main")).to_contain_text("2,500.25 USD")
            funder.screenshot(path=str(shots / "4-funder-outcome.png"), full_page=True)
            funder.goto(f"{base}/rounds/{round_id}/results")
            expect(funder.locator("#sankey[data-rendered=true]")).to_be_visible()
            expect(funder.locator("#sankey svg g.sankey")).to_have_count(1)
            expect(funder.locator("#sankey")).to_contain_text("Lake Trust")
            funder.hover("#sankey g.sankey .sankey-link >> nth=0")     # plotly's hover label: styled inline
            expect(funder.locator("#sankey .hoverlayer .hovertext")).to_have_count(1)
            assert refused == [], refused
            funder.screenshot(path=str(shots / "5-funder-sankey.png"), full_page=True)
        finally:
            browser.close()
    for name in ("1-funder-pledge-form.png", "2-actor-bundle-bid.png", "3-analyst-results.png",
                 "4-funder-outcome.png", "5-funder-sankey.png"):
        assert (shots / name).stat().st_size > 10_000, name


def test_names_never_render_as_markup_in_the_sankey(server):
    """plotly reads <b>, <i>, <a>, <span style> and <br> in labels: a name is shown as typed, tags and all."""
    base, round_id = server
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            funder = browser.new_context().new_page()
            sign_up(funder, base, "<b>Bold</b> & <i>Co</i>", "bold@example.org", "funder")
            funder.goto(f"{base}/rounds/{round_id}/pledges/new")
            funder.fill("#amount", "12,000")
            funder.check("input[name=challenges][value=wells]")
            funder.click("main button[type=submit]")
            expect(funder.locator("p.flash.success")).to_contain_text("saved")
            actor = browser.new_context().new_page()
            sign_up(actor, base, '<span style="font-size:90px">Big</span>', "big@example.org", "actor")
            fill_bundle(actor, base, round_id, "8,000", "1,500")
            actor.click("main button[type=submit]")
            expect(actor.locator("p.flash.success")).to_contain_text("sealed")
            analyst = browser.new_context().new_page()
            log_in_as_analyst(analyst, base)
            analyst.goto(f"{base}/analyst/rounds/{round_id}")
            analyst.click("text=Close the round")
            analyst.click("text=Clear the round")
            expect(analyst.locator("p.flash.success")).to_contain_text("cleared")
            funder.goto(f"{base}/rounds/{round_id}/results")
            expect(funder.locator("#sankey[data-rendered=true]")).to_be_visible()
            labels = funder.locator("#sankey g.sankey text.node-label")
            texts = [labels.nth(i).text_content() for i in range(labels.count())]
            assert "<b>Bold</b> & <i>Co</i>" in texts and '<span style="font-size:90px">Big</span>' in texts, texts
            assert funder.locator("#sankey g.sankey text.node-label tspan").count() == 0
        finally:
            browser.close()
