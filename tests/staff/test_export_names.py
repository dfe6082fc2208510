"""Exports of a project titled in any language download, and only served downloads are audited."""

import json

from sqlalchemy import select
from werkzeug.http import parse_options_header

URDU = "خاندان کی رائے"


def _export_audits():
    from server.extensions import db
    from server.staff.models import AuditLog

    rows = db.session.execute(select(AuditLog).where(AuditLog.action == "export").order_by(AuditLog.id)).scalars()
    return [(a.subject_type, json.loads(a.detail)["format"]) for a in rows]


def test_urdu_title_downloads_as_csv_and_xlsx(web, two_projects):
    from server.domain import projects
    from server.extensions import db

    coordinator = two_projects["coordinator"]
    pid = projects.create_project(URDU, "Family views.", 3, coordinator)
    db.session.commit()

    csv_response = web.get(f"/staff/projects/{pid}/export/feedback.csv", coordinator)
    xlsx_response = web.get(f"/staff/projects/{pid}/export/project.xlsx", coordinator)

    assert csv_response.status_code == 200
    assert xlsx_response.status_code == 200
    assert parse_options_header(csv_response.headers["Content-Disposition"])[1]["filename"] == (
        "withus-خاندان-کی-رائے-feedback.csv"
    )
    assert parse_options_header(xlsx_response.headers["Content-Disposition"])[1]["filename"] == (
        "withus-خاندان-کی-رائے-data.xlsx"
    )
    assert 'filename="withus-feedback.csv"' in csv_response.headers["Content-Disposition"]
    assert _export_audits() == [("feedback", "csv"), ("project", "xlsx")]


def test_an_export_that_is_not_served_is_not_audited(web, two_projects):
    coordinator = two_projects["coordinator"]
    pid = two_projects["project_id"]

    assert web.get(f"/staff/projects/{pid}/export/nothing.csv", coordinator).status_code == 404
    elsewhere = two_projects["other_project_id"]
    assert web.get(f"/staff/projects/{elsewhere}/export/feedback.csv", coordinator).status_code == 404

    assert _export_audits() == []
