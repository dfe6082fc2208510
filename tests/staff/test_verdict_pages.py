"""The verdict as a coordinator reads it: on the results page, and the same in the learning log."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from tests.staff.conftest import add_answer, add_participant


def _rate(pid, person, rung):
    from server.domain import projects
    from server.domain.types import ladder_rating_id

    projects.write_record(
        "ladder_rating",
        ladder_rating_id(person, pid, "design"),
        {
            "participant_id": person,
            "project_id": pid,
            "stage": "design",
            "rung": rung,
            "comment": None,
            "mode": "self",
            "recorded_by": None,
        },
    )


def _visit(two_projects):
    """A child and a professional agree with all 12 statements; a parent with 4 of them."""
    from server.domain.models import Statement
    from server.extensions import db

    pid = two_projects["project_id"]
    statements = (
        db.session.execute(select(Statement.id).where(Statement.project_id == pid, Statement.active.is_(True)))
        .scalars()
        .all()
    )
    assert len(statements) == 12
    child, pro, parent = (add_participant(pid, r) for r in ("child", "professional", "parent_carer"))
    for i, statement in enumerate(statements):
        add_answer(pid, child, statement, "agree")
        add_answer(pid, pro, statement, "agree")
        add_answer(pid, parent, statement, ("agree", "not_sure", "disagree")[i // 4])
    _rate(pid, child, 1)
    _rate(pid, parent, 1)
    _rate(pid, pro, 3)
    db.session.commit()
    return pid


def _text(response):
    assert response.status_code == 200
    # The words a reader hears, without the tags between them.
    words = re.sub(r"<[^>]+>", "", response.get_data(as_text=True))
    return html.unescape(" ".join(words.split()))


def test_results_page_says_partly_and_who_is_not_yet_agreeing(web, two_projects):
    pid = _visit(two_projects)
    page = _text(web.get(f"/staff/projects/{pid}/stages/design/results", two_projects["coordinator"]))
    assert "Partly." in page
    assert "1 of 1 parent or carer does not yet agree with most statements" in page
    assert "and 5 more." in page  # 8 statements lack the parent's agreement; 3 are named
    assert "Residents put this stage 2 rungs lower on the ladder than professionals do." in page
    # 1 of 3 disagree (33%) with the parent's four "disagree" statements: each is flagged.
    assert page.count("1 of 3 disagree") == 4
    assert "every partner agrees with all or most of the statements" in page
    assert "Not yet: the rule is not met yet" not in page


def test_empty_stage_says_no_answers_yet(web, two_projects):
    pid = two_projects["project_id"]
    page = _text(web.get(f"/staff/projects/{pid}/stages/design/results", two_projects["coordinator"]))
    assert "No answers yet. Nobody has answered the checklist for this stage yet." in page
    assert "Every statement here has the agreement" not in page


def test_learning_log_gives_the_same_verdict(web, two_projects):
    pid = _visit(two_projects)
    response = web.post(
        f"/staff/projects/{pid}/reviews/new",
        two_projects["coordinator"],
        data={"stage": "design", "date": "2026-11-01", "set_out": "A visit"},
    )
    assert response.status_code == 302
    log = _text(web.get(f"/staff/projects/{pid}/reviews", two_projects["coordinator"]))
    assert "Partly. 1 of 1 parent or carer does not yet agree with most statements" in log
    assert "Statements lacking agreement: none" not in log
