"""Changing a recorded action: edit its words, unlink feedback, delete it, add progress updates.

Like ``server.staff.writes``, every change goes through the merge engine, so
devices pull it; a notification row is written in the same transaction as the
change that causes it. An unlinked or deleted action leaves the family's phone
at its next pull (the visibility rule follows ``feedback_ids``).
"""

from __future__ import annotations

from sqlalchemy import select

from server.domain.models import Feedback
from server.domain.projects import write_record
from server.extensions import db
from server.push.models import EVENT_PROGRESS
from server.push.outbox import enqueue
from server.staff.writes import _write, current_values, now_iso


def _values_or_lookup_error(project_id: str, action_id: str) -> dict:
    values = current_values(action_id)
    if values is None or values.get("project_id") != project_id:
        raise LookupError("No such action in this project.")
    return values


def edit_action(project_id: str, action_id: str, heard: str, done: str) -> None:
    """Change what the action says was heard and done (status and links stay)."""
    _values_or_lookup_error(project_id, action_id)
    _write("action", action_id, {"heard": heard, "done": done or ""})


def unlink_feedback(project_id: str, action_id: str, feedback_id: str) -> bool:
    """Take one piece of feedback off the action; return False when it was not linked."""
    values = _values_or_lookup_error(project_id, action_id)
    have = list(values.get("feedback_ids") or [])
    if feedback_id not in have:
        return False
    _write("action", action_id, {"feedback_ids": [f for f in have if f != feedback_id]})
    return True


def delete_action(project_id: str, action_id: str) -> None:
    """Delete the action for everyone; phones drop it at their next pull."""
    from flask_login import current_user

    _values_or_lookup_error(project_id, action_id)
    write_record("action", action_id, {}, current_user._get_current_object(), delete=True)


def add_progress(project_id: str, action_id: str, note: str) -> int:
    """Add a dated progress update to the timeline and tell the linked contributors.

    Returns how many notifications were queued.
    """
    values = _values_or_lookup_error(project_id, action_id)
    status = values.get("status")
    timeline = list(values.get("timeline") or [])
    timeline.append({"at": now_iso(), "status": status, "note": note})
    _write("action", action_id, {"timeline": timeline})
    contributors: dict[str, str] = {}
    linked = list(values.get("feedback_ids") or [])
    for fid, pid in db.session.execute(
        select(Feedback.id, Feedback.participant_id).where(Feedback.id.in_(linked or [""])).order_by(Feedback.id)
    ):
        contributors.setdefault(pid, fid)
    return enqueue(db.session, list(contributors), action_id, EVENT_PROGRESS, status, feedback_ids=contributors)
