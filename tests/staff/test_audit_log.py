"""The audit log page: filters by who, what, project and dates; pages; CSV export, itself audited."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest


@pytest.fixture
def log(app, two_projects):
    """A hand-made log: (subject id, who, what, project, when), with the admin's own rows apart."""
    from server.extensions import db
    from server.staff.models import AuditLog

    # Setting up the projects is audited too (staff put on projects); start from an empty log.
    db.session.execute(db.delete(AuditLog))
    c, o = two_projects["coordinator"].id, two_projects["other"].id
    p, q = two_projects["project_id"], two_projects["other_project_id"]
    rows = [
        ("s01", c, "view", p, datetime(2026, 11, 1, 9)),
        ("s02", c, "export", p, datetime(2026, 11, 2, 9)),
        ("s03", o, "view", q, datetime(2026, 11, 3, 9)),
        ("s04", o, "export", q, datetime(2026, 11, 4, 23, 59)),
        ("s05", c, "erase", p, datetime(2026, 11, 5, 0, 0)),
        ("s06", None, "retention_purge", q, datetime(2026, 11, 6, 3)),
    ]
    for sid, who, what, project, at in rows:
        db.session.add(AuditLog(at=at, user_id=who, action=what, subject_type="t", subject_id=sid, project_id=project))
    db.session.commit()
    return two_projects


def _csv_ids(web, admin, **query) -> list[str]:
    response = web.get("/staff/admin/audit.csv", admin, query_string=query)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    return sorted(r["subject_id"] for r in rows if r["subject_id"].startswith("s0"))


# (filters, the subject ids a person reading the table above expects)
CASES = [
    ({}, ["s01", "s02", "s03", "s04", "s05", "s06"]),
    ({"who": "coordinator"}, ["s01", "s02", "s05"]),
    ({"what": "export"}, ["s02", "s04"]),
    ({"project": "other"}, ["s03", "s04", "s06"]),
    ({"since": "2026-11-04"}, ["s04", "s05", "s06"]),
    ({"until": "2026-11-04"}, ["s01", "s02", "s03", "s04"]),
    ({"since": "2026-11-02", "until": "2026-11-04", "what": "view"}, ["s03"]),
    ({"who": "other", "project": "mine"}, []),
]


@pytest.mark.parametrize(("filters", "expected"), CASES)
def test_filters(web, log, filters, expected):
    stands_for = {
        ("who", "coordinator"): str(log["coordinator"].id),
        ("who", "other"): str(log["other"].id),
        ("project", "mine"): log["project_id"],
        ("project", "other"): log["other_project_id"],
    }
    query = {k: stands_for.get((k, v), v) for k, v in filters.items()}
    assert _csv_ids(web, log["admin"], **query) == expected
    page = web.get("/staff/admin/audit", log["admin"], query_string=query)
    assert page.status_code == 200
    shown = {sid for sid in ("s01", "s02", "s03", "s04", "s05", "s06") if f"t {sid}" in page.get_data(as_text=True)}
    assert shown == set(expected)


def test_the_export_is_itself_audited(web, log):
    from server.extensions import db
    from server.staff.models import AuditLog

    _csv_ids(web, log["admin"], what="export")
    row = db.session.execute(
        db.select(AuditLog).where(AuditLog.subject_type == "audit_log").order_by(AuditLog.id.desc())
    ).scalar()
    assert row is not None and row.action == "export" and row.user_id == log["admin"].id
    assert '"what":"export"' in row.detail


def test_pages_of_fifty_newest_first(web, log):
    from server.extensions import db
    from server.staff.models import AuditLog

    for n in range(60):
        db.session.add(
            AuditLog(
                at=datetime(2026, 10, 1, 0, n), user_id=None, action="view", subject_type="t", subject_id=f"p{n:02d}"
            )
        )
    db.session.commit()
    first = web.get("/staff/admin/audit", log["admin"]).get_data(as_text=True)
    assert "66 entries. Page 1 of 2." in first
    assert "t s06" in first and "t p59" in first and "t p15" not in first
    second = web.get("/staff/admin/audit", log["admin"], query_string={"page": "2"}).get_data(as_text=True)
    assert "t p15" in second and "t s06" not in second
    # Silly page numbers land on a real page instead of failing.
    for silly in ("99999999999999999999", "-3", "x"):
        assert web.get("/staff/admin/audit", log["admin"], query_string={"page": silly}).status_code == 200


def test_a_bad_date_is_shown_by_its_field(web, log):
    response = web.get("/staff/admin/audit", log["admin"], query_string={"since": "last week"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="since-error"' in page and "Enter the first day as a date" in page
