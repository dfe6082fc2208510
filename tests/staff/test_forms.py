"""Every form: bad input gives a clear message naming the field, and changes nothing."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from tests.staff.conftest import fill as _fill
from tests.staff.conftest import state as _state

SIXTEEN_WORDS = " ".join(f"word{n}" for n in range(16))
GOOD_STATEMENT = {
    "principle": "equality",
    "text": "I was heard.",
    "easy_read": "I was heard.",
    "symbol": "👂",
    "order": "3",
}

RUNG_MESSAGE = "Choose the rung of the ladder you aim for, from 0 to 4."
NOT_POSSIBLE_MESSAGE = "Enter the reason it is not possible."
EASY_READ_MESSAGE = "The easy-read version must be 15 words or fewer (it has 16)."


def _cases(url: str, good: dict, *bad: tuple[dict, str, str]) -> list[tuple]:
    """(url template, form data, field id the summary links to, message shown) for each
    (what is changed in the good data, field id, message)."""
    return [(url, {**good, **changes}, field_id, message) for changes, field_id, message in bad]


CASES = [
    *_cases(
        "/staff/projects/new",
        {"title": "Buses", "summary": "", "target_rung": "4"},
        ({"title": ""}, "title", "Enter a title for the project."),
        ({"title": "T" * 201}, "title", "The title must be 200 characters or fewer."),
        ({"target_rung": "9"}, "target_rung", RUNG_MESSAGE),
        ({"target_rung": "high"}, "target_rung", RUNG_MESSAGE),
    ),
    ("/staff/projects/{p}/stage", {"stage": "final"}, "stage", "Choose the current stage."),
    *_cases(
        "/staff/projects/{p}/staff",
        {},
        ({"email": ""}, "email", "Enter the email address of a staff member."),
        ({"email": "nobody@example.org"}, "email", "There is no active staff account with that email address."),
    ),
    *_cases(
        "/staff/projects/{p}/statements/new",
        GOOD_STATEMENT,
        ({"easy_read": SIXTEEN_WORDS}, "easy_read", EASY_READ_MESSAGE),
        ({"text": "  "}, "text", "Enter the statement."),
        ({"symbol": ""}, "symbol", "Enter a symbol, such as an emoji."),
        ({"order": "first"}, "order", "Enter the position as a whole number, such as 1."),
        ({"principle": "kindness"}, "principle", "Choose the principle the statement belongs to."),
    ),
    (
        "/staff/projects/{p}/statements/{s}/edit",
        {**GOOD_STATEMENT, "easy_read": SIXTEEN_WORDS},
        "easy_read",
        EASY_READ_MESSAGE,
    ),
    *_cases(
        "/staff/projects/{p}/actions/new",
        {"stage": "design", "heard": "Buses", "status": "planned"},
        ({"heard": ""}, "heard", "Enter what you heard."),
        ({"status": "not_possible"}, "reason", NOT_POSSIBLE_MESSAGE),
        ({"stage": "autumn"}, "stage", "Choose the stage."),
    ),
    *_cases(
        "/staff/projects/{p}/actions/{a}/status",
        {},
        ({"status": "not_possible", "note": ""}, "reason", NOT_POSSIBLE_MESSAGE),
        ({"status": "planned"}, "status", "The action is already “Planned”. Choose a different status."),
        ({"status": "finished"}, "status", "Choose the new status."),
    ),
    *_cases(
        "/staff/projects/{p}/stages/design/feedback/link",
        {},
        ({"action_id": "{a}"}, "feedback-list", "Choose at least one piece of feedback to link."),
        ({"action_id": "nope", "feedback_ids": "{f}"}, "action_id", "Choose the action to link the feedback to."),
    ),
    *_cases(
        "/staff/projects/{p}/reviews/new",
        {"stage": "design", "date": "2026-11-20", "set_out": "Plan"},
        ({"date": "last Tuesday"}, "date", "Enter the date of the review as year-month-day, for example 2026-11-26."),
        ({"set_out": ""}, "set_out", "Enter what you set out to do."),
        ({"role_child": "-2"}, "role_child", "Children: enter a whole number, 0 or more."),
        ({"role_parent_carer": "some"}, "role_parent_carer", "Parents and carers: enter a whole number, 0 or more."),
    ),
]


def test_bad_input_is_named_and_changes_nothing(web, scene):
    from server.domain.models import Project
    from server.extensions import db

    projects_before = db.session.execute(select(func.count()).select_from(Project)).scalar()
    before = _state()
    wrong = []
    for template, data, field_id, message in CASES:
        url = _fill(template, scene)
        response = web.post(url, scene["coordinator"], data={k: _fill(v, scene) for k, v in data.items()})
        page = html.unescape(response.get_data(as_text=True))
        if response.status_code != 400:
            wrong.append((url, data, response.status_code))
            continue
        summary = page[page.find('class="error-summary"') :]
        if 'class="error-summary"' not in page or f'href="#{field_id}"' not in summary:
            wrong.append((url, data, "no error summary linking to the field"))
        if message not in page:
            wrong.append((url, data, "message missing", message))
        if field_id != "feedback-list" and f'id="{field_id}"' not in page:
            wrong.append((url, data, "the field the summary links to is not on the page"))
    assert not wrong
    assert _state() == before
    assert db.session.execute(select(func.count()).select_from(Project)).scalar() == projects_before


@pytest.mark.parametrize("words,ok", [(15, True), (16, False)])
def test_easy_read_limit_is_fifteen_words(words, ok):
    from server.staff.forms import EASY_READ_MAX_WORDS, easy_read_words

    text = " ".join(["word"] * words)
    assert (easy_read_words(text) <= EASY_READ_MAX_WORDS) is ok


def test_forms_need_the_csrf_token_when_it_is_on(app, web, scene):
    web.client(scene["coordinator"])  # signed in before the token is required
    app.config["WTF_CSRF_ENABLED"] = True
    before = _state()
    response = web.post(
        _fill("/staff/projects/{p}/actions/new", scene),
        scene["coordinator"],
        data={"stage": "design", "heard": "Buses", "status": "planned"},
    )
    assert response.status_code == 400
    assert _state() == before
