"""The server's hybrid logical clock.

One clock per process, with a node id of its own: gunicorn runs several
processes, and two that shared a node id could issue identical stamps. Stamps
from one process strictly increase. A lock makes the clock safe to share
between request threads.
"""

from __future__ import annotations

import threading

from flask import current_app
from sqlalchemy import select
from sqlalchemy.engine import Connection

from sync.hlc import Clock, is_hlc, new_node_id
from sync.records import fields_from_json
from sync.schema import records

_clocks: dict[str, LockedClock] = {}
_clocks_lock = threading.Lock()


class LockedClock(Clock):
    """A Clock whose stamps are taken under a lock (threads of one process share it)."""

    def __init__(self, node_id: str, **kwargs) -> None:
        super().__init__(node_id, **kwargs)
        self._lock = threading.RLock()

    def tick(self) -> str:
        with self._lock:
            return super().tick()

    def receive(self, remote: str) -> str:
        with self._lock:
            return super().receive(remote)


def server_clock() -> LockedClock:
    """Return the process's clock for the current app's instance (needs an app context)."""
    instance = current_app.instance_path
    with _clocks_lock:
        clock = _clocks.get(instance)
        if clock is None:
            clock = _clocks[instance] = LockedClock(new_node_id())
        return clock


def catch_up(conn: Connection, clock: Clock, record_ids) -> None:
    """Fold the stamps already stored on these records into ``clock``.

    A server write stamped after this wins over every value it saw, even one
    stamped by a phone whose clock runs a little ahead.
    """
    ids = list(record_ids)
    if not ids:
        return
    greatest = ""
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(records.c.fields, records.c.deleted).where(records.c.id.in_(ids[start : start + 500]))
        )
        for fields_json, deleted in rows:
            for reg in fields_from_json(fields_json).values():
                greatest = max(greatest, reg.t)
            if deleted:
                greatest = max(greatest, deleted)
    if greatest and is_hlc(greatest):
        clock.receive(greatest)
