"""What erasure does beyond tombstones: actions forget the ids, SQLite forgets the text.

``server.domain.api.erase_participant`` calls these. An erased participant's
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

from sqlalchemy import event, select

from server.domain.actors import SYSTEM
from server.domain.models import ActionFeedback
from server.domain.projects import read_record, write_records
from server.extensions import db

log = logging.getLogger(__name__)


def unlink_feedback(feedback_ids: list[str]) -> int:
    """Remove these feedback ids from every action that lists them; return how many actions changed."""
    if not feedback_ids:
        return 0
    erased = set(feedback_ids)
    action_ids = sorted(
        set(
            db.session.execute(
                select(ActionFeedback.action_id).where(ActionFeedback.feedback_id.in_(erased))
            ).scalars()
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
