"""What a device's pull carries: the change feed cut to its view, and removals when access ends.

Every record sent to a device is written down in ``device_holdings`` (a per-device
record of what it holds, as Replicache's row versions). At the end of the feed
each pull compares that list with what the access rule lets the device see now:

- held but no longer visible -> a **removal** (the id, in ``removals``): the
  record left this device's view; it is not deleted for anyone else;
- visible but not held (or held at an older version) -> sent again, so access
  that begins (a coordinator added to a project) reaches the device too;
- an action whose cut ``feedback_ids`` changed for this device -> sent again.

Removals follow from the rule itself, whatever changed it (a claim redeemed,
staff taken off a project, consent withdrawn, erasure, a project archived, an
action unlinked), so no code that changes access has to remember to call us.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from server.auth.devices import Device
from server.domain import access
from server.domain.actors import STAFF_KIND, who_is
from server.domain.models import DeviceHolding
from sync import store
from sync.records import Record, Register, records_to_wire_json
from sync.schema import records

UNKNOWN = -1  # sent in a response the device may not have received
GONE = -2  # a removal or a deletion was sent
_h = DeviceHolding.__table__
_PULL_COLUMNS = (records.c.id, records.c.type, records.c.fields, records.c.deleted, records.c.change_no)


@dataclass
class DevicePage:
    """One pull response for one device."""

    records: list[Record]
    removals: list[str]
    cursor: int
    more: bool
    numbers: list[int] = field(default_factory=list)

    def records_json(self) -> str:
        return records_to_wire_json(self.records)


def _insert(conn: Connection):
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def _acknowledge(conn: Connection, device_id: str, cursor: int) -> None:
    """Settle what the device's cursor says it received from earlier responses."""
    if cursor == 0:
        # Pulling from 0: the device starts from nothing (a new install or a resync).
        conn.execute(delete(_h).where(_h.c.device_id == device_id))
        return
    mine = _h.c.device_id == device_id
    conn.execute(delete(_h).where(mine, _h.c.change_no == GONE, _h.c.tag <= cursor))
    conn.execute(update(_h).where(mine, _h.c.tag > cursor).values(change_no=UNKNOWN, digest=None))


def _digest(feedback_ids: list[str]) -> str:
    return hashlib.sha256(json.dumps(feedback_ids).encode()).hexdigest()[:32]


def _cut_actions(conn: Connection, who, page: list[Record]) -> dict[str, str]:
    """Cut each action's ``feedback_ids`` to what this device may see (in place); return digests."""
    actions = [(i, r) for i, r in enumerate(page) if r.type == "action" and r.deleted is None]
    if not actions:
        return {}
    wanted: set[str] = set()
    for _, action in actions:
        register = action.fields.get("feedback_ids")
        if register is not None and isinstance(register.v, list):
            wanted.update(f for f in register.v if isinstance(f, str))
    allowed = access.visible_feedback_ids(conn, who, wanted)
    digests = {}
    for i, action in actions:
        fields = dict(action.fields)
        register = fields.get("feedback_ids")
        kept = [f for f in (register.v or [])] if register is not None else []
        kept = [f for f in kept if f in allowed]
        if register is not None:
            fields["feedback_ids"] = Register(kept, register.t)
        page[i] = Record(action.type, action.id, fields, None)
        digests[action.id] = _digest(kept)
    return digests


def _removals(conn: Connection, device_id: str, clause, limit: int) -> list[str]:
    """Ids this device holds that it may no longer see (or that were deleted unseen)."""
    joined = _h.outerjoin(records, and_(records.c.id == _h.c.record_id, clause))
    query = (
        select(_h.c.record_id)
        .select_from(joined)
        .where(
            _h.c.device_id == device_id,
            _h.c.change_no != GONE,
            or_(records.c.id.is_(None), records.c.deleted.is_not(None)),
        )
        .order_by(_h.c.record_id)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def _not_held(conn: Connection, device_id: str, clause, cursor: int, limit: int):
    """Live records visible now, changed at or before the cursor, that the device lacks."""
    joined = records.outerjoin(
        _h, and_(_h.c.device_id == device_id, _h.c.record_id == records.c.id)
    )
    query = (
        select(*_PULL_COLUMNS)
        .select_from(joined)
        .where(
            clause,
            records.c.deleted.is_(None),
            records.c.change_no <= cursor,
            or_(_h.c.record_id.is_(None), _h.c.change_no < records.c.change_no),
        )
        .order_by(records.c.change_no)
        .limit(limit)
    )
    return conn.execute(query).all()


def _stale_actions(conn: Connection, device_id: str, who, clause, cursor: int):
    """Held actions whose cut ``feedback_ids`` changed for this device since they were sent."""
    joined = records.join(_h, and_(_h.c.device_id == device_id, _h.c.record_id == records.c.id))
    rows = conn.execute(
        select(*_PULL_COLUMNS, _h.c.digest)
        .select_from(joined)
        .where(
            records.c.type == "action",
            clause,
            records.c.deleted.is_(None),
            records.c.change_no <= cursor,
            _h.c.change_no >= records.c.change_no,
        )
    ).all()
    if not rows:
        return []
    cut = [Record.stored(r[1], r[0], r[2], r[3]) for r in rows]
    digests = _cut_actions(conn, who, cut)
    return [row[:5] for row in rows if digests.get(row[0]) != row[5]]


def _remember(conn, device_id: str, page: DevicePage, digests: dict[str, str]) -> None:
    rows = [
        {
            "device_id": device_id,
            "record_id": record.id,
            "change_no": GONE if record.deleted is not None else number,
            "tag": page.cursor,
            "digest": digests.get(record.id),
        }
        for record, number in zip(page.records, page.numbers, strict=True)
    ]
    rows += [
        {"device_id": device_id, "record_id": rid, "change_no": GONE, "tag": page.cursor, "digest": None}
        for rid in page.removals
    ]
    if not rows:
        return
    # One row per record: a record can come in the feed and again as a re-send.
    rows = list({row["record_id"]: row for row in rows}.values())
    stmt = _insert(conn)(_h)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_h.c.device_id, _h.c.record_id],
        set_={name: stmt.excluded[name] for name in ("change_no", "tag", "digest")},
    )
    conn.execute(stmt, rows)


def pull_for(conn: Connection, device: Device, cursor: int, limit: int) -> DevicePage:
    """Return one page for this device: its feed after ``cursor``, then its access changes.

    Raises ``sync.store.CursorExpired`` like ``sync.store.pull``.
    """
    who = who_is(device)
    # A pending record (protocol 1.1: not complete yet) is nobody's to hold.
    clause = and_(access.visible_clause(who), records.c.pending.is_(False))
    _acknowledge(conn, device.id, cursor)
    head = store.head(conn)
    feed = store.pull(conn, cursor, limit, clause)
    page = DevicePage(list(feed.records), [], feed.cursor, feed.more, list(feed.numbers))
    digests = _cut_actions(conn, who, page.records)
    if not feed.more:
        page.cursor = max(feed.cursor, head, cursor)
        page.removals = _removals(conn, device.id, clause, limit)
        room = limit - len(page.records)
        extra = _stale_actions(conn, device.id, who, clause, cursor)
        extra += _not_held(conn, device.id, clause, cursor, max(room, 0) + 1)
        extra = list({row[0]: row for row in extra}.values())
        page.more = len(extra) > room or len(page.removals) == limit
        extra = extra[: max(room, 0)]
        resent = [Record.stored(r[1], r[0], r[2], r[3]) for r in extra]
        digests.update(_cut_actions(conn, who, resent))
        page.records += resent
        page.numbers += [r[4] for r in extra]
        if (page.removals or resent) and page.cursor <= cursor:
            # The device must be able to say it received this response: give a new cursor.
            page.cursor = store.reserve_change_no(conn)
    _remember(conn, device.id, page, digests)
    if who.kind == STAFF_KIND:
        _audit_staff_pull(who, device, page)
    return page


def _audit_staff_pull(who, device: Device, page: DevicePage) -> None:
    """One audit row per staff pull that carried anyone's personal records, with counts."""
    from server.staff.models import audit

    counts: dict[str, int] = {}
    people: set[str] = set()
    for record in page.records:
        if record.deleted is not None or record.type in access.STAFF_PROJECT_TYPES:
            continue
        counts[record.type] = counts.get(record.type, 0) + 1
        people.add(record.id if record.type == "participant" else record.values().get("participant_id"))
    if counts:
        audit(
            "device_pull",
            "device",
            device.id,
            user_id=who.user_id,
            records=sum(counts.values()),
            participants=len(people),
            by_type=counts,
            removals=len(page.removals),
        )
