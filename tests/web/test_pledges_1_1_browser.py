"""The pledge form's live list in a real browser (Playwright on Debian's chromium), CSRF and the CSP on:
ticking "any of" tags lists Kenyan water and Ugandan sanitation, moving them to "and all of these tags"
lists only Kenyan sanitation, with no Content-Security-Policy refusal; the form then saves the narrow
scope. Skipped, with the reason, without chromium or playwright."""
from __future__ import annotations

from tests.browser import NEEDS_BROWSER, expect, launch, sync_playwright
from tests.small_market import draft_doc
from tests.web.test_browser import csp_violations, serving, sign_up
from tests.web.test_pledges_1_1 import CHALLENGES

pytestmark = NEEDS_BROWSER


def test_the_live_list_follows_the_ticked_boxes(tmp_path, web_template):
    doc = draft_doc()
    doc["challenges"] = CHALLENGES
    with serving(tmp_path, web_template, doc) as (base, _, round_id), sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
            refused = csp_violations(page)
            sign_up(page, base, "Sanitation Trust", "trust@example.org", "funder")
            page.goto(f"{base}/rounds/{round_id}/pledges/new")
            rows = page.locator("#preview tr[id^=admits-]")
            expect(rows).to_have_count(4)                                   # nothing ticked: every challenge
            page.fill("#amount", "60,000")
            page.check("input[name=tags][value='region:kenya']")
            page.check("input[name=tags][value='sector:sanitation']")
            expect(page.locator("#preview")).to_contain_text("any one is enough")
            expect(rows).to_have_count(4)
            page.uncheck("input[name=tags][value='region:kenya']")
            page.uncheck("input[name=tags][value='sector:sanitation']")
            page.check("input[name=all_tags][value='region:kenya']")
            page.check("input[name=all_tags][value='sector:sanitation']")
            page.check("input[name=exclude_tags][value='risk:conflict']")
            expect(page.locator("#preview")).to_contain_text("but never in a challenge tagged risk:conflict")
            expect(rows).to_have_count(1)
            expect(page.locator("#admits-ke-san")).to_be_visible()
            expect(page.locator("#preview-total")).to_have_text("10,002.00 USD")
            page.click("main form button[type=submit] >> nth=0")            # Pledge, not Preview
            expect(page.locator("p.flash.success")).to_contain_text("60,000.00 USD saved")
            assert refused == []
        finally:
            browser.close()
