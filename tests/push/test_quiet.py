"""Quiet hours delay notifications; they never drop them."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from server.extensions import db
from server.push.models import PENDING, Notification, utcnow
from server.push.quiet import quiet_until
from tests.push.conftest import action_done

LONDON = "Europe/London"


def _set_quiet_hours(api, person, start: str, end: str):
    """The person's phone sets their quiet hours, London time (start == end: off)."""
    return api(
        "PUT", "/api/push/quiet-hours", headers=person["headers"], json={"start": start, "end": end, "timezone": LONDON}
    )


def test_window_across_midnight():
    # 22:30 London in winter (GMT) is quiet until 08:00 the next morning.
    assert quiet_until(datetime(2026, 1, 10, 22, 30), "21:00", "08:00", LONDON) == datetime(2026, 1, 11, 8, 0)
    # 03:00: until 08:00 the same day.
    assert quiet_until(datetime(2026, 1, 10, 3, 0), "21:00", "08:00", LONDON) == datetime(2026, 1, 10, 8, 0)
    # 12:00: not quiet.
    assert quiet_until(datetime(2026, 1, 10, 12, 0), "21:00", "08:00", LONDON) is None
    # Ends are exclusive, starts inclusive.
    assert quiet_until(datetime(2026, 1, 10, 8, 0), "21:00", "08:00", LONDON) is None
    assert quiet_until(datetime(2026, 1, 10, 21, 0), "21:00", "08:00", LONDON) is not None


def test_local_time_in_summer():
    # 20:30 UTC in July is 21:30 BST: quiet until 08:00 BST = 07:00 UTC.
    assert quiet_until(datetime(2026, 7, 1, 20, 30), "21:00", "08:00", LONDON) == datetime(2026, 7, 2, 7, 0)


def test_clock_change_nights():
    # Spring forward (29 March 2026, 01:00 GMT -> 02:00 BST): 08:00 BST is 07:00 UTC.
    assert quiet_until(datetime(2026, 3, 28, 23, 0), "21:00", "08:00", LONDON) == datetime(2026, 3, 29, 7, 0)
    # Fall back (25 October 2026): 08:00 GMT is 08:00 UTC.
    assert quiet_until(datetime(2026, 10, 24, 22, 0), "21:00", "08:00", LONDON) == datetime(2026, 10, 25, 8, 0)


def test_same_day_window_and_off():
    assert quiet_until(datetime(2026, 1, 10, 13, 0), "12:00", "14:00", LONDON) == datetime(2026, 1, 10, 14, 0)
    assert quiet_until(datetime(2026, 1, 10, 13, 0), "00:00", "00:00", LONDON) is None


def _window_around_now(hours_before: float, hours_after: float) -> tuple[str, str]:
    local = datetime.now(ZoneInfo(LONDON))
    start = (local - timedelta(hours=hours_before)).strftime("%H:%M")
    end = (local + timedelta(hours=hours_after)).strftime("%H:%M")
    return start, end


def test_notification_in_quiet_hours_waits(push_app, drain, push_service, subscribed):
    person = subscribed(quiet=_window_around_now(1, 2))
    action_done(person)
    row = db.session.execute(select(Notification)).scalar_one()
    assert row.not_before > utcnow() + timedelta(minutes=100)
    assert row.next_attempt_at == row.not_before
    db.session.rollback()

    assert drain().claimed == 0  # not due yet
    assert push_service.messages(person["client_hash"]) == []
    db.session.expire_all()
    row = db.session.execute(select(Notification)).scalar_one()
    assert (row.state, row.attempts) == (PENDING, 0)  # kept, not dropped
    db.session.rollback()


def test_notification_from_a_past_quiet_window_is_sent_after_it(push_app, drain, push_service, subscribed):
    # Enqueued two hours ago inside a window that ended an hour ago: due now, and sent.
    person = subscribed(quiet=_window_around_now(2.5, -1))
    action_done(person, now=utcnow() - timedelta(hours=2))
    row = db.session.execute(select(Notification)).scalar_one()
    assert row.not_before < utcnow() and row.not_before > row.created_at
    db.session.rollback()

    assert drain().sent == 1
    assert len(push_service.messages(person["client_hash"])) == 1


def test_quiet_hours_set_after_enqueue_delay_at_send_time(push_app, drain, push_service, subscribed, api):
    person = subscribed()  # no quiet hours when the action changed
    action_done(person)
    start, end = _window_around_now(1, 2)
    response = _set_quiet_hours(api, person, start, end)
    assert response.status_code == 200

    stats = drain()
    assert (stats.delayed, stats.sent) == (1, 0)
    assert push_service.messages(person["client_hash"]) == []
    db.session.expire_all()
    row = db.session.execute(select(Notification)).scalar_one()
    assert row.state == PENDING and row.attempts == 0
    assert row.next_attempt_at > utcnow() + timedelta(minutes=100)
    db.session.rollback()


def test_default_quiet_hours_apply_without_a_setting(push_app, drain, make_participant):
    from server.push.quiet import settings_for

    participant_id, _, _ = make_participant()
    assert settings_for(db.session, [participant_id]) == {participant_id: ("21:00", "08:00", LONDON)}
    db.session.rollback()


def test_turning_quiet_hours_off_releases_what_they_held(push_app, drain, push_service, subscribed, api):
    person = subscribed(quiet=_window_around_now(1, 2))
    action_done(person)
    assert drain().sent == 0  # held until the window ends, two hours away

    response = _set_quiet_hours(api, person, "00:00", "00:00")  # off
    assert response.status_code == 200 and response.get_json()["released"] == 1
    assert drain().sent == 1
    assert len(push_service.messages(person["client_hash"])) == 1


def test_a_shorter_window_moves_held_notifications_to_its_new_end(push_app, subscribed, api, make_participant):
    person = subscribed(quiet=_window_around_now(1, 3))
    other = subscribed(quiet=_window_around_now(1, 3))
    action_done(person, other)
    start, end = _window_around_now(1, 1)
    response = _set_quiet_hours(api, person, start, end)
    assert response.get_json()["released"] == 1
    db.session.expire_all()
    due = {row.participant_id: row.not_before for row in db.session.execute(select(Notification)).scalars()}
    now = utcnow()
    # The new end is about an hour away (to the minute); the other person's stays three hours.
    assert timedelta(minutes=58) < due[person["participant_id"]] - now < timedelta(minutes=61)
    assert due[other["participant_id"]] - now > timedelta(minutes=170)
    db.session.rollback()
