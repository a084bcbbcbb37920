"""Every page a funder, an actor, an analyst and a visitor meet, on a phone (390x844, Playwright on Debian's
chromium): nothing is cut off or makes the page wider than the screen (a wide table scrolls sideways inside
its own box), and the keyboard reaches the pledge button in a few presses after the skip link.
Skipped, with the reason, without chromium."""
from __future__ import annotations

from tests.browser import NEEDS_BROWSER, expect, launch, sync_playwright
from tests.small_market import market_doc

from .test_browser import (close_clear_commit, fill_bundle, log_in_as_analyst, pledge_on_wells, serving,  # noqa: F401
                           shots, sign_up)

pytestmark = NEEDS_BROWSER

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}

# What sticks out past the screen's right edge, outside any box that scrolls sideways: [] when the page fits.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (node) => {
    for (let n = node.parentElement; n; n = n.parentElement) {
      const s = getComputedStyle(n);
      if ((s.overflowX === "auto" || s.overflowX === "scroll") && n.clientWidth <= width) { return true; }
    }
    return false;
  };
  const out = [];
  for (const node of document.querySelectorAll("main *, header *")) {
    const box = node.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || node.closest(".skip-link")) { continue; }
    if (box.right > width + 1 && !scrolls(node)) {
      out.push(node.tagName.toLowerCase() + (node.className ? "." + node.className : "") + ": "
               + (node.textContent || "").trim().slice(0, 40) + " right=" + Math.round(box.right));
    }
  }
  return {wide: document.documentElement.scrollWidth > width + 1, out: out.slice(0, 10)};
}"""


def fits(page, url):
    page.goto(url)
    found = page.evaluate(OVERFLOW)
    assert not found["wide"] and found["out"] == [], (url, found)


def test_every_page_fits_a_phone_and_the_pledge_button_is_a_few_keys_away(tmp_path, web_template, shots):  # noqa: F811
    doc = market_doc()
    doc["funders"], doc["actors"] = [], []
    with serving(tmp_path, web_template, doc) as (base, app, round_id):
        with sync_playwright() as pw:
            browser = launch(pw)
            try:
                visitor = browser.new_context(**PHONE).new_page()
                for path in ("/", f"/rounds/{round_id}", f"/rounds/{round_id}/challenges/wells", "/login",
                             "/signup"):
                    fits(visitor, base + path)
                visitor.screenshot(path=str(shots / "p0-visitor-signup.png"), full_page=True)

                funder = browser.new_context(**PHONE).new_page()
                pledge_on_wells(funder, base, round_id)
                funder.goto(f"{base}/rounds/{round_id}")
                funder.keyboard.press("Tab")
                expect(funder.locator("a.skip-link")).to_be_focused()
                funder.keyboard.press("Enter")
                presses = 0
                pledge = funder.locator("main a", has_text="Make a pledge")
                while presses < 5:
                    funder.keyboard.press("Tab")
                    presses += 1
                    if pledge.evaluate("node => node === document.activeElement"):
                        break
                expect(pledge).to_be_focused()
                funder.keyboard.press("Enter")
                funder.wait_for_url(f"**/rounds/{round_id}/pledges/new")
                assert presses <= 3, presses
                for path in (f"/rounds/{round_id}", f"/rounds/{round_id}/pledges/new",
                             f"/rounds/{round_id}/pledges", "/statements", "/inbox"):
                    fits(funder, base + path)
                funder.goto(f"{base}/rounds/{round_id}/pledges/new")
                funder.screenshot(path=str(shots / "p1-funder-pledge-form.png"), full_page=True)

                actor = browser.new_context(**PHONE).new_page()
                sign_up(actor, base, "DrillCo", "drill@example.org", "actor")
                fill_bundle(actor, base, round_id, "8,000", "1,500")
                actor.fill("#reliability", "0.95")
                actor.click("main button[type=submit]")
                expect(actor.locator("p.flash.success")).to_contain_text("sealed")
                for path in (f"/rounds/{round_id}/bids/new", f"/rounds/{round_id}/bids", "/tenders"):
                    fits(actor, base + path)
                actor.goto(f"{base}/rounds/{round_id}/bids/new")
                actor.screenshot(path=str(shots / "p2-actor-bid-form.png"), full_page=True)

                analyst = browser.new_context(**PHONE).new_page()
                log_in_as_analyst(analyst, base, [])
                fits(analyst, f"{base}/analyst/rounds/{round_id}")
                close_clear_commit(analyst, base, round_id)
                for path in ("/analyst", f"/analyst/rounds/{round_id}", f"/rounds/{round_id}/results",
                             f"/rounds/{round_id}/progress", f"/rounds/{round_id}/awards",
                             f"/rounds/{round_id}/challenges/wells", "/verification"):
                    fits(analyst, base + path)
                analyst.goto(f"{base}/rounds/{round_id}/results")
                analyst.screenshot(path=str(shots / "p3-analyst-results.png"), full_page=True)
                for path in (f"/rounds/{round_id}/results", f"/rounds/{round_id}/statement", "/statements"):
                    fits(funder, base + path)
                funder.goto(f"{base}/rounds/{round_id}/statement")
                funder.screenshot(path=str(shots / "p4-funder-statement.png"), full_page=True)
                fits(actor, f"{base}/rounds/{round_id}/bids")
            finally:
                browser.close()
