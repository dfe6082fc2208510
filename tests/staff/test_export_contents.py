"""What the exports hold: ladder ratings, a results summary, plain labels, a readable workbook."""

from __future__ import annotations

import contextvars
import csv
import io

from openpyxl import load_workbook

from server.staff.exports import KINDS
from tests.staff.conftest import add_answer, add_participant, statement_ids
from tests.staff.test_verdict_pages import _rate


def _csv(web, two_projects, kind):
    response = web.get(f"/staff/projects/{two_projects['project_id']}/export/{kind}.csv", two_projects["coordinator"])
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _scene(two_projects):
    from server.extensions import db

    pid = two_projects["project_id"]
    [statement] = statement_ids(pid, limit=1)
    parent, pro = add_participant(pid, "parent_carer"), add_participant(pid, "professional")
    add_answer(pid, parent, statement, "not_sure")
    add_answer(pid, pro, statement, "agree")
    _rate(pid, parent, 2)
    db.session.commit()
    return parent, pro


def test_ladder_ratings_export_with_plain_labels(web, two_projects):
    parent, _ = _scene(two_projects)
    header, row = _csv(web, two_projects, "ladder")[:2]
    # Each column's heading with what the rating put under it, in the export's order.
    assert list(zip(header, row, strict=True))[1:] == [
        ("Participant (pseudonymous id)", parent),
        ("Role", "Parent or carer"),
        ("Stage", "Design"),
        ("Rung", "2"),
        ("Rung name", "Consultation"),
        ("Comment", ""),
        ("How it was recorded", "By themselves"),
    ]
    assert header[0] == "Rating id"


def test_answers_use_words_not_codes(web, two_projects):
    _scene(two_projects)
    body = "\n".join(",".join(r) for r in _csv(web, two_projects, "answers")[1:])
    for code in ("parent_carer", "not_sure", ",self", ",design,"):
        assert code not in body
    assert "Not sure" in body and "Parent or carer" in body and "Professional" in body


def test_summary_gives_each_stage_its_verdict_and_statement_counts(web, two_projects):
    _scene(two_projects)
    rows = _csv(web, two_projects, "summary")
    assert rows[0][:3] == ["Stage", "Verdict", "Why"]
    verdicts = {r[0]: r[1] for r in rows[1:] if r[1]}
    # The parent is not sure of the only answered statement: 0 of 12 agreed, so not yet.
    assert verdicts == {"Design": "Not yet", "Delivery": "No answers yet", "Review": "No answers yet"}
    design = [r for r in rows[1:] if r[0] == "Design" and r[4]]
    assert len(design) == 12
    assert [int(design[0][5]), int(design[0][6]), int(design[0][7])] == [1, 1, 0]


def test_workbook_has_widths_and_a_frozen_header(web, two_projects):
    _scene(two_projects)
    response = web.get(f"/staff/projects/{two_projects['project_id']}/export/project.xlsx", two_projects["coordinator"])
    book = load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["Summary", "Answers", "Ladder ratings", "Feedback", "Actions"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.column_dimensions["A"].width >= 12, sheet.title
    answers = book["Answers"]
    assert answers.column_dimensions["B"].width >= 36  # a whole pseudonymous id shows
    assert answers.column_dimensions["H"].width == 60  # the statement has room to read
    assert [c.value for c in answers[1]][8] == "Answer"


def _served_as_by_gunicorn(app, user, url):
    """Sign in and download ``url`` with no app context around the request, as under gunicorn.

    The test's own app context would otherwise be the request's too, so Flask-SQLAlchemy would
    keep the request's session open while the body streams, hiding any use of it after the view
    returned. A fresh ``contextvars.Context`` has no app context in it, so each request pushes
    and tears down its own, as a real server's does.
    """
    from flask.testing import FlaskClient

    from server.extensions import db

    email = user.email  # read here: the test's session needs the test's app context
    # End the test's transaction: on SQLite each one begins IMMEDIATE and would hold the write lock.
    db.session.commit()

    def download():
        client = FlaskClient(app, app.response_class, use_cookies=True)
        signed_in = client.post("/staff/sign-in", data={"email": email, "password": "correct horse battery"})
        assert signed_in.status_code == 302
        response = client.get(url)
        try:
            return response.status_code, response.get_data(as_text=True)
        finally:
            response.close()

    return contextvars.Context().run(download)


def test_csv_streams_whole_after_its_request_session_is_gone(app, web, two_projects):
    parent, pro = _scene(two_projects)
    coordinator = two_projects["coordinator"]
    base = f"/staff/projects/{two_projects['project_id']}/export"
    served = {kind: _served_as_by_gunicorn(app, coordinator, f"{base}/{kind}.csv") for kind in KINDS}
    for kind, (status, body) in served.items():
        assert status == 200, kind
        # The same file, every row of it, as a download inside the test's app context gives.
        assert body == web.get(f"{base}/{kind}.csv", coordinator).get_data(as_text=True), kind
    answers = list(csv.reader(io.StringIO(served["answers"][1].lstrip("\ufeff"))))
    assert answers[0][:2] == ["Answer id", "Participant (pseudonymous id)"]
    assert sorted((r[1], r[8]) for r in answers[1:]) == sorted([(parent, "Not sure"), (pro, "Agree")])
