"""A real browser (Playwright on Debian's chromium) through the whole round, with CSRF on:
a funder signs up and pledges, an actor signs up and bids on a bundle, an analyst closes and clears
the round, the funder sees the outcome and the Sankey renders, with no Content-Security-Policy refusal. Screenshots are saved (path printed;
SWARM_SCREENSHOT_DIR chooses the folder). Skipped, with the reason, without chromium or playwright."""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from market import services
from market.models import Job, JobState
from tests.job_rows import job_in
from tests.small_market import market_doc
from tests.web_fixtures import import_doc, make_app
from tests.browser import NEEDS_BROWSER, expect, launch, sync_playwright
from web import db as web_db

pytestmark = NEEDS_BROWSER


@contextmanager
def serving(tmp_path, web_template, doc):
    """The app (CSRF on) with an analyst and a round of `doc`, served on a free port: (base URL, app, round)."""
    app = make_app(tmp_path, web_template, WTF_CSRF_ENABLED=True, TESTING=False)
    round_id = import_doc(app, doc)
    with web_db.sessions(app).begin() as session:
        services.create_user(session, None, "analyst@example.org", "Ana Lyst", "analyst",
                             generate_password_hash("analyst pass", "pbkdf2:sha256:1000"))
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", app, round_id
    finally:
        httpd.shutdown()
        thread.join(5)
        httpd.server_close()
        web_db.dispose(app)


@pytest.fixture
def server(tmp_path, web_template):
    doc = market_doc()
    doc["funders"], doc["actors"] = [], []
    with serving(tmp_path, web_template, doc) as (base, _, round_id):
        yield base, round_id


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


def pledge_on_wells(funder, base, round_id):
    """Lake Trust signs up and pledges 12,000 on the wells challenge."""
    sign_up(funder, base, "Lake Trust", "trust@example.org", "funder")
    funder.goto(f"{base}/rounds/{round_id}/pledges/new")
    funder.fill("#amount", "12,000")
    funder.check("input[name=challenges][value=wells]")
    funder.click("main button[type=submit]")
    expect(funder.locator("p.flash.success")).to_contain_text("saved")


def close_clear_commit(analyst, base, round_id):
    """The analyst closes the round, clears it and commits its result, from the round's page."""
    analyst.goto(f"{base}/analyst/rounds/{round_id}")
    analyst.click("text=Close the round")
    analyst.click("text=Clear the round")
    expect(analyst.locator("p.flash.success")).to_contain_text("cleared")
    analyst.goto(f"{base}/analyst/rounds/{round_id}")
    analyst.click("text=Commit the result")
    expect(analyst.locator("p.flash.success")).to_contain_text("committed")


def log_in_as_analyst(page, base, confirmations=None):
    """Logs the analyst in; the page then accepts the confirmations irreversible steps ask (each question is
    appended to `confirmations` when given)."""
    def accept(dialog):
        if confirmations is not None:
            confirmations.append(dialog.message)
        dialog.accept()
    page.on("dialog", accept)
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


def test_the_job_page_updates_its_figures_without_reloading(tmp_path, web_template):
    """A running job's page polls its JSON and writes the new figures in place (the page is not reloaded:
    a mark left on `window` stays); once the job ends it reloads for the outcome and its buttons."""
    with serving(tmp_path, web_template, market_doc()) as (base, app, round_id):
        with web_db.sessions(app).begin() as session:
            services.close_round(session, None, round_id)
        job_id = job_in(app, round_id, JobState.RUNNING, incumbent=None, bound=None, rel_gap=None)
        with sync_playwright() as pw:
            browser = launch(pw)
            try:
                analyst = browser.new_context().new_page()
                refused = csp_violations(analyst)
                log_in_as_analyst(analyst, base)
                analyst.goto(f"{base}/analyst/jobs/{job_id}")
                expect(analyst.locator('[data-field="incumbent"]')).to_have_text("not reported yet")
                analyst.evaluate("window.notReloaded = true")
                with web_db.sessions(app).begin() as session:       # the worker's heartbeat, as it reports
                    job = session.get_one(Job, job_id)
                    job.stage, job.detail, job.incumbent, job.bound, job.rel_gap = \
                        "cost phase", "part 1 of 1", 2500.0, 2600.0, 0.04
                expect(analyst.locator('[data-field="incumbent"]')).to_have_text("2,500")
                expect(analyst.locator('[data-field="bound"]')).to_have_text("2,600")
                expect(analyst.locator('[data-field="gap"]')).to_have_text("4%")
                expect(analyst.locator('[data-field="stage"]')).to_have_text("cost phase")
                assert analyst.evaluate("window.notReloaded") is True
                with web_db.sessions(app).begin() as session:
                    job = session.get_one(Job, job_id)
                    job.state, job.reason = JobState.FAILED.value, "the worker process running it was killed"
                expect(analyst.locator("button", has_text="Retry")).to_be_visible()
                assert analyst.evaluate("window.notReloaded") is None           # reloaded for the outcome
                assert refused == [], refused
            finally:
                browser.close()
