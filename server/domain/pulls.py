"""What a device's pull carries: the change feed cut to its view, and removals when access ends.

Every record sent to a device is written down in ``device_holdings`` (a per-device
record of what it holds, as Replicache's row versions), and so is every record a
device pushed when its copy then equals the server's (``mark_pushed``). Each pull:

- skips records the device already holds at their current version, so a phone is
  never sent back what it just pushed;
- sends a **removal** (the id, in ``removals``) for each record it holds that
  changed and left its view (deleted records go as deletions, as always);
- when access itself may have changed for it (``access_epochs``, bumped by
  database triggers on every table the rule reads: see ``AccessEpoch``), compares
  everything it holds with what the rule lets it see now: held but no longer
  visible -> a removal; visible but not held (or held at an older version) -> sent
  again, so access that begins (a coordinator added to a project) reaches the
  device too; an action whose cut ``feedback_ids`` changed for this device -> sent
  again.

Removals follow from the rule itself, whatever changed it (a claim redeemed,
staff taken off a project, consent withdrawn, erasure, a project closed, an
action unlinked), so no code that changes access has to remember to call us.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    and_,
    bindparam,
    delete,
    exists,
    literal,
    not_,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.engine import Connection

from server.auth.devices import Device
from server.domain import access
from server.domain.actors import PARTICIPANT_KIND, STAFF_KIND, who_is
from server.domain.models import (
    GONE,
    GONE_ROWS,
    PUSHED,
    SENT,
    UNKNOWN,
    AccessEpoch,
    DeviceAccess,
    DeviceHolding,
    ProjectStaff,
)
from sync import feed, sql, store
from sync.cursor import Cursor
from sync.records import Record, Register, records_to_wire_json
from sync.schema import records
from sync.sql import in_ids, upsert

ANY_PROJECT = "*"
_h = DeviceHolding.__table__
_epochs = AccessEpoch.__table__
_state = DeviceAccess.__table__
_PULL_COLUMNS = (records.c.id, records.c.type, records.c.fields, records.c.deleted, records.c.change_no)


@dataclass
class DevicePage:
    """One pull response for one device."""

    records: list[Record]
    removals: list[str]
    cursor: Cursor
    more: bool
    numbers: list[int] = field(default_factory=list)

    def records_json(self) -> str:
        return records_to_wire_json(self.records)


def _acknowledge(conn: Connection, device_id: str, cursor: Cursor) -> None:
    """Settle what the device's cursor says it received from earlier responses."""
    if cursor.is_start:
        # Pulling from the start: the device holds nothing the server is sure of (a new
        # install, or a resync that forgot its copy) but may still hold what it pushed (a
        # new phone pushes before its first pull; the app keeps unsent writes). So nothing
        # is forgotten, only its version: visible records come again with the feed, and
        # records it may no longer see get a removal (harmless if it did not hold them).
        conn.execute(update(_h).where(_h.c.device_id == device_id).values(change_no=UNKNOWN, digest=None))
        conn.execute(delete(_state).where(_state.c.device_id == device_id))
        return
    for statement in _settling():
        sql.run(conn, statement, {"holder_id": device_id, "ack": cursor.ack})


@cache
def _settling() -> tuple:
    """The two statements that settle a cursor's acknowledgement (parameters ``holder_id``,
    the device, and ``ack``): removals and deletions it received are forgotten; what responses after
    it carried is unsure again (maybe lost). Built once: every pull runs them."""
    # Not "device_id": an UPDATE keeps its columns' names for the values it sets.
    mine = _h.c.device_id == bindparam("holder_id", type_=String)
    ack = bindparam("ack", type_=BigInteger)
    # The partial indexes' own conditions, as written there (a parameter in their place
    # would leave a generic plan unable to use them); acks are never below 0, so the
    # second adds nothing to what "tag > ack" selects.
    gone = delete(_h).where(mine, GONE_ROWS, SENT, _h.c.tag <= ack)
    unsure = update(_h).where(mine, SENT, _h.c.tag > ack).values(change_no=UNKNOWN, digest=None)
    return sql.once(gone), sql.once(unsure)


def _settle_and_read_access(conn: Connection, who, device_id: str, cursor: Cursor) -> tuple[str, tuple | None, Cursor]:
    """The feed's horizon first, then ``_acknowledge`` and ``_access_state``.

    On PostgreSQL one statement settles and reads: its data-modifying WITH clauses
    settle the holdings while its query reads the epochs. In the parallel feed it reads
    the horizon too, from its own snapshot, taken before the page's.
    """
    one_statement = conn.dialect.name == "postgresql" and not cursor.is_start
    if one_statement and feed.mode(conn) == feed.PARALLEL:
        return _access_state(conn, who, device_id, settle_ack=cursor.ack, horizon=True)
    horizon = store.head(conn)  # before anything else in this transaction
    if one_statement:
        digest, stored, _ = _access_state(conn, who, device_id, settle_ack=cursor.ack)
    else:
        _acknowledge(conn, device_id, cursor)
        digest, stored, _ = _access_state(conn, who, device_id)
    return digest, stored, horizon


def _viewer(who) -> tuple[str, dict]:
    """Which access epochs a device's view depends on, and the parameters that pick them."""
    if who.kind == PARTICIPANT_KIND:
        return PARTICIPANT_KIND, {"viewer_project": who.project_id or ""}
    if who.kind == STAFF_KIND and not who.is_admin:
        return STAFF_KIND, {"user_id": who.user_id}
    return "everything", {}


def _access_state(
    conn: Connection, who, device_id: str, settle_ack: int | None = None, horizon: bool = False
) -> tuple[str, tuple | None, Cursor | None]:
    """(fingerprint of the access epochs this device's view depends on, its stored
    (digest, ack) or None, the feed's horizon or None), in one round trip: each row says
    what it is. ``settle_ack`` (PostgreSQL): settle the acknowledgement up to it in the same
    round trip. ``horizon`` (the parallel feed): read the horizon too, as the statement starts."""
    viewer, params = _viewer(who)
    query = _access_query(viewer, settle_ack is not None, horizon)
    pairs, stored, read_to = [], None, None
    for kind, key, number in sql.rows(conn, query, {**params, "holder_id": device_id, "ack": settle_ack}):
        if kind == "d":
            stored = (key, number)
        elif kind == "h":
            read_to = Cursor(number, 0)
        else:
            pairs.append((kind, key, number))
    text = "|".join(f"{kind}{key}:{number}" for kind, key, number in sorted(pairs))
    return hashlib.sha256(text.encode()).hexdigest()[:32], stored, read_to


@cache
def _access_query(viewer: str, settling: bool, horizon: bool = False):
    """``_access_state``'s query for one kind of viewer, built once (every pull runs it)."""
    epochs = select(literal("e"), _epochs.c.project_id, _epochs.c.epoch)
    parts = []
    if viewer == PARTICIPANT_KIND:
        mine = _epochs.c.project_id == bindparam("viewer_project", type_=String)
        parts.append(epochs.where(or_(mine, _epochs.c.project_id == ANY_PROJECT)))
    elif viewer == STAFF_KIND:
        user_id = bindparam("user_id", type_=Integer)
        on = select(ProjectStaff.project_id).where(ProjectStaff.user_id == user_id)
        parts.append(epochs.where(or_(_epochs.c.project_id.in_(on), _epochs.c.project_id == ANY_PROJECT)))
        # The list itself counts: leaving a project changes what the device may see.
        staff_on = select(literal("s"), ProjectStaff.project_id, literal(0))
        parts.append(staff_on.where(ProjectStaff.user_id == user_id))
    else:
        parts.append(epochs)
    holder = bindparam("holder_id", type_=String)
    parts.append(select(literal("d"), _state.c.digest, _state.c.ack).where(_state.c.device_id == holder))
    if horizon:
        parts.append(select(literal("h"), null(), feed.HORIZON_PG))
    query = union_all(*parts)
    if settling:
        gone, unsure = _settling()
        ctes = (gone.returning(_h.c.record_id).cte("gone"), unsure.returning(_h.c.record_id).cte("unsure"))
        query = query.add_cte(*ctes)
    return sql.once(query)


def _needs_reconciling(cursor: Cursor, digest: str, stored: tuple | None) -> bool:
    # Reconcile again until the device has acknowledged the response that completed it.
    return cursor.is_start or stored is None or stored[0] != digest or cursor.ack < stored[1]


def _reconciled(conn: Connection, device_id: str, digest: str, ack: int) -> None:
    stmt = feed.insert_for(conn)(_state).values(device_id=device_id, digest=digest, ack=ack)
    conn.execute(stmt.on_conflict_do_update(index_elements=[_state.c.device_id], set_={"digest": digest, "ack": ack}))


def _not_held_now(device_id: str):
    """Rows the device does not already hold at their current version (its own pushes, say)."""
    return not_(
        exists().where(
            _h.c.device_id == device_id,
            _h.c.record_id == records.c.id,
            _h.c.change_no >= records.c.change_no,
        )
    )


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


def _left_view_query(mode: str, clause, device_id):
    """Ids the device holds whose record changed after the cursor and is no longer in its view.

    Between access changes this is how a record leaves a staff device: it changed (a
    field made it pending again, say) and the rule no longer lets it through.
    """
    left = (*feed.window(mode), not_(clause))
    held = (_h.c.device_id == device_id, _h.c.change_no != GONE)
    joined = _h.join(records, records.c.id == _h.c.record_id)
    return select(_h.c.record_id).select_from(joined).where(*held, *left).order_by(_h.c.record_id)


@cache
def _participant_queries(mode: str):
    """A participant's feed page and left-view queries, built once per feed mode with the
    participant and device as parameters (``_view_queries``)."""
    device_id = bindparam("device_id", type_=String)
    return sql.once(_participant_page(mode, device_id)), sql.once(_participant_left_view(mode, device_id))


def _participant_left_view(mode: str, device_id):
    """Ids a participant's device holds whose record changed past the cursor and left its view.

    Found like the page (``_participant_page``): each part of the view read past the
    cursor by its index, keeping the held records the rule no longer lets through.
    Looking each holding up instead cost a probe per record the phone ever held
    (2 ms a pull at a few hundred). A record's part is fixed by its identifying
    fields (its subject, project and type never change), so a record that changed
    and left the view is still in its part, unless the link that put an action in
    the third part was removed: that bumps the project's access epoch, and the
    pull then compares everything the device holds (``_reconcile``).
    """
    visible = _visible(access.ANY_PARTICIPANT)
    held = exists().where(_h.c.device_id == device_id, _h.c.record_id == records.c.id, _h.c.change_no != GONE)
    merged = _each_view_part(mode, (records.c.id.label("record_id"),), held, not_(visible))
    return select(merged.c.record_id).order_by(merged.c.record_id)


def _each_view_part(mode: str, columns, *conditions):
    """``columns`` of the records past the cursor that meet ``conditions``, read from each
    part of a participant's view apart (``access.participant_view``) and put together."""
    parts = [
        select(*columns).where(part, *feed.window(mode), *conditions)
        for part in access.participant_view(access.ANY_PARTICIPANT)
    ]
    return union_all(*parts).subquery()


def _participant_page(mode: str, device_id):
    """A participant's feed page: each part of their view (``access.participant_view``)
    read past the cursor by its own index, in feed order, merged.

    Read as one condition, the page found a phone's records by their subject and
    filtered out all but the new: a cost that grew with everything the family ever
    wrote (3 ms a pull after a few hundred entries, 20 when the plan went parallel).
    Apart, the subject's part walks (subject, txid, change_no) from the cursor on, and
    PostgreSQL merges the parts' ordered rows and stops at the page's limit.
    """
    wanted = (records.c.pending.is_(False), access.in_open_project(), _not_held_now(device_id))
    merged = _each_view_part(mode, (*_PULL_COLUMNS, records.c.txid), *wanted)
    order = [merged.c[column.name] for column in feed.ORDER[mode]]
    return select(*merged.c).order_by(*order).limit(bindparam("limit"))


def _visible(who):
    # A pending record (protocol 1.1: not complete yet) is nobody's to hold.
    return and_(access.visible_clause(who), records.c.pending.is_(False))


def _view_queries(who, device: Device, mode: str) -> tuple:
    """The device's feed page query, its left-view query and their parameters."""
    if who.kind == PARTICIPANT_KIND:
        # A participant sees few records (their own, a few of the project's): find them by
        # their own conditions, not by reading everyone's changes in feed order.
        page, left = _participant_queries(mode)
        return page, left, {**access.viewer_params(who), "device_id": device.id}
    clause = _visible(who)
    page = store.feed_query(mode, and_(clause, _not_held_now(device.id)))
    return page, _left_view_query(mode, clause, device.id), {}


def _not_held(conn: Connection, device_id: str, clause, cursor: Cursor, limit: int):
    """Live records visible now, changed at or before the cursor, that the device lacks."""
    joined = records.outerjoin(_h, and_(_h.c.device_id == device_id, _h.c.record_id == records.c.id))
    query = (
        select(*_PULL_COLUMNS)
        .select_from(joined)
        .where(
            clause,
            records.c.deleted.is_(None),
            not_(feed.after(conn)),
            or_(_h.c.record_id.is_(None), _h.c.change_no < records.c.change_no),
        )
        .order_by(*feed.order(conn))
        .limit(limit)
    )
    return conn.execute(query, feed.window_params(cursor, None)).all()


def _stale_actions(conn: Connection, device_id: str, who, clause, cursor: Cursor):
    """Held actions whose cut ``feedback_ids`` changed for this device since they were sent."""
    joined = records.join(_h, and_(_h.c.device_id == device_id, _h.c.record_id == records.c.id))
    rows = conn.execute(
        select(*_PULL_COLUMNS, _h.c.digest)
        .select_from(joined)
        .where(
            records.c.type == "action",
            clause,
            records.c.deleted.is_(None),
            not_(feed.after(conn)),
            _h.c.change_no >= records.c.change_no,
        ),
        feed.window_params(cursor, None),
    ).all()
    if not rows:
        return []
    cut = [Record.stored(r[1], r[0], r[2], r[3]) for r in rows]
    digests = _cut_actions(conn, who, cut)
    return [row[:5] for row in rows if digests.get(row[0]) != row[5]]


def _remember(conn, device_id: str, page: DevicePage, digests: dict[str, str]) -> None:
    tag = page.cursor.ack
    rows = [
        {
            "device_id": device_id,
            "record_id": record.id,
            "change_no": GONE if record.deleted is not None else number,
            "tag": tag,
            "digest": digests.get(record.id),
        }
        for record, number in zip(page.records, page.numbers, strict=True)
    ]
    rows += [
        {"device_id": device_id, "record_id": rid, "change_no": GONE, "tag": tag, "digest": None}
        for rid in page.removals
    ]
    if not rows:
        return
    # One row per record: a record can come in the feed and again as a re-send.
    rows = list({row["record_id"]: row for row in rows}.values())
    upsert(conn, _h, rows, ("device_id", "record_id"), _REPLACE_HOLDING)


_REPLACE_HOLDING = dict.fromkeys(("change_no", "tag", "digest"))


def _write_holdings(stmt):
    """An insert into device_holdings that replaces what was held of the same record."""
    return stmt.on_conflict_do_update(
        index_elements=[_h.c.device_id, _h.c.record_id],
        set_={name: stmt.excluded[name] for name in _REPLACE_HOLDING},
    )


def _reconcile(conn: Connection, device_id: str, who, clause, cursor: Cursor, page: DevicePage, limit: int):
    """Compare everything the device holds with its view: removals and re-sends into ``page``."""
    page.removals = _removals(conn, device_id, clause, limit)
    room = limit - len(page.records)
    extra = _stale_actions(conn, device_id, who, clause, cursor)
    extra += _not_held(conn, device_id, clause, cursor, max(room, 0) + 1)
    extra = list({row[0]: row for row in extra}.values())
    page.more = len(extra) > room or len(page.removals) == limit
    extra = extra[: max(room, 0)]
    resent = [Record.stored(r[1], r[0], r[2], r[3]) for r in extra]
    # Cut before adding: _cut_actions replaces the list's records with cut copies, so the
    # page must take them from the list afterwards (a re-sent action once went out uncut,
    # naming feedback of a family whose consent had just been withdrawn).
    digests = _cut_actions(conn, who, resent)
    page.records += resent
    page.numbers += [r[4] for r in extra]
    return digests


def pull_for(conn: Connection, device: Device, cursor: Cursor | int, limit: int) -> DevicePage:
    """Return one page for this device: its feed after ``cursor``, then its access changes.

    Raises ``sync.store.CursorExpired`` like ``sync.store.pull``.
    """
    if isinstance(cursor, int):
        cursor = Cursor.of_number(cursor)
    who = who_is(device)
    mode = feed.mode(conn)
    # First, before anything else in this transaction: how far the feed may be read.
    digest, stored, horizon = _settle_and_read_access(conn, who, device.id, cursor)
    reconcile = _needs_reconciling(cursor, digest, stored)
    page_query, left_query, params = _view_queries(who, device, mode)
    # The records that left the view are read with the page (one statement); they are
    # the removals unless there is more to read or everything is compared (_reconcile).
    left = None if reconcile else left_query
    found = store.pull(conn, cursor, limit, horizon=horizon, query=page_query, params=params, left=left)
    page = DevicePage(list(found.records), [], found.cursor, found.more, list(found.numbers))
    digests = _cut_actions(conn, who, page.records)
    if not found.more:
        page.cursor = max(found.cursor, horizon, cursor)
        if reconcile:
            digests.update(_reconcile(conn, device.id, who, _visible(who), cursor, page, limit))
        else:
            page.removals = list(found.left)
    if page.removals or page.records:
        if mode == feed.PARALLEL or page.cursor <= cursor:
            # The device must be able to say it received this response: a new ack.
            page.cursor = store.fresh_ack(conn, page.cursor)
    else:
        page.cursor = Cursor(page.cursor.txid, page.cursor.change_no, cursor.ack)
    _remember(conn, device.id, page, digests)
    if reconcile and not page.more:
        _reconciled(conn, device.id, digest, page.cursor.ack)
    if who.kind == STAFF_KIND:
        _audit_staff_pull(who, device, page)
    return page


def mark_pushed(
    conn: Connection, device_id: str, exact: dict[str, int], others: list[str], writes: sql.Writes | None = None
) -> None:
    """Write down that the device holds the records it just pushed (it keeps its own writes).

    ``exact``: records whose merged state is exactly the device's copy (new ones, or
    ones it held at the version its write was merged into, written as it sent them),
    each with the version the push stored: its next pull skips them. ``others``: records
    it holds in some other state (merged with what it has not pulled yet, or given a
    recorder by the server): their version is unknown, so the pull sends them, and when
    access ends a removal reaches them. ``writes``: held writes to add ``exact`` to.
    """
    if exact:
        held = [
            {"device_id": device_id, "record_id": rid, "change_no": number, "tag": PUSHED, "digest": None}
            for rid, number in exact.items()
        ]
        with sql.writing(conn, writes) as pending:
            pending.upsert(_h, held, ("device_id", "record_id"), _REPLACE_HOLDING)
    if others:
        # Read from the store: a write to a purged record is answered "unchanged" but
        # left nothing there to hold.
        sql.run(conn, _pushed_holdings(feed.insert_for(conn)), {"device_id": device_id, "ids": others})


@cache
def _pushed_holdings(insert):
    """The statement of ``mark_pushed`` for ``others``, built once per backend."""
    held = select(bindparam("device_id", type_=String), records.c.id, literal(UNKNOWN), literal(PUSHED), null())
    stmt = insert(_h).from_select(
        ["device_id", "record_id", "change_no", "tag", "digest"], held.where(in_ids(records.c.id))
    )
    return sql.once(_write_holdings(stmt))


def held_current_rows(tag: str):
    """Rows (``tag``, record id, NULL, NULL) of the ids bound as ``held`` that the device bound
    as ``device_id`` holds at their stored version: to go in a union with other facts."""
    return (
        select(literal(tag), _h.c.record_id, null(), null())
        .select_from(_h.join(records, records.c.id == _h.c.record_id))
        .where(
            _h.c.device_id == bindparam("device_id", type_=String),
            in_ids(_h.c.record_id, "held"),
            _h.c.change_no == records.c.change_no,
        )
    )


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
