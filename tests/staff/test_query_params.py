"""Query parameters on staff pages: a sensible page for anything typed into the address bar."""

import pytest

from tests.staff.conftest import add_feedback, add_participant

# What someone might put after ?page= -> the page shown, of 2 (51 entries, 50 a page).
PAGES = [
    ("2", 2),
    ("99999999999999999999", 2),  # past the end: the last page, not an overflow
    ("0", 1),
    ("-3", 1),
    ("abc", 1),
    ("", 1),
    ("1.5", 1),
    ("9" * 5000, 1),  # too many digits for Python to read as a number
]


@pytest.fixture
def two_pages(two_projects):
    from server.extensions import db

    pid = two_projects["project_id"]
    person = add_participant(pid, "child")
    for n in range(51):
        add_feedback(pid, person, f"Idea number {n}")
    db.session.commit()
    return two_projects


@pytest.mark.parametrize(("page", "shown"), PAGES)
def test_any_page_number_shows_a_page(web, two_pages, page, shown):
    pid = two_pages["project_id"]

    response = web.get(
        f"/staff/projects/{pid}/stages/design/feedback", two_pages["coordinator"], query_string={"page": page}
    )

    assert response.status_code == 200
    assert f"page {shown} of 2" in response.get_data(as_text=True)
