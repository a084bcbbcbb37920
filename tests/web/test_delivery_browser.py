"""A real browser after the clearing (issue 17), with CSRF on: an actor reports a delivery with a photo, an
assigned verifier accepts it, and the funder's statement shows the money released with the verification date
and a link to the photo, which opens. A screenshot per kind of user (path printed; SWARM_SCREENSHOT_DIR).
Skipped, with the reason, without chromium or playwright."""
from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from market import services
from market.models import Milestone, RoundActor
from tests.browser import NEEDS_BROWSER, expect, launch, sync_playwright
from tests.small_market import market_doc
from web import db as web_db

from .test_browser import close_clear_commit, fill_bundle, pledge_on_wells, log_in_as_analyst, serving, shots, sign_up  # noqa: F401

pytestmark = NEEDS_BROWSER
# A 1x1 PNG: what a phone photo is to the server (its type is read from its bytes).
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000" "1f15c489"
                    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def test_an_actor_reports_a_verifier_accepts_and_the_funder_sees_the_release(tmp_path, web_template,
                                                                                shots):  # noqa: F811
    doc = market_doc()
    doc["funders"], doc["actors"] = [], []
    with serving(tmp_path, web_template, doc) as (base, app, round_id):
        with web_db.sessions(app).begin() as session:
            services.create_user(session, None, "vera@example.org", "Vera Fier", "verifier",
                                 generate_password_hash("verifier pass", "pbkdf2:sha256:1000"))
        with sync_playwright() as pw:
            browser = launch(pw)
            try:
                funder = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
                pledge_on_wells(funder, base, round_id)
                actor = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
                sign_up(actor, base, "DrillCo", "drill@example.org", "actor")
                fill_bundle(actor, base, round_id, "8,000", "1,500")
                actor.click("main button[type=submit]")
                expect(actor.locator("p.flash.success")).to_contain_text("sealed")

                analyst = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
                log_in_as_analyst(analyst, base)
                close_clear_commit(analyst, base, round_id)
                analyst.fill("#email", "vera@example.org")
                analyst.click("form.verifier-form button[type=submit]")
                expect(analyst.locator("p.flash.success")).to_contain_text("assigned to verify the round")
                analyst.screenshot(path=str(shots / "d1-analyst-verifiers.png"), full_page=True)

                with web_db.sessions(app).begin() as session:
                    milestone = session.scalar(select(Milestone.id).join(RoundActor,
                                                                         RoundActor.id == Milestone.actor_id)
                                               .where(Milestone.kind == "delivery").order_by(Milestone.id))
                actor.goto(f"{base}/rounds/{round_id}/bids")
                actor.click(f"#milestone-{milestone} a >> nth=0")
                actor.fill("#quantity", "2")
                actor.fill("#note", "Both boreholes drilled, capped and tested")
                actor.set_input_files("#files", files=[{"name": "borehole.png", "mimeType": "image/png",
                                                        "buffer": PNG}])
                actor.screenshot(path=str(shots / "d2-actor-report.png"), full_page=True)
                actor.click("form.report-form button[type=submit]")
                expect(actor.locator("p.flash.success")).to_contain_text("a verifier reviews it")
                expect(actor.locator("main")).to_contain_text("borehole.png")

                verifier = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
                verifier.goto(f"{base}/login")
                verifier.fill("#email", "vera@example.org")
                verifier.fill("#password", "verifier pass")
                verifier.click("main button[type=submit]")
                verifier.click("nav >> text=Verification")
                verifier.click("#waiting a >> nth=0")
                verifier.check("input[name=decision][value=accept]")
                verifier.screenshot(path=str(shots / "d3-verifier-review.png"), full_page=True)
                verifier.click("form.review-form button[type=submit]")
                expect(verifier.locator("p.flash.success")).to_contain_text("released to the actor")

                funder.click("nav >> text=Statements")
                funder.click("#portfolio-rounds a >> nth=0")
                line = funder.locator(f"#lines tr:has(a[href='/milestones/{milestone}'])")
                expect(line).to_contain_text("verified 20")
                expect(line).to_contain_text("7,200.00")
                expect(line.locator("a", has_text="borehole.png")).to_have_count(1)
                funder.screenshot(path=str(shots / "d4-funder-statement.png"), full_page=True)
                with funder.expect_response(lambda r: "/evidence/" in r.url) as shown:
                    line.locator("a", has_text="borehole.png").click()
                response = shown.value
                assert response.status == 200 and response.headers["content-type"] == "image/png"
                assert response.body() == PNG

                visitor = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
                visitor.goto(f"{base}/rounds/{round_id}/progress")
                expect(visitor.locator("#progress")).to_contain_text("7,200.00")
                main = visitor.locator("main").inner_text()
                for private in ("Lake Trust", "borehole.png", "DrillCo", "8,000"):
                    assert private not in main, private
                visitor.screenshot(path=str(shots / "d5-visitor-progress.png"), full_page=True)
                assert visitor.goto(f"{base}/milestones/{milestone}").url.startswith(f"{base}/login")
            finally:
                browser.close()
    for name in ("d1-analyst-verifiers.png", "d2-actor-report.png", "d3-verifier-review.png",
                 "d4-funder-statement.png", "d5-visitor-progress.png"):
        assert (shots / name).stat().st_size > 10_000, name
