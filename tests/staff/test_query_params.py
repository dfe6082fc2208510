"""Query parameters on staff pages: a sensible page for anything typed into the address bar.

Every paged list (the feedback list, the audit log) has 51 rows here, 50 a page, so 2 pages.
Each absurd ``?page=`` must show the same page on every list, and never fail.
"""

from datetime import datetime, timedelta

import pytest

from tests.staff.conftest import add_feedback, add_participant

# What someone might put after ?page= -> the page shown, of 2.
PAGES = [
    ("1", 1),
    ("2", 2),
    ("02", 2),
    ("3", 2),  # past the end: the last page
    ("99999999999999999999", 2),  # far past it: still the last page, not an overflow in the database
    ("9" * 5000, 2),  # more digits than Python's int() reads: still a number past the end
    ("0", 1),
    ("-1", 1),
    ("abc", 1),
    ("", 1),
    ("1.5", 1),
    (" 2", 1),
    ("+2", 1),
    ("٣", 1),  # an Arabic-Indic three: the app's own links only ever write 0-9
    ("²", 1),  # a superscript two: str.isdigit() says yes, int() says no
]

BASE = datetime(2026, 10, 1)


def _feedback_list(setup):
    """51 pieces of feedback, "Idea 00" oldest to "Idea 50" newest."""
    from server.domain.models import Feedback
    from server.extensions import db

    pid = setup["project_id"]
    person = add_participant(pid, "child")
    for n in range(51):
        fid = add_feedback(pid, person, f"Idea {n:02d}")
        db.session.execute(
            db.update(Feedback).where(Feedback.id == fid).values(received_at=BASE + timedelta(minutes=n))
        )
    db.session.commit()
    return f"/staff/projects/{pid}/stages/design/feedback", setup["coordinator"], "page {} of 2)", ">Idea {:02d}<"


def _audit_log(setup):
    """51 audit entries, "t r00" oldest to "t r50" newest, and nothing else."""
    from server.extensions import db
    from server.staff.models import AuditLog

    db.session.execute(db.delete(AuditLog))
    for n in range(51):
        db.session.add(
            AuditLog(at=BASE + timedelta(minutes=n), action="view", subject_type="t", subject_id=f"r{n:02d}")
        )
    db.session.commit()
    return "/staff/admin/audit", setup["admin"], "Page {} of 2.", "t r{:02d}<"


@pytest.mark.parametrize("paged", [_feedback_list, _audit_log], ids=["feedback", "audit"])
@pytest.mark.parametrize(("page", "shown"), PAGES)
def test_any_page_number_shows_a_page(web, two_projects, paged, page, shown):
    url, who, says, row = paged(two_projects)

    response = web.get(url, who, query_string={"page": page})

    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert says.format(shown) in text
    # Newest first: page 1 holds rows 50 down to 01, page 2 holds only row 00.
    newest, oldest = row.format(50), row.format(0)
    assert (newest in text, oldest in text) == ((True, False) if shown == 1 else (False, True))
