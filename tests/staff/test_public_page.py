"""The public "You said, we did" page: off until published, staff-written text only."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

from tests.staff.conftest import add_feedback, add_participant

ATOM = "{http://www.w3.org/2005/Atom}"
FAMILY_WORDS = "Please run the club on Saturdays, my son Jamie cannot come on weekdays"


def _action(pid, feedback_ids, heard, done, status, timeline):
    from server.domain import projects

    aid = str(uuid.uuid4())
    projects.write_record(
        "action",
        aid,
        {
            "project_id": pid,
            "stage": "design",
            "heard": heard,
            "done": done,
            "status": status,
            "reason": None,
            "feedback_ids": feedback_ids,
            "timeline": timeline,
        },
    )
    return aid


def _scene(two_projects):
    """A family's feedback linked to an action, and a second feedback not answered yet."""
    from server.extensions import db

    pid = two_projects["project_id"]
    person = add_participant(pid, "parent_carer")  # display name "Sam Example"
    answered = add_feedback(pid, person, FAMILY_WORDS)
    waiting = add_feedback(pid, person, "The forms are too long")
    action = _action(
        pid,
        [answered],
        "Families asked for weekend sessions.",
        "We opened a Saturday club at the library.",
        "done",
        [
            {"at": "2026-11-02T10:00:00+00:00", "status": "in_progress", "note": "Room booked."},
            {"at": "2026-11-20T10:00:00+00:00", "status": "done", "note": ""},
        ],
    )
    db.session.commit()
    return pid, person, [answered, waiting], action


def _publish(web, two_projects, slug="short-breaks", published="y"):
    data = {"slug": slug, "intro": "What we changed because of you."}
    if published:
        data["published"] = published
    return web.post(f"/staff/projects/{two_projects['project_id']}/public", two_projects["coordinator"], data=data)


def test_page_and_feed_are_404_until_published(web, two_projects):
    _scene(two_projects)
    assert web.get("/p/short-breaks").status_code == 404
    assert _publish(web, two_projects, published=None).status_code == 302
    assert web.get("/p/short-breaks").status_code == 404
    assert web.get("/p/short-breaks/feed.atom").status_code == 404
    assert _publish(web, two_projects).status_code == 302
    assert web.get("/p/short-breaks").status_code == 200
    assert web.get("/p/short-breaks/feed.atom").status_code == 200
    assert web.get("/p/nothing-here").status_code == 404


def test_bad_address_is_refused_next_to_the_field_and_nothing_saved(web, two_projects):
    from server.extensions import db
    from server.public.models import PublicPage

    response = _publish(web, two_projects, slug="Short Breaks!")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert 'id="slug-error"' in text and "Use only small letters, numbers and single hyphens" in text
    assert db.session.get(PublicPage, two_projects["project_id"]) is None


def test_another_project_cannot_take_the_same_address(web, two_projects):
    assert _publish(web, two_projects).status_code == 302
    response = web.post(
        f"/staff/projects/{two_projects['other_project_id']}/public",
        two_projects["other"],
        data={"slug": "short-breaks", "published": "y"},
    )
    assert response.status_code == 400
    assert "Another project uses this web address" in response.get_data(as_text=True)


def test_coordinator_of_another_project_cannot_change_it(web, two_projects):
    response = web.post(
        f"/staff/projects/{two_projects['project_id']}/public",
        two_projects["other"],
        data={"slug": "taken-over", "published": "y"},
    )
    assert response.status_code in (403, 404)


def test_page_shows_actions_timeline_and_response_figures(web, two_projects):
    _scene(two_projects)
    _publish(web, two_projects)
    text = " ".join(web.get("/p/short-breaks").get_data(as_text=True).split())
    assert "Families asked for weekend sessions." in text
    assert "We opened a Saturday club at the library." in text
    assert "2 November 2026</time>: In progress. Room booked." in text
    assert "20 November 2026</time>: Done" in text
    # 1 of the 2 feedback entries is linked to an action: 50%.
    assert "<strong>50%</strong> of the feedback we got has had a response (1 of 2)" in text
    assert "<script" not in text


def test_no_participant_text_name_or_id_in_page_or_feed(web, two_projects):
    pid, person, feedback_ids, _ = _scene(two_projects)
    _publish(web, two_projects)
    page = web.get("/p/short-breaks").get_data(as_text=True)
    feed = web.get("/p/short-breaks/feed.atom").get_data(as_text=True)
    for body in (page, feed):
        for secret in (FAMILY_WORDS, "Jamie", "The forms are too long", "Sam Example", person, *feedback_ids):
            assert secret not in body


def test_feed_is_atom_with_one_entry_per_action(web, two_projects):
    _, _, _, action = _scene(two_projects)
    _publish(web, two_projects)
    response = web.get("/p/short-breaks/feed.atom")
    assert response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.get_data())
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}id").text for e in entries] == [f"urn:uuid:{action}"]
    assert entries[0].find(f"{ATOM}title").text == "You said: Families asked for weekend sessions."


def _translate_title(pid, title, summary=""):
    from server.domain import projects
    from server.extensions import db

    projects.set_translations("project", pid, {"ur": {"title": title, "summary": summary}})
    db.session.commit()


def test_page_has_a_line_in_each_of_the_projects_languages(web, two_projects):
    pid, *_ = _scene(two_projects)
    _translate_title(pid, "ہفتے کا کلب", "ہم نے لائبریری میں کلب کھولا")
    _publish(web, two_projects)
    html = web.get("/p/short-breaks").get_data(as_text=True)
    assert '<div lang="ur" dir="rtl">' in html
    assert "ہفتے کا کلب" in html and "ہم نے لائبریری میں کلب کھولا" in html
    assert "کے بارے میں لوگوں نے ہمیں کیا بتایا" in html  # the fixed line, in Urdu


def test_page_without_translations_has_no_language_section(web, two_projects):
    _scene(two_projects)
    _publish(web, two_projects)
    assert "In other languages" not in web.get("/p/short-breaks").get_data(as_text=True)


def test_poster_has_a_line_in_each_of_the_projects_languages(web, two_projects):
    from server.domain import codes
    from server.extensions import db

    pid = two_projects["project_id"]
    code = codes.new_join_code(pid)
    db.session.commit()
    before = web.get(f"/staff/projects/{pid}/poster", two_projects["coordinator"]).get_data(as_text=True)
    assert 'lang="ur"' not in before
    _translate_title(pid, "ہفتے کا کلب")
    html = web.get(f"/staff/projects/{pid}/poster", two_projects["coordinator"]).get_data(as_text=True)
    assert '<li lang="ur" dir="rtl"><strong>ہفتے کا کلب</strong>:' in html
    assert f"ایپ کھول کر یہ کوڈ لکھیں: {code}" in html


def _many_actions(two_projects, count=51):
    """``count`` actions, "Heard number 00." onwards: 51 fill page 1 (50 a page) and put 1 on page 2."""
    from server.extensions import db

    pid = two_projects["project_id"]
    for n in range(count):
        _action(pid, [], f"Heard number {n:02d}.", "", "planned", [])
    db.session.commit()


def test_many_actions_come_fifty_a_page_newest_first(web, two_projects):
    _many_actions(two_projects)
    _publish(web, two_projects)
    first = web.get("/p/short-breaks").get_data(as_text=True)
    assert first.count('class="action"') == 50 and "Page 1 of 2" in first
    assert "Older actions" in first and "Newer actions" not in first
    second = web.get("/p/short-breaks?page=2").get_data(as_text=True)
    assert second.count('class="action"') == 1 and "Newer actions" in second
    shown = {n for n in range(51) if f"Heard number {n:02d}." in first + second}
    assert shown == set(range(51))  # every action on one page or the other
    assert web.get("/p/short-breaks/feed.atom").get_data(as_text=True).count("<entry>") == 50


# What a reader might follow or type after ?page= -> the page shown, of 2 (the same as on staff lists).
ODD_PAGES = [
    ("0", 1),
    ("abc", 1),
    ("٣", 1),  # an Arabic-Indic three: int() reads it, but the page's own links only write 0-9
    ("²", 1),  # a superscript two: str.isdigit() says yes, int() says no
    ("-1", 1),
    ("", 1),
    ("99999999999999999999999", 2),  # far past the end: the last page, not an overflow in OFFSET
    ("3", 2),  # an old link from when the list was longer: the last page, not "not found"
]


def test_any_page_number_shows_a_page_never_an_error(web, two_projects):
    _many_actions(two_projects)
    _publish(web, two_projects)
    for asked, shown in ODD_PAGES:
        response = web.get("/p/short-breaks", query_string={"page": asked})
        assert response.status_code == 200, asked
        text = response.get_data(as_text=True)
        assert f"Page {shown} of 2" in text, asked
        # Page 1 holds 50 actions and links only to older ones; page 2 holds the last 1 and links back.
        on_first = shown == 1
        assert text.count('class="action"') == (50 if on_first else 1), asked
        assert ("Older actions" in text, "Newer actions" in text) == (on_first, not on_first), asked


def test_feed_ignores_page_and_gives_the_newest_fifty(web, two_projects):
    _many_actions(two_projects)
    _publish(web, two_projects)
    plain = web.get("/p/short-breaks/feed.atom")
    for asked in ("2", "3", "abc", "99999999999999999999999"):
        response = web.get("/p/short-breaks/feed.atom", query_string={"page": asked})
        assert response.status_code == 200 and response.mimetype == "application/atom+xml", asked
        assert response.get_data(as_text=True).count("<entry>") == 50, asked
        assert response.get_data() == plain.get_data(), asked
