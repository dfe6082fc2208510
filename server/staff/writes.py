"""Server-authored records the coordinator pages write: actions and reviews.

They go through the merge engine (``sync.store.write_local``) stamped by the
server's clock and checked and projected by the domain's hooks, so devices
pull them like any other record. Linking feedback and changing an action's
status write the notification outbox rows in the same transaction: the caller
commits once, and either both exist or neither does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from flask_login import current_user
from sqlalchemy import select

from server.domain.models import Feedback
from server.domain.projects import write_record
from server.extensions import db
from server.push.outbox import enqueue
from sync.records import fields_from_json
from sync.schema import records

LINKED, STATUS = "linked", "status"


def now_iso() -> str:
    """Return the current time as ISO 8601 in UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write(rtype: str, rid: str, values: dict[str, Any]):
    # The domain stamps above whatever is stored and checks the coordinator may write it.
    return write_record(rtype, rid, values, current_user._get_current_object())


def current_values(rid: str) -> dict[str, Any] | None:
    """Return the merged values of a live record, locking its row until commit (PostgreSQL)."""
    row = db.session.execute(
        select(records.c.fields, records.c.deleted).where(records.c.id == rid).with_for_update()
    ).first()
    if row is None or row[1] is not None:
        return None
    return {name: reg.v for name, reg in fields_from_json(row[0]).items()}


def create_action(project_id: str, stage: str, heard: str, done: str, status: str, reason: str | None) -> str:
    """Record a "You said, we did" action and return its id."""
    action_id = str(uuid.uuid4())
    _write(
        "action",
        action_id,
        {
            "project_id": project_id,
            "stage": stage,
            "heard": heard,
            "done": done or "",
            "status": status,
            "reason": reason if status == "not_possible" else None,
            "feedback_ids": [],
            "timeline": [{"at": now_iso(), "status": status, "note": "Action recorded."}],
        },
    )
    return action_id


def link_feedback(project_id: str, action_id: str, feedback_ids: Iterable[str]) -> int:
    """Link feedback of the project to an action and queue the contributors' notifications.

    Returns how many feedback entries were newly linked.
    """
    values = current_values(action_id)
    if values is None or values.get("project_id") != project_id:
        raise LookupError("No such action in this project.")
    wanted = list(dict.fromkeys(feedback_ids))
    found = dict(
        db.session.execute(
            select(Feedback.id, Feedback.participant_id).where(
                Feedback.project_id == project_id, Feedback.id.in_(wanted or [""])
            )
        ).all()
    )
    have = list(values.get("feedback_ids") or [])
    new = [fid for fid in wanted if fid in found and fid not in have]
    if not new:
        return 0
    _write("action", action_id, {"feedback_ids": have + new})
    contributors = {found[fid]: fid for fid in new}
    enqueue(
        db.session,
        list(contributors),
        action_id,
        LINKED,
        values.get("status"),
        feedback_ids=contributors,
    )
    return len(new)


def change_status(project_id: str, action_id: str, status: str, note: str, reason: str | None) -> None:
    """Move an action along its dated timeline and queue notifications to its contributors."""
    values = current_values(action_id)
    if values is None or values.get("project_id") != project_id:
        raise LookupError("No such action in this project.")
    timeline = list(values.get("timeline") or [])
    timeline.append({"at": now_iso(), "status": status, "note": note or ""})
    _write(
        "action",
        action_id,
        {
            "status": status,
            "reason": reason if status == "not_possible" else None,
            "timeline": timeline,
        },
    )
    linked = list(values.get("feedback_ids") or [])
    if not linked:
        return
    contributors: dict[str, str] = {}
    for fid, pid in db.session.execute(
        select(Feedback.id, Feedback.participant_id).where(Feedback.id.in_(linked)).order_by(Feedback.id)
    ):
        contributors.setdefault(pid, fid)
    enqueue(db.session, list(contributors), action_id, STATUS, status, feedback_ids=contributors)


def create_review(
    project_id: str,
    stage: str,
    day: str,
    texts: dict[str, str],
    roles: dict[str, int],
    snapshot: dict,
) -> str:
    """Add an entry to the learning log, with a snapshot of the stage's results."""
    review_id = str(uuid.uuid4())
    _write(
        "review",
        review_id,
        {
            "project_id": project_id,
            "stage": stage,
            "date": day,
            **texts,
            "roles": roles,
            "snapshot": snapshot,
        },
    )
    return review_id
