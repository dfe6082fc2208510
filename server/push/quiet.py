"""Quiet hours: when a notification may not be shown, and when it may again."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.push.models import (
    DEFAULT_QUIET_END,
    DEFAULT_QUIET_START,
    DEFAULT_TIMEZONE,
    PENDING,
    Notification,
    QuietHours,
)

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(text: str) -> time:
    match = _HHMM.match(text or "")
    if not match:
        raise ValueError("Use the 24-hour form HH:MM.")
    return time(int(match.group(1)), int(match.group(2)))


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def quiet_until(now_utc: datetime, start: str, end: str, timezone: str) -> datetime | None:
    """If ``now_utc`` (naive UTC) falls in the quiet window, the naive-UTC end of it, else None.

    The window is local wall-clock time and may cross midnight (21:00-08:00).
    Across a clock change the end is the first real instant at or after the
    local end time, so a notification is delayed, never dropped.
    """
    start_t, end_t = parse_hhmm(start), parse_hhmm(end)
    if start_t == end_t:
        return None
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(DEFAULT_TIMEZONE)
    local = now_utc.replace(tzinfo=UTC).astimezone(zone)
    now_t = local.time().replace(tzinfo=None)
    if start_t < end_t:
        quiet = start_t <= now_t < end_t
        end_day = local.date()
    else:  # crosses midnight
        quiet = now_t >= start_t or now_t < end_t
        end_day = local.date() + timedelta(days=1) if now_t >= start_t else local.date()
    if not quiet:
        return None
    end_local = datetime.combine(end_day, end_t, tzinfo=zone)
    # A wall time skipped by a spring-forward gap maps past the gap with fold=0; fine.
    end_utc = end_local.astimezone(UTC).replace(tzinfo=None)
    return max(end_utc, now_utc)


def settings_for(session: Session, participant_ids: Iterable[str]) -> dict[str, tuple[str, str, str]]:
    """(start, end, timezone) per participant, with the defaults filled in."""
    ids = list(dict.fromkeys(participant_ids))
    found = {}
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        for row in session.execute(select(QuietHours).where(QuietHours.participant_id.in_(chunk))).scalars():
            found[row.participant_id] = (row.start, row.end, row.timezone)
    default = (DEFAULT_QUIET_START, DEFAULT_QUIET_END, DEFAULT_TIMEZONE)
    return {pid: found.get(pid, default) for pid in ids}


def reschedule_held(
    session: Session, participant_id: str, start: str, end: str, timezone: str, now_utc: datetime
) -> int:
    """Apply new quiet hours to notifications they held back; returns how many now go sooner.

    Turning quiet hours off (or moving the window) must not leave a notification
    waiting for a window the person no longer has. Only rows held by quiet hours
    (pending, never tried, not yet due) move, and only earlier: a later window set
    now is applied by the worker when it claims them.
    """
    due = quiet_until(now_utc, start, end, timezone) or now_utc
    result = session.execute(
        update(Notification)
        .where(
            Notification.participant_id == participant_id,
            Notification.state == PENDING,
            Notification.attempts == 0,
            Notification.not_before > due,
        )
        .values(not_before=due, next_attempt_at=due)
    )
    return result.rowcount or 0
