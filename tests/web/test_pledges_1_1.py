"""Funders' pages, market format 1.1: the pledge form's new fields (minimum spend, share of a project's
budget, conditions on other funders, "and all of these tags", "never these tags"), the preview of what a
scope admits, the pledge page's report after clearing, and who may see a pledge's conditions."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from market.models import Pledge
from market.scope_preview import describe
from tests.small_market import draft_doc
from tests.web_fixtures import import_doc
from web import db as web_db

# The story: a foundation that means "sanitation in Kenya" ticks region:kenya and sector:sanitation.
CHALLENGES = [
    {"id": "ke-bore", "title": "Kenya boreholes", "tags": ["region:kenya", "sector:water"], "value": 100,
     "components": [{"id": "drill", "quantity": 2, "max_unit_price": "10000"}, {"id": "pump"}]},
    {"id": "ke-san", "title": "Kenya latrines", "tags": ["region:kenya", "sector:sanitation"], "value": 100,
     "components": [{"id": "build", "quantity": 4, "max_unit_price": "2500.50"}]},
    {"id": "ug-san", "title": "Uganda latrines", "tags": ["region:uganda", "sector:sanitation"], "value": 100,
     "components": [{"id": "build", "quantity": 1, "max_unit_price": "7000"}]},
    {"id": "ke-north", "title": "Turkana latrines", "tags": ["region:kenya", "sector:sanitation", "risk:conflict"],
     "value": 100, "components": [{"id": "build", "max_unit_price": "3000"}]},
]


def tagged_round(app) -> int:
    doc = draft_doc()
    doc["challenges"] = CHALLENGES
    return import_doc(app, doc)


def stored(app):
    with web_db.sessions(app).begin() as session:
        return [(p.key, p.amount_cents, p.scope) for p in session.execute(select(Pledge).order_by(Pledge.id)).scalars()]


@pytest.fixture
def funder(accounts):
    return accounts.client_for("fund@example.org", "funder")


def admitted(page: str) -> list[str]:
    """The challenge keys the page's preview lists, in order."""
    return re.findall(r'<tr id="admits-([^"]+)">', page)


def preview(client, round_id, **fields):
    r = client.post(f"/rounds/{round_id}/pledges/new", data={"amount": "1000", "preview": "1", **fields})
    return r, r.data.decode()


# ---------------------------------------------------------------- the preview

def test_any_of_two_tags_admits_either_and_says_so(app, funder):
    round_id = tagged_round(app)
    r, page = preview(funder, round_id, tags=["region:kenya", "sector:sanitation"])
    assert r.status_code == 200 and stored(app) == []              # a preview saves nothing
    assert admitted(page) == ["ke-bore", "ke-san", "ug-san", "ke-north"]
    text = html.unescape(page)
    assert "at least one of region:kenya or sector:sanitation (any one is enough)" in text
    assert 'tick them under "and all of these tags"' in text
    # the reserves: 2 x 10,000 + 4 x 2,500.50 + 7,000 + 3,000 (the pump states none)
    assert '<strong id="preview-total">40,002.00 USD</strong>' in page
    assert "1 component without a reserve price not counted" in text
    # the boxes stay ticked, the amount kept
    assert 'checked id="tags-0" name="tags" type="checkbox" value="region:kenya"' in page
    assert 'value="1000"' in page


def test_all_of_two_tags_admits_only_both(app, funder):
    round_id = tagged_round(app)
    _, page = preview(funder, round_id, all_tags=["region:kenya", "sector:sanitation"])
    assert admitted(page) == ["ke-san", "ke-north"]
    assert "Every component of a challenge tagged region:kenya and sector:sanitation." in html.unescape(page)
    assert '<strong id="preview-total">13,002.00 USD</strong>' in page


def test_never_these_tags_wins(app, funder):
    round_id = tagged_round(app)
    _, page = preview(funder, round_id, all_tags=["region:kenya", "sector:sanitation"], exclude_tags=["risk:conflict"])
    assert admitted(page) == ["ke-san"]
    assert ("Every component of a challenge tagged region:kenya and sector:sanitation, but never in a challenge "
            "tagged risk:conflict.") in html.unescape(page)
    assert '<strong id="preview-total">10,002.00 USD</strong>' in page
    _, page = preview(funder, round_id, exclude_tags=["region:kenya"])        # alone: from every challenge
    assert admitted(page) == ["ug-san"]
    _, page = preview(funder, round_id, challenges=["ke-bore"], all_tags=["sector:sanitation"])
    assert "This scope admits nothing in this round" in page and admitted(page) == []


def test_a_component_left_out_is_named(app, funder):
    round_id = tagged_round(app)
    _, page = preview(funder, round_id, components=["ke-bore/drill"])
    assert admitted(page) == ["ke-bore"] and "not in scope: ke-bore/pump" in page
    assert '<strong id="preview-total">20,000.00 USD</strong>' in page


def test_nothing_ticked_is_every_challenge(app, funder):
    round_id = tagged_round(app)
    page = funder.get(f"/rounds/{round_id}/pledges/new").data.decode()
    assert admitted(page) == ["ke-bore", "ke-san", "ug-san", "ke-north"]
    assert "Every component of every challenge of the round." in page


def test_a_preview_with_a_bad_amount_still_previews_and_saves_nothing(app, funder):
    round_id = tagged_round(app)
    r, page = preview(funder, round_id, amount="abc", tags=["sector:water"])
    assert r.status_code == 200 and admitted(page) == ["ke-bore"] and stored(app) == []


def test_the_preview_needs_the_csrf_token(app, funder):
    round_id = tagged_round(app)
    app.config["WTF_CSRF_ENABLED"] = True
    r = funder.post(f"/rounds/{round_id}/pledges/new", data={"amount": "1", "preview": "1"})
    assert r.status_code == 400 and stored(app) == []
    page = funder.get(f"/rounds/{round_id}/pledges/new").data.decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = funder.post(f"/rounds/{round_id}/pledges/new", data={"csrf_token": token, "amount": "1", "preview": "1",
                                                            "all_tags": ["region:uganda"]})
    assert r.status_code == 200 and admitted(r.data.decode()) == ["ug-san"] and stored(app) == []


def test_describe_in_words():
    assert describe(None) == "Every component of every challenge of the round."
    assert describe({}) == "Nothing: this scope admits no component."
    assert describe({"challenges": ["w"], "tags": ["t"], "all_tags": ["a", "b"]}, {"w": "Wells"}) == (
        "Every component of challenge Wells (w); or every component of a challenge tagged t; but only where the "
        "challenge is also tagged a and b.")


# ---------------------------------------------------------------- the form's new fields

def funder_key(app, email):
    from market.models import RoundFunder, User
    with web_db.sessions(app).begin() as session:
        return session.execute(select(RoundFunder.key).join(User, User.id == RoundFunder.user_id)
                               .where(User.email == email)).scalar_one()


def row(app, key):
    with web_db.sessions(app).begin() as session:
        p = session.execute(select(Pledge).where(Pledge.key == key)).scalar_one()
        return {"amount": p.amount_cents, "scope": p.scope, "min_spend": p.min_spend_cents,
                "share": p.max_challenge_share, "conditions": p.conditions, "listed": p.listed}


def key_of(app, email):
    from market.models import RoundFunder, User
    with web_db.sessions(app).begin() as session:
        return session.execute(select(Pledge.key).join(RoundFunder, RoundFunder.id == Pledge.funder_id)
                               .join(User, User.id == RoundFunder.user_id).where(User.email == email)
                               .order_by(Pledge.id.desc())).scalars().first()


@pytest.fixture
def ministry(app, accounts):
    """A second funder, "Ministry", whose one pledge is listed by name: a condition may name it."""
    return accounts.client_for("ministry@example.org", "funder")


FULL = {"amount": "80,000", "tags": ["sector:sanitation"], "all_tags": ["region:kenya"],
        "exclude_tags": ["risk:conflict"], "min_spend": "50,000", "max_challenge_share": "75",
        "conditions-0-min": "20,000.50"}


def test_every_new_field_round_trips(app, funder, ministry):
    round_id = tagged_round(app)
    assert ministry.post(f"/rounds/{round_id}/pledges/new", data={"amount": "100000", "listed": "y"}).status_code == 302
    them = funder_key(app, "ministry@example.org")
    form = funder.get(f"/rounds/{round_id}/pledges/new").data.decode()
    assert f'<option value="{them}">Ministry</option>' in form
    r = funder.post(f"/rounds/{round_id}/pledges/new", data=FULL | {"conditions-0-funder": them})
    assert r.status_code == 302, html.unescape(r.data.decode())
    key = key_of(app, "fund@example.org")
    assert row(app, key) == {"amount": 8000000, "scope": {"tags": ["sector:sanitation"], "all_tags": ["region:kenya"],
                                                           "exclude_tags": ["risk:conflict"]},
                             "min_spend": 5000000, "share": 0.75,
                             "conditions": [{"funder": them, "min_cents": 2000050}], "listed": False}
    mine = html.unescape(funder.get(f"/rounds/{round_id}/pledges").data.decode())
    assert "pays nothing or at least 50,000.00 USD" in mine
    assert "at most 75% of any one project's budget" in mine
    assert "only where Ministry pays at least 20,000.50 USD into the same project" in mine
    assert ("Every component of a challenge tagged sector:sanitation; but only where the challenge is also tagged "
            "region:kenya, but never in a challenge tagged risk:conflict.") in mine
    # the edit form shows it all again, and what the stored scope admits
    form = funder.get(f"/rounds/{round_id}/pledges/{key}/edit").data.decode()
    assert 'value="50,000.00"' in form and 'value="75"' in form and 'value="20,000.50"' in form
    assert f'<option selected value="{them}">Ministry</option>' in form
    assert 'checked id="all_tags-' in form and 'checked id="exclude_tags-' in form
    assert admitted(form) == ["ke-san"]
    # emptied, each optional field is removed
    r = funder.post(f"/rounds/{round_id}/pledges/{key}/edit", data={"amount": "80,000", "tags": ["sector:water"]})
    assert r.status_code == 302, html.unescape(r.data.decode())
    assert row(app, key) == {"amount": 8000000, "scope": {"tags": ["sector:water"]}, "min_spend": None,
                             "share": None, "conditions": None, "listed": False}


@pytest.mark.parametrize("fields, where, message", [
    ({"min_spend": "90,000"}, "min_spend", "must be at most the amount"),
    ({"min_spend": "0"}, "min_spend", "greater than 0"),
    ({"min_spend": "12.345"}, "min_spend", "two digits"),
    ({"max_challenge_share": "0"}, "max_challenge_share", "must be above 0"),
    ({"max_challenge_share": "101"}, "max_challenge_share", "at most 100"),
    ({"max_challenge_share": "x"}, "max_challenge_share", "enter a number such as 75"),
    ({"max_challenge_share": "0.05"}, "max_challenge_share", "the engine's bound for max_challenge_share"),
    ({"max_share": "x"}, "max_share", "enter a number such as 50"),
    ({"conditions-0-funder": "THEM"}, "conditions-0-min", "enter the least this funder must pay"),
    ({"conditions-0-min": "5"}, "conditions-0-funder", "choose the funder"),
    ({"conditions-0-funder": "THEM", "conditions-0-min": "-5"}, "conditions-0-min", "must not be negative"),
    ({"conditions-0-funder": "nobody", "conditions-0-min": "5"}, "conditions-0-funder", 'no funder "nobody"'),
    ({"conditions-0-funder": "ME", "conditions-0-min": "5"}, "conditions-0-funder", "its own funder"),
    ({"conditions-0-funder": "THEM", "conditions-0-min": "5", "conditions-1-funder": "THEM",
      "conditions-1-min": "6"}, "conditions-1-funder", "is named already"),
    # a blank row between: the rows come back numbered without the gap, the error beside the second one
    ({"conditions-0-funder": "THEM", "conditions-0-min": "5", "conditions-2-funder": "THEM",
      "conditions-2-min": "6"}, "conditions-1-funder", "is named already"),
])
def test_field_errors_are_next_to_their_field_and_nothing_is_saved(app, funder, ministry, fields, where, message):
    round_id = tagged_round(app)
    ministry.post(f"/rounds/{round_id}/pledges/new", data={"amount": "100000", "listed": "y"})
    funder.post(f"/rounds/{round_id}/pledges/new", data={"amount": "1"})      # so that it has a funder key
    me, them = funder_key(app, "fund@example.org"), funder_key(app, "ministry@example.org")
    before = stored(app)
    data = {"amount": "80,000", "all_tags": ["region:kenya"]} | {
        k: v.replace("THEM", them).replace("ME", me) for k, v in fields.items()}
    r = funder.post(f"/rounds/{round_id}/pledges/new", data=data)
    page = html.unescape(r.data.decode())
    assert r.status_code == 400, page
    assert f'id="{where}-err"' in page, page[page.find("error-box"):][:2000]
    assert message in page[page.find(f'id="{where}-err"'):][:300]
    assert stored(app) == before
    assert 'value="80,000"' in page and 'checked id="all_tags-' in page           # everything typed is kept


def test_the_picker_offers_only_other_funders_that_list_all_their_pledges(app, funder, ministry, accounts):
    round_id = tagged_round(app)
    quiet = accounts.client_for("quiet@example.org", "funder")
    ministry.post(f"/rounds/{round_id}/pledges/new", data={"amount": "100000", "listed": "y"})
    quiet.post(f"/rounds/{round_id}/pledges/new", data={"amount": "123,456.78"})          # unlisted
    funder.post(f"/rounds/{round_id}/pledges/new", data={"amount": "5", "listed": "y"})
    form = funder.get(f"/rounds/{round_id}/pledges/new").data.decode()
    options = re.findall(r'<option (?:selected )?value="([^"]*)">([^<]*)</option>', form)
    assert set(options) == {("", "(no condition)"), (funder_key(app, "ministry@example.org"), "Ministry")}
    assert "123,456.78" not in form and "100,000.00" not in form
    quiet_key = funder_key(app, "quiet@example.org")
    r = funder.post(f"/rounds/{round_id}/pledges/new", data={
        "amount": "10", "conditions-0-funder": quiet_key, "conditions-0-min": "1"})
    assert r.status_code == 400 and 'id="conditions-0-funder-err"' in r.data.decode()
    # The refused key comes back in the same words as a key nobody has: no name, nothing to tell them apart.
    unknown = funder.post(f"/rounds/{round_id}/pledges/new", data={
        "amount": "10", "conditions-0-funder": "user-999", "conditions-0-min": "1"})
    labels = [dict(re.findall(r'<option (?:selected )?value="([^"]*)">([^<]*)</option>', page.data.decode()))
              for page in (r, unknown)]
    assert labels[0][quiet_key] == f"{quiet_key} (may not be named)" and "Quiet" not in r.data.decode()
    assert labels[1]["user-999"] == "user-999 (may not be named)"


# ---------------------------------------------------------------- after clearing: what the conditions did

def cents(text: str) -> int:
    return int(text.replace(",", "").replace(".", ""))


def store_run(app, round_id: int, flows: list[tuple[str, str, str]], completed: dict[str, str],
              status: str = "optimal") -> None:
    """Close the round and store a clearing run by hand, as the clearing would record it (the engine's own
    rules for conditions are another branch's): `flows` (pledge key, component, amount), `completed`
    (challenge -> cost)."""
    from market import services
    from market.models import ClearingRun, Round
    from market.snapshot import digest, round_document
    from solver.money import format_money
    with web_db.sessions(app).begin() as session:
        services.close_round(session, None, round_id)
    with web_db.sessions(app).begin() as session:
        rnd = session.get(Round, round_id)
        doc = round_document(session, rnd)
        funder_of = {p["id"]: f["id"] for f in doc["funders"] for p in f["pledges"]}
        spent: dict[str, int] = {}
        for pledge, _, amount in flows:
            spent[pledge] = spent.get(pledge, 0) + cents(amount)
        allocation = {
            "format": "swarm-allocation/1", "market": doc["name"], "status": status, "value": 0,
            "cost": format_money(sum(cents(c) for c in completed.values())),
            "challenges": [{"id": c["id"], "completed": c["id"] in completed, "value": c["value"],
                            "cost": completed.get(c["id"], "0.00"), "reliability": 1, "components": []}
                           for c in doc["challenges"]],
            "awards": [],
            "flows": [{"pledge": p, "funder": funder_of[p], "component": k, "amount": a} for p, k, a in flows],
            "pledges": [{"id": p["id"], "funder": f["id"], "amount": p["amount"],
                         "spent": format_money(spent.get(p["id"], 0)),
                         "returned": format_money(cents(p["amount"]) - spent.get(p["id"], 0))}
                        for f in doc["funders"] for p in f["pledges"]],
            "unfunded": [{"challenge": c["id"], "reasons": ["not chosen: completing it would not raise the total value"]}
                         for c in doc["challenges"] if c["id"] not in completed]}
        session.add(ClearingRun(round_id=round_id, digest=digest(doc), backend="cbc", status=status, seconds=0.0,
                                value=0.0, cost_cents=cents(allocation["cost"]), market=doc, allocation=allocation,
                                is_result=True, created_by="test"))
        rnd.status = "cleared"


@pytest.fixture
def conditioned(app, funder, ministry, accounts):
    """A round where the Foundation ("fund") pledges for Kenyan sanitation only where the Ministry pays at
    least 2,000 into the same project, at least 5,000 in all and at most 75% of a project; a second pledge
    of it with a minimum spend sits out; a quiet funder pays unlisted. Returns (round, pledge keys)."""
    round_id = tagged_round(app)
    quiet = accounts.client_for("quiet@example.org", "funder")
    ministry.post(f"/rounds/{round_id}/pledges/new", data={"amount": "100,000", "listed": "y"})
    quiet.post(f"/rounds/{round_id}/pledges/new", data={"amount": "30,000"})
    them = funder_key(app, "ministry@example.org")
    r = funder.post(f"/rounds/{round_id}/pledges/new", data={
        "amount": "50,000", "all_tags": ["region:kenya", "sector:sanitation"], "min_spend": "5,000",
        "max_challenge_share": "75", "conditions-0-funder": them, "conditions-0-min": "2,000"})
    assert r.status_code == 302, html.unescape(r.data.decode())
    main = key_of(app, "fund@example.org")
    funder.post(f"/rounds/{round_id}/pledges/new", data={"amount": "10,000", "challenges": ["ke-bore"],
                                                         "min_spend": "9,000"})
    keys = {"main": main, "second": key_of(app, "fund@example.org"), "ministry": key_of(app, "ministry@example.org"),
            "quiet": key_of(app, "quiet@example.org")}
    return round_id, keys


def settle(app, round_id, keys):
    store_run(app, round_id, [(keys["main"], "ke-san/build", "7500.00"), (keys["ministry"], "ke-san/build", "2500.00"),
                              (keys["quiet"], "ug-san/build", "7000.00")],
              {"ke-san": "10000.00", "ug-san": "7000.00"})


def report(page: str, key: str) -> str:
    start = page.find(f'id="report-{key}"')
    assert start != -1, "no report"
    return html.unescape(page[start:page.find("</section>", start)])


def test_the_pledge_page_says_what_each_condition_did(app, funder, conditioned):
    round_id, keys = conditioned
    settle(app, round_id, keys)
    page = funder.get(f"/rounds/{round_id}/pledges").data.decode()
    text = report(page, keys["main"])
    assert ("Only if Ministry pays at least 2,000.00: met in Kenya latrines; not met in Turkana latrines, where this "
            "pledge could pay nothing.") in text
    assert "paid 7,500.00 to Kenya latrines: Ministry paid 2,500.00 there (at least 2,000.00 needed: met)" in text
    assert "paid nothing to Turkana latrines: Ministry paid 0.00 there (at least 2,000.00 needed: not met)" in text
    assert "Minimum spend 5,000.00: reached, it paid 7,500.00 in total." in text
    assert "Kenya latrines: paid 7,500.00 of its cost 10,000.00 (75%); at most 75% allowed: the cap bound" in text
    assert "Uganda latrines" not in text and "Kenya boreholes" not in text         # outside its scope
    assert "Not kept by the clearing" not in text
    second = report(page, keys["second"])
    assert ("Minimum spend 9,000.00: not reached. This pledge pays nothing or at least 9,000.00; it paid nothing, "
            "and all of it was returned to you.") in second
    # the money table is still there
    assert "Returned to you" in page and "42,500.00 USD" in page


def test_an_unlisted_named_funder_is_said_met_or_not_without_its_money(app, funder, ministry, conditioned):
    round_id, keys = conditioned
    r = ministry.post(f"/rounds/{round_id}/pledges/{keys['ministry']}/edit", data={"amount": "100,000"})  # unlists
    assert r.status_code == 302
    settle(app, round_id, keys)
    text = report(funder.get(f"/rounds/{round_id}/pledges").data.decode(), keys["main"])
    assert "paid 7,500.00 to Kenya latrines: Ministry paid at least the 2,000.00 needed there (met)" in text
    assert "paid nothing to Turkana latrines: Ministry paid less than the 2,000.00 needed there (not met)" in text
    assert "2,500.00" not in text and "Ministry paid 0.00" not in text


def test_nobody_else_sees_a_pledges_conditions(app, funder, ministry, accounts, client, conditioned):
    round_id, keys = conditioned
    settle(app, round_id, keys)
    quiet = accounts.app.test_client()
    accounts.login(quiet, "quiet@example.org")
    for other in (ministry, quiet):
        page = html.unescape(other.get(f"/rounds/{round_id}/pledges").data.decode())
        assert keys["main"] not in page and "Only if" not in page and "only where" not in page
        assert "2,000.00" not in page and "5,000.00" not in page
        assert other.get(f"/rounds/{round_id}/pledges/{keys['main']}/edit").status_code == 404
    actor = accounts.client_for("act@example.org", "actor")
    assert actor.get(f"/rounds/{round_id}/pledges").status_code == 403
    assert client.get(f"/rounds/{round_id}/pledges").status_code == 302                 # to the login page
    for seer in (client, actor, quiet):
        results = html.unescape(seer.get(f"/rounds/{round_id}/results").data.decode())
        assert "Only if" not in results and "only where" not in results and "2,000.00" not in results
    # an analyst sees it all
    analyst = accounts.client_for("ana@example.org", "analyst")
    assert "Only if Ministry pays at least 2,000.00" in html.unescape(
        analyst.get(f"/rounds/{round_id}/pledges").data.decode())


def test_an_infeasible_run_is_said_in_the_report():
    """An infeasible clearing is no round's result (services.clearing.record_run), so no funder's page shows
    one; a report of such a run (an analyst's) says why nothing was paid."""
    from types import SimpleNamespace

    from market.pledge_report import pledge_report
    from market.sealing import ANALYST
    doc = {"name": "m", "challenges": [{"id": "c1", "components": [{"id": "k"}]}],
           "funders": [{"id": "f", "pledges": [{"id": "p", "amount": "100.00",
                                                "conditions": [{"funder": "g", "min": "10.00"}]}]},
                       {"id": "g", "pledges": [{"id": "q", "amount": "5.00"}]}]}
    alloc = {"status": "infeasible", "challenges": [{"id": "c1", "cost": "0.00"}], "flows": []}
    r = pledge_report(SimpleNamespace(market=doc, allocation=alloc), "p", ANALYST)
    assert r is not None and r.infeasible
    assert r.conditions[0].startswith("The clearing was infeasible: the fixed bids could not all be accepted")
    assert r.conditions[1] == ("Only if g pays at least 10.00: not met in any challenge this pledge could pay into, "
                               "so it paid nothing.")


def test_a_condition_the_allocation_breaks_is_flagged():
    from types import SimpleNamespace

    from market.pledge_report import pledge_report
    from market.sealing import ANALYST
    doc = {"name": "m", "challenges": [{"id": "c1", "tags": ["t"], "components": [{"id": "k"}]}],
           "funders": [{"id": "f", "pledges": [{"id": "p", "amount": "100.00", "min_spend": "90.00",
                                                "conditions": [{"funder": "g", "min": "10.00"}]}]},
                       {"id": "g", "name": "Gov", "pledges": [{"id": "q", "amount": "5.00"}]}]}
    alloc = {"status": "optimal", "challenges": [{"id": "c1", "cost": "50.00"}],
             "flows": [{"pledge": "p", "funder": "f", "component": "c1/k", "amount": "45.00"},
                       {"pledge": "q", "funder": "g", "component": "c1/k", "amount": "5.00"}]}
    r = pledge_report(SimpleNamespace(market=doc, allocation=alloc), "p", ANALYST)
    assert r is not None
    assert r.broken == ["c1: this pledge paid 45.00 although a condition was not met there",
                        "paid 45.00 in total, below the minimum spend of 90.00"]
    assert r.lines[0].text == "paid 45.00 to c1: Gov paid 5.00 there (at least 10.00 needed: not met)"
    assert pledge_report(SimpleNamespace(market=doc, allocation=alloc), "q", ANALYST) is None   # no 1.1 limit


def test_a_pledge_that_paid_nothing_though_its_conditions_were_met_says_where():
    from types import SimpleNamespace

    from market.pledge_report import pledge_report
    from market.sealing import ANALYST
    doc = {"name": "m", "challenges": [{"id": "c1", "components": [{"id": "k"}]},
                                       {"id": "c2", "title": "Two", "components": [{"id": "k"}]}],
           "funders": [{"id": "f", "pledges": [{"id": "p", "amount": "100.00", "max_challenge_share": 0.5,
                                                "conditions": [{"funder": "g", "min": "10.00"}]}]},
                       {"id": "g", "pledges": [{"id": "q", "amount": "50.00"}]}]}
    alloc = {"status": "optimal", "challenges": [{"id": "c1", "cost": "0.00"}, {"id": "c2", "cost": "40.00"}],
             "flows": [{"pledge": "q", "funder": "g", "component": "c2/k", "amount": "40.00"}]}
    r = pledge_report(SimpleNamespace(market=doc, allocation=alloc), "p", ANALYST)
    assert r is not None and r.broken == [] and r.shares == []
    assert r.conditions == ["Only if g pays at least 10.00: met in Two; not met in c1, where this pledge could pay "
                            "nothing.", "Its conditions were met together in Two, which other money paid for."]


# ---------------------------------------------------------------- analysts fix bids

def bid_state(app, key):
    from market.models import AuditLog, Bid
    with web_db.sessions(app).begin() as session:
        b = session.execute(select(Bid).where(Bid.key == key)).scalar_one()
        audits = [(a.action, a.details.get("reason"))
                  for a in session.execute(select(AuditLog).where(AuditLog.entity == "bid",
                                                                  AuditLog.entity_id == str(b.id))
                                           .order_by(AuditLog.id)).scalars() if a.action in ("fix", "unfix")]
        return b.fixed, b.fixed_reason, audits


@pytest.fixture
def a_bid(app, accounts, empty_round):
    actor = accounts.client_for("act@example.org", "actor")
    assert actor.post(f"/rounds/{empty_round}/bids/new", data={"items-0-component": "wells/drill",
                                                                "items-0-price": "9,000"}).status_code == 302
    from market.models import Bid
    with web_db.sessions(app).begin() as session:
        key = session.execute(select(Bid.key)).scalar_one()
    return actor, key


def test_an_analyst_marks_a_bid_fixed_and_unfixes_it(app, accounts, empty_round, a_bid):
    actor, key = a_bid
    analyst = accounts.client_for("ana@example.org", "analyst")
    page = analyst.get(f"/rounds/{empty_round}/bids").data.decode()
    assert f'action="/analyst/rounds/{empty_round}/bids/{key}/fix"' in page and "Mark fixed" in page
    url = f"/analyst/rounds/{empty_round}/bids/{key}"
    r = analyst.post(f"{url}/fix", data={"reason": ""})
    assert "was not fixed" in html.unescape(analyst.get(r.headers["Location"]).data.decode())
    assert bid_state(app, key)[0] is False
    r = analyst.post(f"{url}/fix", data={"reason": "contract <b>signed</b> 1 Dec"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/rounds/{empty_round}/bids#bid-{key}")
    assert bid_state(app, key)[:2] == (True, "contract <b>signed</b> 1 Dec")
    page = analyst.get(f"/rounds/{empty_round}/bids").data.decode()
    assert "Unfix" in page and f'action="{url}/unfix"' in page and "&lt;b&gt;signed" in page
    assert "fixed</a>: contract &lt;b&gt;signed" in analyst.get(f"/analyst/rounds/{empty_round}").data.decode()
    # its actor sees it fixed, without the edit and withdraw it may no longer use, and no fixing control
    mine = actor.get(f"/rounds/{empty_round}/bids").data.decode()
    assert "Fixed by an analyst (already contracted)" in mine and "contract &lt;b&gt;signed&lt;/b&gt; 1 Dec" in mine
    assert f"/bids/{key}/edit" not in mine and f"/bids/{key}/withdraw" not in mine and "Mark fixed" not in mine
    assert "Unfix" not in mine
    assert analyst.post(f"{url}/fix", data={"reason": "again"}).status_code == 302     # said, not a 500
    assert bid_state(app, key)[:2] == (True, "contract <b>signed</b> 1 Dec")
    analyst.post(f"{url}/unfix", data={"reason": "contract cancelled"})
    fixed, reason, audits = bid_state(app, key)
    assert (fixed, reason) == (False, None)
    assert audits == [("fix", "contract <b>signed</b> 1 Dec"), ("unfix", "contract cancelled")]
    mine = actor.get(f"/rounds/{empty_round}/bids").data.decode()
    assert "Fixed by an analyst" not in mine and f"/bids/{key}/edit" in mine


def test_only_analysts_fix_and_only_the_actor_sees_it(app, accounts, client, empty_round, a_bid):
    actor, key = a_bid
    url = f"/analyst/rounds/{empty_round}/bids/{key}"
    funder = accounts.client_for("fund@example.org", "funder")
    rival = accounts.client_for("rival@example.org", "actor")
    for who in (actor, funder, rival):
        assert who.post(f"{url}/fix", data={"reason": "mine"}).status_code == 403
    assert client.post(f"{url}/fix", data={"reason": "x"}).status_code == 302              # to the login page
    assert bid_state(app, key)[0] is False
    analyst = accounts.client_for("ana@example.org", "analyst")
    analyst.post(f"{url}/fix", data={"reason": "contracted"})
    for who in (actor, funder, rival):
        assert who.post(f"{url}/unfix", data={"reason": "mine"}).status_code == 403
    assert bid_state(app, key)[0] is True
    assert key not in rival.get(f"/rounds/{empty_round}/bids").data.decode()
    assert "contracted" not in html.unescape(client.get(f"/rounds/{empty_round}").data.decode())
    assert analyst.post(f"/analyst/rounds/{empty_round}/bids/nope/fix", data={"reason": "x"}).status_code == 404
    app.config["WTF_CSRF_ENABLED"] = True                                   # a form without its token: refused
    assert analyst.post(f"{url}/unfix", data={"reason": "x"}).status_code == 400
    assert bid_state(app, key)[0] is True


def test_no_fixing_control_once_the_round_is_cleared(app, accounts, empty_round, a_bid):
    actor, key = a_bid
    analyst = accounts.client_for("ana@example.org", "analyst")
    from market import services
    with web_db.sessions(app).begin() as session:
        services.close_round(session, None, empty_round)
    assert "Mark fixed" in analyst.get(f"/rounds/{empty_round}/bids").data.decode()          # closed: still
    services.clear_round(web_db.sessions(app), None, empty_round)
    page = analyst.get(f"/rounds/{empty_round}/bids").data.decode()
    assert "Mark fixed" not in page and f"/bids/{key}/fix" not in page


def test_the_live_list_answers_what_a_scope_admits(app, funder, accounts, client):
    round_id = tagged_round(app)
    url = f"/rounds/{round_id}/pledges/preview"
    form = funder.get(f"/rounds/{round_id}/pledges/new").data.decode()
    assert f'data-url="{url}"' in form and re.search(r'<script nonce="[^"]+" src="/static/scope_preview.js">', form)
    r = funder.get(url, query_string={"all_tags": ["region:kenya", "sector:sanitation"],
                                      "exclude_tags": ["risk:conflict"]})
    page = r.data.decode()
    assert r.status_code == 200 and admitted(page) == ["ke-san"] and "<html" not in page
    assert "10,002.00 USD" in page
    assert admitted(funder.get(url, query_string={"tags": ["region:kenya", "sector:sanitation"]}).data.decode()) == [
        "ke-bore", "ke-san", "ug-san", "ke-north"]
    assert "admits nothing" in funder.get(url, query_string={"challenges": ["ke-bore"],
                                                            "exclude_tags": ["sector:water"]}).data.decode()
    assert admitted(funder.get(url).data.decode()) == ["ke-bore", "ke-san", "ug-san", "ke-north"]
    assert stored(app) == []
    assert accounts.client_for("act@example.org", "actor").get(url).status_code == 403
    assert client.get(url).status_code == 302
    assert funder.get("/rounds/999/pledges/preview").status_code == 404


def test_a_condition_on_a_funder_that_unlisted_since_is_kept_but_not_named_anew(app, funder, ministry):
    round_id = tagged_round(app)
    ministry.post(f"/rounds/{round_id}/pledges/new", data={"amount": "100000", "listed": "y"})
    them = funder_key(app, "ministry@example.org")
    funder.post(f"/rounds/{round_id}/pledges/new", data={"amount": "10", "conditions-0-funder": them,
                                                         "conditions-0-min": "5"})
    key = key_of(app, "fund@example.org")
    ministry.post(f"/rounds/{round_id}/pledges/{key_of(app, 'ministry@example.org')}/edit",
                  data={"amount": "100000"})                                    # unlisted now
    form = funder.get(f"/rounds/{round_id}/pledges/{key}/edit").data.decode()
    assert f'<option selected value="{them}">Ministry (kept; may not be named anew)</option>' in form
    r = funder.post(f"/rounds/{round_id}/pledges/{key}/edit", data={"amount": "20", "conditions-0-funder": them,
                                                                    "conditions-0-min": "5"})
    assert r.status_code == 302 and row(app, key)["conditions"] == [{"funder": them, "min_cents": 500}]
    r = funder.post(f"/rounds/{round_id}/pledges/new", data={"amount": "10", "conditions-0-funder": them,
                                                             "conditions-0-min": "5"})
    assert r.status_code == 400 and 'id="conditions-0-funder-err"' in r.data.decode()     # not anew
    assert f'<option selected value="{them}">Ministry (kept' not in r.data.decode()
    r = funder.post(f"/rounds/{round_id}/pledges/{key}/edit", data={"amount": "10"})      # dropped on purpose
    assert r.status_code == 302 and row(app, key)["conditions"] is None


def test_a_real_clearing_where_a_condition_blocks_a_challenge(app, funder, ministry, accounts):
    """The engine (cbc) clears a round whose Foundation pays for Kenyan sanitation only where the Ministry pays
    at least 1,000: the Ministry may pay for Turkana latrines but not for Kenya latrines, so Kenya latrines
    stay unfunded though the Foundation has the money, and its page says so."""
    from market import services
    round_id = tagged_round(app)
    ministry.post(f"/rounds/{round_id}/pledges/new", data={"amount": "100,000", "listed": "y",
                                                           "challenges": ["ke-north", "ug-san"]})
    r = funder.post(f"/rounds/{round_id}/pledges/new", data={
        "amount": "20,000", "all_tags": ["region:kenya", "sector:sanitation"],
        "conditions-0-funder": funder_key(app, "ministry@example.org"), "conditions-0-min": "1,000"})
    assert r.status_code == 302
    key = key_of(app, "fund@example.org")
    actor = accounts.client_for("act@example.org", "actor")
    for component, price in (("ke-san/build", "8,000"), ("ke-north/build", "2,000")):
        assert actor.post(f"/rounds/{round_id}/bids/new", data={"items-0-component": component,
                                                                "items-0-price": price}).status_code == 302
    with web_db.sessions(app).begin() as session:
        services.close_round(session, None, round_id)
    cleared = services.clear_round(web_db.sessions(app), None, round_id)
    assert cleared.allocation.status == "optimal"
    text = report(funder.get(f"/rounds/{round_id}/pledges").data.decode(), key)
    assert ("Only if Ministry pays at least 1,000.00: met in Turkana latrines; not met in Kenya latrines, where "
            "this pledge could pay nothing.") in text
    assert "paid nothing to Kenya latrines: Ministry paid 0.00 there (at least 1,000.00 needed: not met)" in text
    assert "Not kept by the clearing" not in text


def test_an_infeasible_clearing_is_said_on_the_job_page_and_is_no_result(app, funder, accounts):
    round_id = tagged_round(app)
    assert funder.post(f"/rounds/{round_id}/pledges/new", data={"amount": "20,000"}).status_code == 302
    actor = accounts.client_for("act@example.org", "actor")
    actor.post(f"/rounds/{round_id}/bids/new", data={"items-0-component": "ke-north/build", "items-0-price": "5,000"})
    from market.models import Bid
    with web_db.sessions(app).begin() as session:
        key = session.execute(select(Bid.key)).scalar_one()
    analyst = accounts.client_for("ana@example.org", "analyst")
    analyst.post(f"/analyst/rounds/{round_id}/bids/{key}/fix", data={"reason": "signed at 5,000, over the reserve"})
    r = analyst.post(f"/analyst/rounds/{round_id}/clear", data={"solver": "cbc", "time_limit": "20"})
    assert r.status_code == 302 and "/analyst/jobs/" in r.headers["Location"]
    page = html.unescape(analyst.get(r.headers["Location"]).data.decode())
    assert 'id="infeasible"' in page and "the fixed bids cannot all be accepted together" in page
    assert f"Round {round_id} cleared" not in page and "the round stays closed" in page
    assert key in page                                         # the engine's reason names the fixed bid: analysts
    mine = funder.get(f"/rounds/{round_id}/pledges").data.decode()
    assert "What its conditions" not in mine and "Where the money went" not in mine
