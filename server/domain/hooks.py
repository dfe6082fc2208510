"""The domain's plug into the merge engine: validation, authorisation, scope, projections.

``DomainHooks(actor)`` is passed to ``sync.store.push`` / ``write_local``. The
actor is a ``Device`` (a participant's phone or a staff member's device), a
staff ``User`` (writes the server makes for someone signed in to the staff
pages) or ``SYSTEM`` (the server itself: seeding, project setup, erasure).

``visible_clause(actor)`` is the condition on ``sync_records`` for pulls.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, false, or_, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from server.auth.models import Role, User, utcnow
from server.devices import PARTICIPANT, STAFF, Device
from server.domain import types
from server.domain.models import ActionFeedback, Feedback, Participant, ProjectStaff, Statement
from sync.records import Record, merge
from sync.schema import records
from sync.store import Hooks, Rejection, Scope


class _System:
    """The server acting for itself."""

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = _System()


@dataclass(frozen=True)
class Who:
    """The actor reduced to what authorisation needs."""

    kind: str  # "participant" | "staff" | "system"
    author_id: str | None
    participant_id: str | None = None
    project_id: str | None = None
    user_id: int | None = None
    role: str | None = None
    device: bool = False  # a device pushing, rather than the server writing


def who_is(actor: Any) -> Who:
    """Describe an actor: Device, User or SYSTEM."""
    if actor is SYSTEM:
        return Who("system", None)
    if isinstance(actor, Device):
        if actor.kind == PARTICIPANT:
            return Who(
                "participant",
                f"device:{actor.id}",
                participant_id=actor.participant_id,
                project_id=actor.project_id,
                device=True,
            )
        if actor.kind == STAFF:
            user = actor.user
            if user is None or not user.active:
                return Who("nobody", None, device=True)
            return Who("staff", f"user:{user.id}", user_id=user.id, role=user.role, device=True)
        return Who("nobody", None, device=True)
    if isinstance(actor, User):
        if not actor.active:
            return Who("nobody", None)
        return Who("staff", f"user:{actor.id}", user_id=actor.id, role=actor.role)
    raise TypeError(f"Not an actor: {actor!r}")


def _conn() -> Connection:
    from server.extensions import db

    return db.session.connection()


def _forbidden(field: str | None, message: str) -> Rejection:
    return Rejection("forbidden", field, message)


def _invalid(field: str | None, message: str) -> Rejection:
    return Rejection("invalid", field, message)


class DomainHooks(Hooks):
    """Validate, authorise, scope and project records written by one actor.

    One instance serves one push (it remembers the participants accepted earlier
    in the batch, whose projection rows are written only after the batch).
    """

    def __init__(self, actor: Any, conn: Connection | None = None) -> None:
        self.actor = actor
        self.who = who_is(actor)
        self._conn_given = conn
        self._staff_projects: frozenset[str] | None = None
        # participant id -> (project_id, age_band), from this batch or the projection
        self._participants: dict[str, tuple[str | None, str | None] | None] = {}
        self._authors: dict[str, str | None] = {}
        self._statements: dict[str, str | None] = {}
        # record id -> its identifying fields, as checked in this batch
        self._identities: dict[str, dict[str, Any]] = {}
        self._stored_scopes: dict[str, Scope] = {}

    # ------------------------------------------------------------ helpers

    @property
    def conn(self) -> Connection:
        return self._conn_given if self._conn_given is not None else _conn()

    def _all_projects(self) -> bool:
        return self.who.kind == "system" or (
            self.who.kind == "staff" and self.who.role == Role.ADMIN
        )

    def staff_projects(self) -> frozenset[str]:
        if self._staff_projects is None:
            rows = self.conn.execute(
                select(ProjectStaff.project_id).where(ProjectStaff.user_id == self.who.user_id)
            ).scalars()
            self._staff_projects = frozenset(rows)
        return self._staff_projects

    def _in_my_projects(self, project_id: str | None) -> bool:
        if self._all_projects():
            return True
        return project_id is not None and project_id in self.staff_projects()

    def _participant(self, pid: str) -> tuple[str | None, str | None] | None:
        if pid not in self._participants:
            row = self.conn.execute(
                select(Participant.project_id, Participant.age_band).where(Participant.id == pid)
            ).first()
            self._participants[pid] = (row[0], row[1]) if row else None
        return self._participants[pid]

    def _statement_in_project(self, values: dict, project_id: str | None) -> Rejection | None:
        sid = values.get("statement_id")
        if sid not in self._statements:
            self._statements[sid] = self.conn.execute(
                select(Statement.project_id).where(Statement.id == sid)
            ).scalar()
        if self._statements[sid] is None or self._statements[sid] != project_id:
            return _invalid("statement_id", "This is not a statement of the project.")
        return None

    def _stored_author(self, rid: str) -> str | None:
        if rid not in self._authors:
            self._authors[rid] = self.conn.execute(
                select(records.c.author_id).where(records.c.id == rid)
            ).scalar()
        return self._authors[rid]

    # ------------------------------------------------------------ prepare

    def prepare(self, conn, batch, current, stored_scopes) -> None:
        """Fetch the batch's stored authors, participants and statements in three queries."""
        self._stored_scopes.update(stored_scopes)
        for rid, scope in stored_scopes.items():
            self._authors.setdefault(rid, scope.author_id)
        participant_ids, statement_ids = set(), set()
        for record in batch:
            fields = record.fields
            for name, ids in (("participant_id", participant_ids), ("statement_id", statement_ids)):
                register = fields.get(name)
                if register is not None and isinstance(register.v, str):
                    ids.add(register.v)
        participant_ids -= self._participants.keys()
        statement_ids -= self._statements.keys()
        if participant_ids:
            found = {
                pid: (project_id, age_band)
                for pid, project_id, age_band in self.conn.execute(
                    select(Participant.id, Participant.project_id, Participant.age_band).where(
                        Participant.id.in_(participant_ids)
                    )
                )
            }
            for pid in participant_ids:
                self._participants[pid] = found.get(pid)
        if statement_ids:
            found = dict(
                self.conn.execute(
                    select(Statement.id, Statement.project_id).where(Statement.id.in_(statement_ids))
                ).all()
            )
            for sid in statement_ids:
                self._statements[sid] = found.get(sid)

    # ------------------------------------------------------------ check

    def check(self, incoming: Record, current: Record | None) -> Rejection | None:
        rejection = self._check(incoming, current)
        if rejection is None:
            if current is None:
                self._authors[incoming.id] = self.who.author_id
            else:
                self._stored_author(incoming.id)
        return rejection

    def screen(self, incoming: Record) -> Rejection | None:
        """Check what needs no stored state: the type, who may write it, each value's shape."""
        who = self.who
        rtype = types.get(incoming.type)
        if rtype is None:
            return Rejection(
                "unknown_type",
                "type",
                f"The server does not know records of type {incoming.type!r}.",
            )
        if who.kind == "nobody":
            return _forbidden(None, "This device may not write records.")
        if rtype.server_only and (who.device or who.kind == "participant"):
            return _forbidden("type", "Only the server writes records of this type.")
        new = incoming.values()
        if new:
            error = rtype.validate(new)
            if error is not None:
                field, message = error
                return _invalid(field, message)
        return None

    def _check(self, incoming: Record, current: Record | None) -> Rejection | None:
        # screen() has passed this record (the store screens every record before locking).
        rtype = types.get(incoming.type)
        new = incoming.values()
        identity, rejection = self._identity(rtype, incoming, current)
        if rejection is not None:
            return rejection
        self._identities[incoming.id] = identity

        # Authorise on the identifying fields, whatever the record's state: a write to a
        # deleted record, or one arriving before the creation, is judged like any other
        # (protocol 1.1, rules 2 and 3).
        merged = merge(current, incoming)
        old = current.values() if current is not None else {}
        values = {**merged.values(), **identity}
        rejection = self._authorise(rtype, incoming, values, new, old, merged)
        if rejection is not None:
            return rejection

        if merged.deleted is None and rtype.missing(values) is None:
            if rtype.name == "participant":
                self._participants[incoming.id] = (values.get("project_id"), values.get("age_band"))
            elif rtype.name == "consent":
                known = self._participant(values["participant_id"])
                if (
                    known is not None
                    and known[1] == "under_13"
                    and values.get("given_by") != "parent_carer"
                ):
                    return _invalid(
                        "given_by", "A parent or carer gives consent for a child under 13."
                    )
        return None

    def _identity(
        self, rtype: types.RecordType, incoming: Record, current: Record | None
    ) -> tuple[dict[str, Any], Rejection | None]:
        """Return the record's identifying fields: what the write carries, checked against what is stored.

        Every write carries them (protocol 1.1), so a write can be authorised before the
        record's creation arrives; a write to a record the server holds may leave them out.
        """
        carried = {name: incoming.fields[name].v for name in rtype.fixed if name in incoming.fields}
        known = self._known_identity(rtype, incoming.id, current)
        for name, value in carried.items():
            if known.get(name) is not None and known[name] != value:
                return {}, _forbidden(name, "This cannot be changed once set.")
        identity = {**known, **carried}
        if current is None:
            for name in rtype.fixed:
                if identity.get(name) is None:
                    return {}, _invalid(name, "Every change carries the record's identifying fields.")
            if rtype.natural_key is not None and types.natural_id(rtype.natural_key(identity)) != incoming.id:
                return {}, _invalid("id", "The id must be the UUIDv5 of this record's natural key.")
        return identity, None

    def _known_identity(self, rtype: types.RecordType, rid: str, current: Record | None) -> dict[str, Any]:
        """The identifying fields the server holds: the live values, or a tombstone's scope keys."""
        if current is None:
            return {}
        if current.deleted is None:
            values = current.values()
            return {name: values[name] for name in rtype.fixed if values.get(name) is not None}
        stored = self._stored_scopes.get(rid)
        if stored is None:
            # Deleted earlier in this batch: the identity seen then still holds.
            return dict(self._identities.get(rid, {}))
        known = {}
        if "project_id" in rtype.fixed and stored.project_id is not None:
            known["project_id"] = stored.project_id
        if "participant_id" in rtype.fixed and stored.subject_id is not None:
            known["participant_id"] = stored.subject_id
        return known

    def _authorise(self, rtype, incoming, values, new, old, merged) -> Rejection | None:
        who = self.who
        if who.kind == "system":
            return None
        project_id = types.project_of(rtype.name, incoming.id, values)

        if who.kind == "participant":
            if rtype.name == "participant":
                if incoming.id != who.participant_id:
                    return _forbidden("id", "You can only change your own records.")
            elif values.get("participant_id") != who.participant_id:
                return _forbidden("participant_id", "You can only change your own records.")
            if project_id is not None and project_id != who.project_id:
                return _forbidden("project_id", "You can only write to the project you joined.")
            if rtype.name == "checklist_answer" and merged.deleted is None:
                rejection = self._statement_in_project(values, project_id)
                if rejection is not None:
                    return rejection
            if rtype.has_mode and new.get("recorded_by") not in (None, old.get("recorded_by")):
                return _forbidden("recorded_by", "Only staff record on someone's behalf.")
            return None

        # Staff: a worker, coordinator or admin.
        if not self._in_my_projects(project_id):
            return _forbidden("project_id", "You do not work on this project.")
        if rtype.server_only:
            if who.role not in (Role.COORDINATOR, Role.ADMIN):
                return _forbidden("type", "Only a coordinator changes this.")
            return None
        if rtype.name == "checklist_answer" and merged.deleted is None:
            rejection = self._statement_in_project(values, project_id)
            if rejection is not None:
                return rejection
        if rtype.owned:
            pid = values.get("participant_id")
            known = self._participant(pid) if pid else None
            if known is None or known[0] != project_id:
                return _forbidden(
                    "participant_id", "This person is not a participant of the project."
                )
        if rtype.has_mode and merged.deleted is None:
            me = str(who.user_id)
            if "recorded_by" in new and new["recorded_by"] != me:
                return _forbidden("recorded_by", "Record with your own user id.")
            if "mode" in new and new["mode"] not in ("assisted", "proxy"):
                return _forbidden("mode", "Staff record in assisted or proxy mode.")
            # An edit arriving before its creation may not carry the mode yet (protocol 1.1).
            if "mode" in values and (
                values["mode"] not in ("assisted", "proxy") or values.get("recorded_by") is None
            ):
                return _forbidden(
                    "mode", "Staff record in assisted or proxy mode, with recorded_by."
                )
        return None

    # ------------------------------------------------------------ scope

    def scope(self, merged: Record) -> Scope:
        """Derive the scope keys from the identifying fields, so a tombstone keeps them too."""
        author = self._authors.get(merged.id)
        rtype = types.get(merged.type)
        values = merged.values()
        keys = {**values, **self._identities.get(merged.id, {})}
        project_id = types.project_of(merged.type, merged.id, keys)
        if merged.type == "participant":
            subject = merged.id
        elif rtype is not None and rtype.owned:
            subject = keys.get("participant_id")
        else:
            subject = None
        pending = merged.deleted is None and rtype is not None and rtype.missing(values) is not None
        return Scope(project_id, subject, author, pending)

    # ------------------------------------------------------------ projections

    def after_merge(self, conn: Connection, changed: list[Record]) -> None:
        project(conn, changed)


def _insert(conn: Connection):
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def project(conn: Connection, changed: list[Record]) -> None:
    """Bring the projection tables up to date with these merged records (set-based per type)."""
    live: dict[str, list[Record]] = defaultdict(list)
    gone: dict[str, list[str]] = defaultdict(list)
    for record in changed:
        rtype = types.get(record.type)
        if rtype is None:
            continue
        if record.deleted is not None or rtype.missing(record.values()) is not None:
            # Deleted, or still waiting for its creation: no projection row (protocol 1.1).
            gone[record.type].append(record.id)
        else:
            live[record.type].append(record)
    now = utcnow()
    for name, ids in gone.items():
        table = types.TYPES[name].model.__table__
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            conn.execute(delete(table).where(table.c.id.in_(chunk)))
            if name == "action":
                conn.execute(
                    delete(ActionFeedback.__table__).where(ActionFeedback.action_id.in_(chunk))
                )
            elif name == "feedback":
                conn.execute(
                    delete(ActionFeedback.__table__).where(ActionFeedback.feedback_id.in_(chunk))
                )
    insert = _insert(conn)
    for name, recs in live.items():
        rtype = types.TYPES[name]
        table = rtype.model.__table__
        rows = [rtype.project(r.id, r.values()) for r in recs]
        for column in ("created_at", "received_at", "updated_at"):
            if column in table.c:
                for row in rows:
                    row[column] = now
        stmt = insert(table)
        keep = set(rtype.insert_only) | {"id"}
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={col: stmt.excluded[col] for col in rows[0] if col not in keep},
        )
        conn.execute(stmt, rows)
        if name == "action":
            _link_feedback(conn, recs, now)


def _link_feedback(conn: Connection, actions: list[Record], now) -> None:
    """Keep action_feedback equal to each action's feedback_ids (linked_at kept for old links)."""
    table = ActionFeedback.__table__
    ids = [a.id for a in actions]
    existing: dict[str, set[str]] = defaultdict(set)
    for action_id, feedback_id in conn.execute(
        select(table.c.action_id, table.c.feedback_id).where(table.c.action_id.in_(ids))
    ):
        existing[action_id].add(feedback_id)
    add = []
    for action in actions:
        wanted = set(action.values().get("feedback_ids") or [])
        have = existing.get(action.id, set())
        drop = have - wanted
        if drop:
            conn.execute(
                delete(table).where(table.c.action_id == action.id, table.c.feedback_id.in_(drop))
            )
        add.extend(
            {"action_id": action.id, "feedback_id": f, "linked_at": now}
            for f in sorted(wanted - have)
        )
    if add:
        conn.execute(_insert(conn)(table).on_conflict_do_nothing(), add)


# ---------------------------------------------------------------- pulls


def visible_clause(actor: Any) -> ColumnElement[bool]:
    """The condition on sync_records for what this actor may pull."""
    who = who_is(actor)
    r = records.c
    if who.kind == "system":
        return true()
    if who.kind == "participant":
        linked_actions = (
            select(ActionFeedback.action_id)
            .join(Feedback, Feedback.id == ActionFeedback.feedback_id)
            .where(Feedback.participant_id == who.participant_id)
        )
        return or_(
            r.subject_id == who.participant_id,
            and_(r.project_id == who.project_id, r.type.in_(sorted(types.CONFIG_TYPES))),
            and_(r.type == "action", r.id.in_(linked_actions)),
        )
    if who.kind != "staff":
        return false()
    # Equality answers are shown only in aggregate: they reach only the device that recorded them.
    mine = r.author_id == who.author_id
    if who.role == Role.ADMIN:
        return or_(r.type != "equality", mine)
    projects = select(ProjectStaff.project_id).where(ProjectStaff.user_id == who.user_id)
    if who.role == Role.COORDINATOR:
        return or_(and_(r.project_id.in_(projects), r.type != "equality"), mine)
    return or_(and_(r.project_id.in_(projects), r.type.in_(sorted(types.CONFIG_TYPES))), mine)
