"""The domain's plug into the merge engine: validation, then the access rule, scope, projections.

``DomainHooks(actor)`` is passed to ``sync.store.push`` / ``write_local``. The
actor is a ``Device`` (a participant's phone or a staff member's device), a
staff ``User`` (writes the server makes for someone signed in to the staff
pages) or ``SYSTEM`` (the server itself: seeding, project setup, erasure).
Who may write what is decided in ``server.domain.access``; the projection
tables are kept in ``server.domain.projections``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from server.devices import PARTICIPANT, Device
from server.domain import access, types
from server.domain.actors import NOBODY, PARTICIPANT_KIND, SYSTEM, Who, who_is  # noqa: F401
from server.domain.models import Participant, ProjectStaff, Statement
from server.domain.projections import project
from sync.records import Record, merge
from sync.schema import records
from sync.store import Hooks, Rejection, Scope


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
        # participant id -> (project_id, age_band, author_id, has_device), from the batch or the store
        self._participants: dict[str, tuple | None] = {}
        self._authors: dict[str, str | None] = {}
        self._subjects: dict[str, str | None] = {}  # stored subject (participant) of each record
        self._statements: dict[str, str | None] = {}

    # ------------------------------------------------------------ helpers

    @property
    def conn(self) -> Connection:
        return self._conn_given if self._conn_given is not None else _conn()

    def staff_projects(self) -> frozenset[str]:
        if self._staff_projects is None:
            rows = self.conn.execute(
                select(ProjectStaff.project_id).where(ProjectStaff.user_id == self.who.user_id)
            ).scalars()
            self._staff_projects = frozenset(rows)
        return self._staff_projects

    def _load_participants(self, pids: set[str]) -> None:
        """Read project, age band, recorder and custody of these participants in two queries."""
        pids = pids - self._participants.keys()
        if not pids:
            return
        found = {
            pid: (project_id, age_band)
            for pid, project_id, age_band in self.conn.execute(
                select(Participant.id, Participant.project_id, Participant.age_band).where(
                    Participant.id.in_(pids)
                )
            )
        }
        authors = dict(
            self.conn.execute(
                select(records.c.id, records.c.author_id).where(
                    records.c.id.in_(pids), records.c.type == "participant"
                )
            ).all()
        )
        with_device = set(
            self.conn.execute(
                select(Device.participant_id).where(
                    Device.kind == PARTICIPANT, Device.participant_id.in_(pids)
                )
            ).scalars()
        )
        for pid in pids:
            if pid in found:
                self._participants[pid] = (*found[pid], authors.get(pid), pid in with_device)
            elif pid in with_device:
                self._participants[pid] = (None, None, None, True)
            else:
                self._participants[pid] = None

    def _participant(self, pid: str) -> tuple | None:
        """(project_id, age_band, author_id, has_device) of a participant, or None."""
        self._load_participants({pid})
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

    def _deleted_owner_check(self, incoming: Record) -> Rejection | None:
        """A write on a deleted record: refuse it unless it was the writer's to change."""
        who = self.who
        owner = self._subjects.get(incoming.id)
        if who.kind == "system" or owner is None:
            return None
        if who.kind == PARTICIPANT_KIND:
            if owner != who.participant_id:
                return _forbidden("participant_id", "You can only change your own records.")
            return None
        known = self._participant(owner)
        if known is None or known[3]:
            return _forbidden("participant_id", "Only the family changes their own records.")
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
        for rid, scope in stored_scopes.items():
            self._authors.setdefault(rid, scope.author_id)
            self._subjects[rid] = scope.subject_id
        participant_ids, statement_ids = set(), set()
        for record in batch:
            fields = record.fields
            for name, ids in (("participant_id", participant_ids), ("statement_id", statement_ids)):
                register = fields.get(name)
                if register is not None and isinstance(register.v, str):
                    ids.add(register.v)
        self._load_participants(participant_ids)
        statement_ids -= self._statements.keys()
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
        who = self.who
        rtype = types.get(incoming.type)
        new = incoming.values()

        if current is not None and current.deleted is not None:
            # Already deleted, and deletion is one-way: whatever comes is dropped (a resent
            # deletion is "unchanged"). Still, only someone who could write it is told so.
            return self._deleted_owner_check(incoming)
        old = current.values() if current is not None else {}
        for name in rtype.fixed:
            if name in new and old.get(name) is not None and new[name] != old[name]:
                return _forbidden(name, "This cannot be changed once set.")

        merged = merge(current, incoming)
        if merged.deleted is None:
            values = merged.values()
            missing = rtype.missing(values)
            if missing is not None:
                return _invalid(missing, "Missing data for required field.")
        else:
            # A deletion: authorise against what the record held (or what came with it).
            values = {**new, **old}
            if not values and who.kind != "system":
                if rtype.natural_key is not None or rtype.name == "consent":
                    return _forbidden("id", "There is no such record to delete.")
                if (
                    rtype.name == "participant"
                    and who.kind == "participant"
                    and incoming.id != who.participant_id
                ):
                    return _forbidden("id", "You can only change your own records.")
                return None

        if rtype.natural_key is not None:
            try:
                expected = types.natural_id(rtype.natural_key(values))
            except KeyError:
                expected = None
            if expected is not None and expected != incoming.id:
                return _invalid("id", "The id must be the UUIDv5 of this record's natural key.")

        rejection = self._authorise(rtype, incoming, values, new, old, merged)
        if rejection is not None:
            return rejection

        if merged.deleted is None:
            if rtype.name == "participant":
                known = self._participants.get(incoming.id)
                self._participants[incoming.id] = (
                    values.get("project_id"),
                    values.get("age_band"),
                    known[2] if known else self.who.author_id,
                    known[3] if known else False,
                )
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

    def _authorise(self, rtype, incoming, values, new, old, merged) -> Rejection | None:
        """Ask the access rule; then check a checklist answer names a statement of its project."""
        person = None
        if rtype.owned:
            pid = values.get("participant_id")
            known = self._participant(pid) if isinstance(pid, str) else None
            if known is not None:
                person = access.Person(known[0], known[2], known[3])
        elif rtype.name == "participant":
            known = self._participant(incoming.id)
            if known is not None:
                person = access.Person(known[0], known[2], known[3])
        write = access.Write(
            type=rtype.name,
            id=incoming.id,
            values=values,
            new=new,
            old=old,
            deleting=merged.deleted is not None,
            stored_author=self._stored_author(incoming.id) if old else None,
        )
        rejection = access.authorise_write(self.who, write, person, self.staff_projects)
        if rejection is not None:
            return rejection
        if rtype.name == "checklist_answer" and merged.deleted is None and self.who.kind != "system":
            return self._statement_in_project(values, types.project_of(rtype.name, incoming.id, values))
        return None

    # ------------------------------------------------------------ scope

    def scope(self, merged: Record) -> Scope:
        author = self._authors.get(merged.id)
        if merged.deleted is not None:
            return Scope(None, None, author)
        rtype = types.get(merged.type)
        values = merged.values()
        project_id = types.project_of(merged.type, merged.id, values)
        if merged.type == "participant":
            subject = merged.id
        elif rtype is not None and rtype.owned:
            subject = values.get("participant_id")
        else:
            subject = None
        return Scope(project_id, subject, author)

    # ------------------------------------------------------------ projections

    def after_merge(self, conn: Connection, changed: list[Record]) -> None:
        project(conn, changed)
