"""Actions after they are made: edit, unlink, delete (all audited), progress updates, replies."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from server.languages import LANGUAGES
from server.push.sender import payload_for
from tests.staff.conftest import add_feedback, add_participant, subscribe


def _action(web, two_projects, **extra):
    pid = two_projects["project_id"]
    data = {"stage": "design", "heard": "Saturdays", "done": "", "status": "planned", **extra}
    response = web.post(f"/staff/projects/{pid}/actions/new", two_projects["coordinator"], data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[-1]


def _notifications():
    from server.extensions import db
    from server.push.models import Notification

    return db.session.execute(
        select(Notification.participant_id, Notification.event, Notification.status_value).order_by(Notification.id)
    ).all()


def _audits(action):
    from server.extensions import db
    from server.staff.models import AuditLog

    return db.session.execute(select(AuditLog.action).where(AuditLog.action == action)).scalars().all()


def _family(two_projects, text="More Saturday clubs"):
    pid = two_projects["project_id"]
    person = add_participant(pid, "parent_carer")
    subscribe(person, pid)
    fid = add_feedback(pid, person, text)
    from server.extensions import db

    db.session.commit()
    return person, fid


def test_reply_with_an_action_links_the_feedback_and_says_only_heard(web, two_projects):
    """An action recorded as Done and linked today sends the 'heard' message, never the done one."""
    from server.domain.models import ActionFeedback
    from server.extensions import db

    person, fid = _family(two_projects)
    pid = two_projects["project_id"]
    form = web.get(f"/staff/projects/{pid}/actions/new?feedback={fid}", two_projects["coordinator"])
    assert "More Saturday clubs" in form.get_data(as_text=True)
    response = web.post(
        f"/staff/projects/{pid}/actions/new?feedback={fid}",
        two_projects["coordinator"],
        data={"stage": "design", "heard": "Saturdays", "done": "We opened a club", "status": "done"},
    )
    assert response.status_code == 302
    aid = response.headers["Location"].rsplit("/", 1)[-1]
    assert db.session.get(ActionFeedback, (aid, fid)) is not None
    assert _notifications() == [(person, "linked", "done")]
    sent = json.loads(payload_for("linked", "done", fid, aid))
    assert (sent["title"], sent["body"]) == (
        "Your feedback was heard",
        "It is now part of an action. Tap to see what is happening.",
    )


def test_done_message_says_the_contribution_made_a_difference():
    sent = json.loads(payload_for("status", "done", "f", "a"))
    assert sent["title"] == "Your contribution made a difference"
    assert sent["line"] == "done"  # the phone shows this line in the family's language


def _catalogue(code: str) -> dict[str, str]:
    """The notification words the service worker shows (pwa/js/i18n/push.js), read by Node."""
    import subprocess
    from pathlib import Path

    module = Path(__file__).parents[2] / "pwa" / "js" / "i18n" / "push.js"
    script = f"import(process.argv[1]).then((m) => console.log(JSON.stringify(m.default[{json.dumps(code)}])))"
    words = json.loads(
        subprocess.run(["node", "-e", script, module.as_uri()], capture_output=True, text=True, check=True).stdout
    )
    catalogue = {"push.title": words["title"], "push.body": words["body"]}
    for line, (title, body) in words["lines"].items():
        catalogue[f"push.{line}.title"], catalogue[f"push.{line}.body"] = title, body
    return catalogue


@pytest.mark.parametrize("code", ["en", *LANGUAGES])
def test_every_notification_line_is_in_each_of_the_apps_languages(code):
    """Each line the server sends has its words in every catalogue; English says what the server says."""
    from server.push.sender import _DEFAULT_LINES, _LINES, line_name

    catalogue = _catalogue(code)
    lines = {line_name(key): words for key, words in _LINES.items()} | {"update": _DEFAULT_LINES}
    for line, (title, body) in lines.items():
        assert catalogue.get(f"push.{line}.title", "").strip(), (code, line)
        assert catalogue.get(f"push.{line}.body", "").strip(), (code, line)
        if code == "en":
            assert (catalogue[f"push.{line}.title"], catalogue[f"push.{line}.body"]) == (title, body)
        else:
            assert catalogue[f"push.{line}.title"] != title, (code, line)  # translated, not copied


def test_edit_changes_the_words_and_is_audited(web, two_projects):
    from server.domain.models import Action
    from server.extensions import db

    aid = _action(web, two_projects)
    url = f"/staff/projects/{two_projects['project_id']}/actions/{aid}/edit"
    bad = web.post(url, two_projects["coordinator"], data={"heard": "  ", "done": "x"})
    assert bad.status_code == 400 and 'id="heard-error"' in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Action, aid).heard == "Saturdays"
    good = web.post(url, two_projects["coordinator"], data={"heard": "Weekend clubs", "done": "Booked"})
    assert good.status_code == 302
    db.session.expire_all()
    act = db.session.get(Action, aid)
    assert (act.heard, act.done, act.status) == ("Weekend clubs", "Booked", "planned")
    assert _audits("edit") == ["edit"]


def test_unlink_takes_the_action_off_the_familys_view(web, two_projects):
    from server.auth.devices import Device
    from server.domain.access import visible_clause
    from server.domain.models import ActionFeedback
    from server.extensions import db
    from sync.schema import records

    person, fid = _family(two_projects)
    pid = two_projects["project_id"]
    aid = _action(web, two_projects)
    link = web.post(
        f"/staff/projects/{pid}/stages/design/feedback/link",
        two_projects["coordinator"],
        data={"feedback_ids": [fid], "action_id": aid},
    )
    assert link.status_code == 302
    device = db.session.execute(select(Device).where(Device.participant_id == person)).scalar_one()

    def family_sees_action():
        return (
            db.session.execute(select(records.c.id).where(records.c.id == aid, visible_clause(device))).first()
            is not None
        )

    assert family_sees_action()
    response = web.post(f"/staff/projects/{pid}/actions/{aid}/unlink/{fid}", two_projects["coordinator"])
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ActionFeedback, (aid, fid)) is None
    assert not family_sees_action()
    assert _audits("unlink") == ["unlink"]


def test_delete_asks_first_then_deletes_and_is_audited(web, two_projects):
    from server.domain.models import Action
    from server.extensions import db

    aid = _action(web, two_projects)
    url = f"/staff/projects/{two_projects['project_id']}/actions/{aid}/delete"
    ask = web.get(url, two_projects["coordinator"])
    assert ask.status_code == 200 and "Delete this action?" in ask.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Action, aid) is not None
    assert web.post(url, two_projects["coordinator"]).status_code == 302
    db.session.expire_all()
    assert db.session.get(Action, aid) is None
    assert _audits("delete") == ["delete"]


def test_progress_update_goes_on_the_timeline_and_notifies_contributors(web, two_projects):
    from server.domain.models import Action
    from server.extensions import db

    person, fid = _family(two_projects)
    pid = two_projects["project_id"]
    aid = _action(web, two_projects)
    web.post(
        f"/staff/projects/{pid}/stages/design/feedback/link",
        two_projects["coordinator"],
        data={"feedback_ids": [fid], "action_id": aid},
    )
    url = f"/staff/projects/{pid}/actions/{aid}/progress"
    empty = web.post(url, two_projects["coordinator"], data={"note": " "})
    assert empty.status_code == 400 and "Write what happened." in empty.get_data(as_text=True)
    assert web.post(url, two_projects["coordinator"], data={"note": "We booked the room."}).status_code == 302
    db.session.expire_all()
    timeline = json.loads(db.session.get(Action, aid).timeline)
    assert [(e["status"], e["note"]) for e in timeline] == [
        ("planned", "Action recorded."),
        ("planned", "We booked the room."),
    ]
    assert _notifications() == [(person, "linked", "planned"), (person, "progress", "planned")]
    page = web.get(f"/staff/projects/{pid}/actions/{aid}", two_projects["coordinator"]).get_data(as_text=True)
    assert "We booked the room." in page
    sent = json.loads(payload_for("progress", "planned", fid, aid))
    assert "We booked the room." not in json.dumps(sent) and sent["title"] == "News about your feedback"


def test_another_projects_coordinator_cannot_change_the_action(web, two_projects):
    aid = _action(web, two_projects)
    pid = two_projects["project_id"]
    for url in (f"/actions/{aid}/edit", f"/actions/{aid}/delete", f"/actions/{aid}/progress"):
        response = web.post(f"/staff/projects/{pid}{url}", two_projects["other"], data={"note": "x", "heard": "x"})
        assert response.status_code in (403, 404), url


def _linked(action_id):
    from server.domain.models import ActionFeedback
    from server.extensions import db

    return set(
        db.session.execute(select(ActionFeedback.feedback_id).where(ActionFeedback.action_id == action_id)).scalars()
    )


def test_new_action_form_links_several_pieces_of_feedback(web, two_projects):
    pid = two_projects["project_id"]
    first, fid1 = _family(two_projects, "More Saturday clubs")
    second, fid2 = _family(two_projects, "Quieter rooms, please")
    _, fid3 = _family(two_projects, "Longer holidays")
    form = web.get(f"/staff/projects/{pid}/actions/new", two_projects["coordinator"]).get_data(as_text=True)
    assert "Quieter rooms, please" in form and "Feedback this action answers" in form
    aid = _action(web, two_projects, feedback_ids=[fid1, fid2])
    assert _linked(aid) == {fid1, fid2}  # not fid3, which was not ticked
    assert sorted(_notifications()) == sorted([(first, "linked", "planned"), (second, "linked", "planned")])


def test_edit_form_links_more_feedback_and_offers_only_what_is_not_linked(web, two_projects):
    pid = two_projects["project_id"]
    _, fid1 = _family(two_projects, "More Saturday clubs")
    later, fid2 = _family(two_projects, "Quieter rooms, please")
    aid = _action(web, two_projects, feedback_ids=[fid1])
    url = f"/staff/projects/{pid}/actions/{aid}/edit"
    form = web.get(url, two_projects["coordinator"]).get_data(as_text=True)
    assert "Quieter rooms, please" in form and "More Saturday clubs" not in form
    data = {"heard": "Saturdays", "done": "", "feedback_ids": [fid2]}
    response = web.post(url, two_projects["coordinator"], data=data)
    assert response.status_code == 302
    assert _linked(aid) == {fid1, fid2}
    assert _notifications()[-1] == (later, "linked", "planned")


def test_feedback_not_offered_is_refused_next_to_the_list_and_nothing_changes(web, two_projects):
    pid = two_projects["project_id"]
    _, fid1 = _family(two_projects)
    aid = _action(web, two_projects)
    url = f"/staff/projects/{pid}/actions/{aid}/edit"
    data = {"heard": "Changed words", "done": "", "feedback_ids": [fid1, "0193a1c2-7d4e-7b3a-9f10-2c4d5e6f7a8b"]}
    response = web.post(url, two_projects["coordinator"], data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Choose feedback from the list" in html and 'href="#feedback_ids"' in html
    assert _linked(aid) == set()


def test_action_timeline_shows_dates_in_words_not_iso(web, two_projects):
    import re
    from datetime import UTC, datetime

    pid = two_projects["project_id"]
    aid = _action(web, two_projects)
    web.post(f"/staff/projects/{pid}/actions/{aid}/progress", two_projects["coordinator"], data={"note": "Room booked"})
    html = web.get(f"/staff/projects/{pid}/actions/{aid}", two_projects["coordinator"]).get_data(as_text=True)
    visible = re.sub(r"<[^>]+>", " ", html)  # the datetime attributes may stay machine-readable
    assert not re.search(r"\d{4}-\d{2}-\d{2}", visible)
    assert f"{datetime.now(UTC):%-d %B %Y} at " in visible and "Room booked" in visible
