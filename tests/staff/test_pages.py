"""What the coordinator pages do: projects, checklist, actions and notifications, log, exports."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select, update

from tests.staff.conftest import add_answer, add_feedback, add_participant, statement_ids, subscribe


def _count(model, *where):
    from server.extensions import db

    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar()


def _audits(action=None):
    from server.extensions import db
    from server.staff.models import AuditLog

    query = select(AuditLog).order_by(AuditLog.id)
    if action:
        query = query.where(AuditLog.action == action)
    return db.session.execute(query).scalars().all()


# ---------------------------------------------------------------- projects and checklist


def test_create_project_with_default_checklist_and_join_code(web, two_projects):
    from server.domain.models import JoinCode, Project, ProjectStaff, Statement

    coordinator = two_projects["coordinator"]
    response = web.post(
        "/staff/projects/new",
        coordinator,
        data={"title": "Play schemes", "summary": "Holiday play.", "target_rung": "3"},
    )
    assert response.status_code == 302
    project_id = response.headers["Location"].rsplit("/", 1)[1]
    from server.extensions import db

    project = db.session.get(Project, project_id)
    assert (project.title, project.target_rung, project.current_stage) == (
        "Play schemes",
        3,
        "design",
    )
    assert _count(Statement, Statement.project_id == project_id) == 12
    assert (
        _count(
            ProjectStaff,
            ProjectStaff.project_id == project_id,
            ProjectStaff.user_id == coordinator.id,
        )
        == 1
    )
    code = db.session.execute(select(JoinCode.code).where(JoinCode.project_id == project_id)).scalar()
    page = web.get(f"/staff/projects/{project_id}", coordinator).get_data(as_text=True)
    assert code in page and "Design (current stage)" in page


def test_stage_switch_and_join_code_rotation(web, two_projects):
    from server.domain.codes import active_join_code, new_join_code
    from server.domain.models import Project
    from server.extensions import db

    pid, coordinator = two_projects["project_id"], two_projects["coordinator"]
    old = new_join_code(pid)
    db.session.commit()
    assert web.post(f"/staff/projects/{pid}/stage", coordinator, data={"stage": "review"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Project, pid).current_stage == "review"
    assert web.post(f"/staff/projects/{pid}/join-code", coordinator).status_code == 302
    db.session.expire_all()
    new = active_join_code(pid).code
    assert new != old
    assert new in web.get(f"/staff/projects/{pid}", coordinator).get_data(as_text=True)


def test_editing_a_statement_makes_a_new_version_and_keeps_answers(web, two_projects):
    from server.domain.models import Statement
    from server.extensions import db
    from server.staff.results import checklist

    pid, coordinator = two_projects["project_id"], two_projects["coordinator"]
    old = (
        db.session.execute(select(Statement).where(Statement.project_id == pid).order_by(Statement.order))
        .scalars()
        .first()
    )
    child = add_participant(pid, "child")
    add_answer(pid, child, old.id, "agree")
    db.session.commit()
    response = web.post(
        f"/staff/projects/{pid}/statements/{old.id}/edit",
        coordinator,
        data={
            "principle": old.principle,
            "text": old.text,
            "easy_read": "I felt welcome.",
            "symbol": old.symbol,
            "order": str(old.order),
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    new = db.session.execute(select(Statement).where(Statement.replaces == old.id)).scalar_one()
    assert (new.version, new.active, new.easy_read) == (2, True, "I felt welcome.")
    assert db.session.get(Statement, old.id).active is False
    # The answer given to version 1 still counts for the statement.
    _, principles = checklist(db.session, pid, "design")
    counted = {s.id: s.agree for p in principles for s in p.statements}
    assert counted[new.id] == 1 and old.id not in counted
    # Stop asking it: it leaves the checklist.
    response = web.post(f"/staff/projects/{pid}/statements/{new.id}/deactivate", coordinator)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Statement, new.id).active is False


# ---------------------------------------------------------------- You said, we did


def _new_action(web, two_projects, **data):
    values = {
        "stage": "design",
        "heard": "More Saturday sessions",
        "done": "",
        "status": "planned",
        "reason": "",
        **data,
    }
    response = web.post(
        f"/staff/projects/{two_projects['project_id']}/actions/new", two_projects["coordinator"], data=values
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def test_linking_feedback_queues_notifications_in_the_same_transaction(web, two_projects):
    from server.domain.models import ActionFeedback
    from server.extensions import db
    from server.push.models import Notification
    from server.staff.writes import link_feedback
    from sync.schema import records

    pid = two_projects["project_id"]
    child, parent = add_participant(pid, "child"), add_participant(pid, "parent_carer")
    subscribe(child, pid)
    subscribe(parent, pid)
    f1 = add_feedback(pid, child, "Saturday clubs please")
    f2 = add_feedback(pid, parent, "Saturdays work for us")
    db.session.commit()
    action_id = _new_action(web, two_projects)

    # Rolled back: neither the link nor a notification is left behind.
    with web.app.test_request_context():
        from flask_login import login_user

        login_user(two_projects["coordinator"])
        link_feedback(pid, action_id, [f1])
        assert _count(Notification, Notification.action_id == action_id) == 1
        db.session.rollback()
    assert _count(ActionFeedback, ActionFeedback.action_id == action_id) == 0
    assert _count(Notification) == 0

    response = web.post(
        f"/staff/projects/{pid}/stages/design/feedback/link",
        two_projects["coordinator"],
        data={"action_id": action_id, "feedback_ids": [f1, f2]},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert _count(ActionFeedback, ActionFeedback.action_id == action_id) == 2
    rows = db.session.execute(select(Notification).order_by(Notification.participant_id)).scalars().all()
    assert {(n.participant_id, n.event, n.contribution_id, n.status_value) for n in rows} == {
        (child, "linked", f1, "planned"),
        (parent, "linked", f2, "planned"),
    }
    # The action is a sync record that devices pull, with the links in it.
    fields = json.loads(db.session.execute(select(records.c.fields).where(records.c.id == action_id)).scalar())
    assert sorted(fields["feedback_ids"]["v"]) == sorted([f1, f2])

    # Linking again adds nothing and notifies nobody twice.
    web.post(
        f"/staff/projects/{pid}/stages/design/feedback/link",
        two_projects["coordinator"],
        data={"action_id": action_id, "feedback_ids": [f1]},
    )
    assert _count(Notification) == 2


def test_status_changes_build_a_dated_timeline_and_notify(web, two_projects):
    from server.domain.models import Action
    from server.extensions import db
    from server.push.models import Notification

    pid, coordinator = two_projects["project_id"], two_projects["coordinator"]
    child = add_participant(pid, "child")
    subscribe(child, pid)
    fid = add_feedback(pid, child, "A quiet room")
    db.session.commit()
    action_id = _new_action(web, two_projects, heard="A quiet room")
    web.post(
        f"/staff/projects/{pid}/stages/design/feedback/link",
        coordinator,
        data={"action_id": action_id, "feedback_ids": [fid]},
    )
    status_url = f"/staff/projects/{pid}/actions/{action_id}/status"
    moves = (
        {"status": "in_progress", "note": "Booked the room"},
        {"status": "not_possible", "reason": "The building is closed"},
    )
    assert [web.post(status_url, coordinator, data=move).status_code for move in moves] == [302, 302]
    db.session.expire_all()
    action = db.session.get(Action, action_id)
    timeline = json.loads(action.timeline)
    assert [e["status"] for e in timeline] == ["planned", "in_progress", "not_possible"]
    assert all(e["at"] for e in timeline) and timeline[1]["note"] == "Booked the room"
    assert (action.status, action.reason) == ("not_possible", "The building is closed")
    events = db.session.execute(select(Notification.event, Notification.status_value).order_by(Notification.id)).all()
    assert [tuple(e) for e in events] == [
        ("linked", "planned"),
        ("status", "in_progress"),
        ("status", "not_possible"),
    ]
    page = web.get(f"/staff/projects/{pid}/actions/{action_id}", coordinator).get_data(as_text=True)
    assert "The building is closed" in page and "Booked the room" in page and "A quiet room" in page


def _rows_of_table(page: str, caption: str) -> dict[str, str]:
    """A two-column table of a page as a coordinator reads it: row heading -> cell text."""
    table = re.search(rf"<caption>{re.escape(caption)}</caption>(.*?)</table>", page, re.S)
    assert table, f"no table {caption!r} on the page"
    rows = re.findall(r"<th scope=\"row\">(.*?)</th>\s*<td>(.*?)</td>", table.group(1), re.S)
    return {heading: cell.strip() for heading, cell in rows}


def test_results_show_the_loop_closing(web, two_projects):
    from server.domain import stage_counts
    from server.domain.models import ActionFeedback, Feedback
    from server.extensions import db

    pid, coordinator = two_projects["project_id"], two_projects["coordinator"]
    child = add_participant(pid, "child")
    soon, later = add_feedback(pid, child, "One"), add_feedback(pid, child, "Two")
    add_feedback(pid, child, "Three")  # never answered
    db.session.commit()
    # Each linked piece of feedback was received on the 1st at 10:00 and first linked to
    # an action 12 and 60 hours later: the middle of the two is 36 hours.
    received = datetime(2026, 11, 1, 10, 0)
    for feedback_id, hours, status in ((soon, 12, "planned"), (later, 60, "done")):
        action_id = _new_action(web, two_projects)
        web.post(
            f"/staff/projects/{pid}/stages/design/feedback/link",
            coordinator,
            data={"action_id": action_id, "feedback_ids": [feedback_id]},
        )
        web.post(f"/staff/projects/{pid}/actions/{action_id}/status", coordinator, data={"status": status})
        db.session.get(Feedback, feedback_id).received_at = received
        db.session.execute(
            update(ActionFeedback)
            .where(ActionFeedback.feedback_id == feedback_id)
            .values(linked_at=received + timedelta(hours=hours))
        )
        db.session.commit()
    # The times were set by hand, not through the app: make the kept counts again from the
    # rows, as docs/coordinators.md says to after loading data by hand.
    stage_counts.rebuild(db.session.connection(), pid)
    db.session.commit()

    page = web.get(f"/staff/projects/{pid}/stages/design/results", coordinator)
    assert page.status_code == 200
    loop = _rows_of_table(page.get_data(as_text=True), "Feedback in this stage and what came of it")
    assert loop == {
        "Feedback received": "3",
        "Linked to an action": "2 (67%)",
        "Actions answering it": "2",
        "Of those, done": "1 (50%)",
        "Middle time from feedback to its first action": "36.0 hours",
    }


# ---------------------------------------------------------------- privacy: audit and exports


def test_viewing_feedback_is_audited(web, two_projects):
    pid, coordinator = two_projects["project_id"], two_projects["coordinator"]
    add_feedback(pid, add_participant(pid, "child"), "Secret worries")
    from server.extensions import db

    db.session.commit()
    page = web.get(f"/staff/projects/{pid}/stages/design/feedback", coordinator).get_data(as_text=True)
    assert "Secret worries" in page
    assert "Sam Example" not in page  # display names stay out of staff lists
    entry = _audits("view")[-1]
    assert (entry.user_id, entry.subject_type, entry.subject_id) == (
        coordinator.id,
        "feedback",
        pid,
    )
    assert "Secret worries" not in entry.detail
    # Aggregated results are not personal data: no audit entry.
    before = len(_audits())
    web.get(f"/staff/projects/{pid}/stages/design/results", coordinator)
    assert len(_audits()) == before


def test_exports_are_pseudonymous_and_audited(web, two_projects):
    from server.extensions import db

    pid, coordinator = two_projects["project_id"], two_projects["coordinator"]
    child = add_participant(pid, "child")
    [statement_id] = statement_ids(pid, limit=1)
    add_answer(pid, child, statement_id, "disagree")
    add_feedback(pid, child, '=HYPERLINK("http://evil")')
    db.session.commit()

    response = web.get(f"/staff/projects/{pid}/export/answers.csv", coordinator)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Answer id", "Participant (pseudonymous id)", "Role"]
    assert rows[1][1:3] == [child, "Child"] and rows[1][8] == "Disagree"
    feedback = web.get(f"/staff/projects/{pid}/export/feedback.csv", coordinator).get_data(as_text=True)
    assert "Sam Example" not in feedback
    assert "'=HYPERLINK" in feedback  # a formula is defused

    response = web.get(f"/staff/projects/{pid}/export/project.xlsx", coordinator)
    book = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    assert book.sheetnames == ["Summary", "Answers", "Ladder ratings", "Feedback", "Actions"]
    assert [c.value for c in next(book["Answers"].iter_rows(max_row=1))][:2] == [
        "Answer id",
        "Participant (pseudonymous id)",
    ]
    book.close()

    exports = [(a.subject_type, json.loads(a.detail)["format"]) for a in _audits("export")]
    assert exports == [("answers", "csv"), ("feedback", "csv"), ("project", "xlsx")]


def test_withdrawn_consent_leaves_results_and_exports(web, two_projects):
    from server.domain import projects
    from server.domain.types import consent_id
    from server.extensions import db
    from server.staff.results import checklist

    pid = two_projects["project_id"]
    child = add_participant(pid, "child")
    [statement_id] = statement_ids(pid, limit=1)
    add_answer(pid, child, statement_id, "agree")
    projects.write_record("consent", consent_id(child, pid), {"withdrawn_at": "2026-11-20T10:00:00+00:00"})
    db.session.commit()
    assert checklist(db.session, pid, "design")[0].partners == 0
    exported = web.get(f"/staff/projects/{pid}/export/answers.csv", two_projects["coordinator"]).get_data(as_text=True)
    assert child not in exported


# ---------------------------------------------------------------- learning log


def test_reviews_carry_a_snapshot_and_list_newest_first(web, two_projects):
    from server.domain.models import Review
    from server.extensions import db

    pid, coordinator = two_projects["project_id"], two_projects["coordinator"]
    for day, text in (("2026-10-01", "First review"), ("2026-11-01", "Second review")):
        response = web.post(
            f"/staff/projects/{pid}/reviews/new",
            coordinator,
            data={
                "stage": "design",
                "date": day,
                "set_out": text,
                "learned": "Go slower",
                "role_child": "2",
                "role_professional": "3",
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)
    review = db.session.execute(select(Review).order_by(Review.date.desc())).scalars().first()
    snapshot = json.loads(review.snapshot)
    assert snapshot["stage"] == "design" and snapshot["achievement"]["level"] == "not_yet"
    assert json.loads(review.roles) == {"child": 2, "professional": 3}
    page = web.get(f"/staff/projects/{pid}/reviews", coordinator).get_data(as_text=True)
    assert page.index("Second review") < page.index("First review")
    detail = web.get(f"/staff/projects/{pid}/reviews/{review.id}", coordinator).get_data(as_text=True)
    assert "Go slower" in detail and "No answers yet" in detail


def test_printable_report_and_charts_need_no_script_or_inline_style(web, two_projects):
    pid = two_projects["project_id"]
    for url in (
        f"/staff/projects/{pid}/stages/design/report",
        f"/staff/projects/{pid}/stages/design/results",
    ):
        page = web.get(url, two_projects["coordinator"]).get_data(as_text=True)
        assert "<script" not in page and "style=" not in page and "<style" not in page
        assert page.count('role="img"') == 5  # four principles and the ladder
        assert "<title id=" in page and "<table" in page


def test_results_page_is_never_stale(web, two_projects):
    """The page's cache is keyed by the change feed's head: any merge shows at once."""
    from server.extensions import db

    pid, coordinator = two_projects["project_id"], two_projects["coordinator"]
    url = f"/staff/projects/{pid}/stages/design/results"
    fid = add_feedback(pid, add_participant(pid, "child"), "Later start please")
    db.session.commit()
    assert "<td>0 (0%)</td>" in web.get(url, coordinator).get_data(as_text=True)
    action_id = _new_action(web, two_projects)
    web.post(
        f"/staff/projects/{pid}/stages/design/feedback/link",
        coordinator,
        data={"action_id": action_id, "feedback_ids": [fid]},
    )
    assert "<td>1 (100%)</td>" in web.get(url, coordinator).get_data(as_text=True)


def test_comments_page_shows_comments_and_is_audited(web, two_projects):
    from server.extensions import db

    pid, coordinator = two_projects["project_id"], two_projects["coordinator"]
    child = add_participant(pid, "child")
    [statement_id] = statement_ids(pid, limit=1)
    add_answer(pid, child, statement_id, "disagree", comment="Nobody asked me")
    db.session.commit()
    page = web.get(f"/staff/projects/{pid}/stages/design/comments", coordinator)
    text = page.get_data(as_text=True)
    assert "Nobody asked me" in text and "Disagree" in text and "Sam Example" not in text
    entry = _audits("view")[-1]
    assert (entry.subject_type, entry.subject_id, entry.user_id) == ("answers", pid, coordinator.id)
