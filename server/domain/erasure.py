"""What erasure does beyond tombstones: actions forget the ids, SQLite forgets the text.

``erase_participant`` is the whole erasure: the participant's own phone asks for it
(POST /api/me/erase), staff on request, retention when a project's time is up. An erased participant's
feedback ids leave every action's ``feedback_ids`` through the merge engine, as
a server write, so every device that holds the action pulls the shorter list.
On SQLite the old values would otherwise survive in the write-ahead log and in
freed pages: ``secure_delete`` (set on every connection, server/database.py)
zeroes freed content, and after the erasure commits the WAL is checkpointed
into the database and truncated to nothing. PostgreSQL's side (VACUUM, backups)
is in docs/operations.md.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, event, select, update

from server.auth.devices import PARTICIPANT, Device
from server.auth.models import utcnow
from server.domain.actors import SYSTEM
from server.domain.models import ActionFeedback, ClaimCode
from server.domain.projects import read_record, write_records
from server.extensions import db
from server.staff.models import audit
from sync.schema import records

log = logging.getLogger(__name__)


def subject_rows(participant_id: str):
    """(type, id, fields, deleted) of every record about a participant, in change order."""
    return db.session.execute(
        select(records.c.type, records.c.id, records.c.fields, records.c.deleted)
        .where(records.c.subject_id == participant_id)
        .order_by(records.c.change_no)
    ).all()


def erase_participant(participant_id: str) -> int:
    """Tombstone every live record of a participant and revoke their devices; return the count.

    Also removes their feedback ids from every action, and on SQLite empties the
    write-ahead log once the caller commits. Does not commit.
    """
    rows = subject_rows(participant_id)
    live = [(rtype, rid, {}) for rtype, rid, _, deleted in rows if deleted is None]
    # Before the tombstones: the links are looked up through the feedback still on file.
    unlink_feedback([rid for rtype, rid, _, _ in rows if rtype == "feedback"])
    if live:
        write_records(live, SYSTEM, delete=True)
    now = utcnow()
    db.session.execute(
        update(Device)
        .where(
            Device.participant_id == participant_id,
            Device.kind == PARTICIPANT,
            Device.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(ClaimCode)
        .where(ClaimCode.participant_id == participant_id, ClaimCode.used_at.is_(None))
        .values(used_at=now)
    )
    _forget_push(participant_id)
    audit("erasure", "participant", participant_id, records=len(live))
    checkpoint_wal_after_commit()
    return len(live)


def _forget_push(participant_id: str) -> None:
    """Drop the participant's push subscriptions, queued notifications and quiet hours."""
    from server.push.models import Notification, PushSubscription, QuietHours

    devices = select(Device.id).where(Device.participant_id == participant_id)
    db.session.execute(delete(Notification).where(Notification.participant_id == participant_id))
    db.session.execute(delete(PushSubscription).where(PushSubscription.device_id.in_(devices)))
    db.session.execute(delete(QuietHours).where(QuietHours.participant_id == participant_id))


def unlink_feedback(feedback_ids: list[str]) -> int:
    """Remove these feedback ids from every action that lists them; return how many actions changed."""
    if not feedback_ids:
        return 0
    erased = set(feedback_ids)
    action_ids = sorted(
        set(
            db.session.execute(select(ActionFeedback.action_id).where(ActionFeedback.feedback_id.in_(erased))).scalars()
        )
    )
    changes = []
    for action_id in action_ids:
        action = read_record(action_id)
        if action is None or action.deleted is not None:
            continue
        linked = list(action.values().get("feedback_ids") or [])
        kept = [fid for fid in linked if fid not in erased]
        if kept != linked:
            changes.append(("action", action_id, {"feedback_ids": kept}))
    if changes:
        write_records(changes, SYSTEM)
    return len(changes)


def checkpoint_wal_after_commit() -> None:
    """On SQLite, once the current transaction commits, fold the WAL into the file and empty it."""
    if db.engine.dialect.name != "sqlite":
        return
    event.listen(db.session(), "after_commit", _checkpoint_wal, once=True)


def _checkpoint_wal(_session) -> None:
    # A raw connection: SQLAlchemy's BEGIN IMMEDIATE would hold the lock the checkpoint needs.
    raw = db.engine.raw_connection()
    try:
        busy, _, _ = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        raw.close()
    if busy:
        # A reader held the log open; the next erasure (or SQLite's own checkpoint) completes it.
        log.warning("WAL checkpoint after an erasure was blocked by a reader")
