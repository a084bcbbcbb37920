"""Evidence files on the site (issue 17): served to whoever may read the milestone they prove (its actor, its
verifier, the funders paying for it, analysts), as what their content is, never cached; absent to anyone else."""
from __future__ import annotations

from sqlalchemy import select

from market import services
from market.models import Milestone, RoundActor
from market.services.delivery import Upload
from tests.web_fixtures import cleared
from web import db as web_db
from web.evidence import storage

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_an_evidence_file_is_served_only_to_those_who_may_read_its_milestone(app, accounts):
    round_id = cleared(app)
    users = {key: accounts.create(f"{key}@example.org", role)
             for key, role in (("f1", "funder"), ("f2", "funder"), ("a1", "actor"), ("a2", "actor"),
                               ("vera", "verifier"), ("other", "verifier"))}
    analyst = accounts.client_for("ana@example.org", "analyst")
    assert analyst.post(f"/analyst/rounds/{round_id}/commit").status_code in (302, 303)
    sessions = web_db.sessions(app)
    with sessions.begin() as session:
        for key in ("f1", "f2", "a1", "a2"):
            services.link_participant(session, None, round_id, key, users[key])
        services.assign_verifier(session, None, round_id, {"email": "vera@example.org"})
        milestone = session.scalar(select(Milestone).join(RoundActor, RoundActor.id == Milestone.actor_id)
                                   .where(RoundActor.key == "a1", Milestone.kind == "delivery")
                                   .order_by(Milestone.id))
        with app.app_context():
            report = services.submit_report(session, None, milestone.id, {"quantity": 1},
                                            [Upload("../well 1.png", PNG)], storage())
        session.flush()
        file_id = report.files[0].id
    for key in ("a1", "vera", "f1"):
        client = app.test_client()
        accounts.login(client, f"{key}@example.org")
        got = client.get(f"/evidence/{file_id}")
        assert got.status_code == 200 and got.data == PNG, key
        assert got.headers["Content-Type"] == "image/png"
        assert got.headers["Content-Disposition"] == "inline; filename*=UTF-8''well%201.png"
        assert got.headers["X-Content-Type-Options"] == "nosniff" and "no-store" in got.headers["Cache-Control"]
    assert analyst.get(f"/evidence/{file_id}").status_code == 200
    for key in ("a2", "other"):
        client = app.test_client()
        accounts.login(client, f"{key}@example.org")
        assert client.get(f"/evidence/{file_id}").status_code == 404, key
        assert client.get(f"/evidence/{file_id + 1}").status_code == 404
    assert app.test_client().get(f"/evidence/{file_id}").status_code in (302, 401)
