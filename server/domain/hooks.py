"""The domain's plug into the merge engine: validation, then the access rule, scope, projections.

``DomainHooks(actor)`` is passed to ``sync.store.push`` / ``write_local``. The
actor is a ``Device`` (a participant's phone or a staff member's device), a
staff ``User`` (writes the server makes for someone signed in to the staff
pages) or ``SYSTEM`` (the server itself: seeding, project setup, erasure).
Who may write what is decided in ``server.domain.access``; the projection
tables are kept in ``server.domain.projections``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import String, literal, null, select, union_all
from sqlalchemy.engine import Connection

from server.auth.devices import PARTICIPANT, Device, is_device
from server.domain import access, stage_counts, types
from server.domain.actors import NOBODY, PARTICIPANT_KIND, SYSTEM, Who, who_is  # noqa: F401
from server.domain.models import Participant, Project, ProjectStaff, Statement
from server.domain.projections import project
from server.domain.pulls import held_current_rows
from sync import sql
from sync.records import Record
from sync.schema import records
from sync.sql import in_ids
from sync.store import Hooks, Rejection, Scope


def _conn() -> Connection:
    from server.extensions import db

    return db.session.connection()


def _forbidden(field: str | None, message: str) -> Rejection:
    return Rejection("forbidden", field, message)


def _invalid(field: str | None, message: str) -> Rejection:
    return Rejection("invalid", field, message)


def _sort_facts(rows, statements: dict, held: set, counts_rows: list) -> tuple[dict, dict, set, set]:
    """Split the rows of the facts query by what each says it is (the
    stage counts' rows, tagged in lower case, go to ``counts_rows`` whole)."""
    found, authors, with_device, closed = {}, {}, set(), set()
    for row in rows:
        kind, key, first, second = row[:4]
        if kind == "H":
            held.add(key)
        elif kind == "P":
            found[key] = (first, second)
        elif kind == "A":
            authors[key] = first
        elif kind == "D":
            with_device.add(key)
        elif kind == "S":
            statements[key] = first
        elif kind == "C":
            closed.add(key)
        else:
            counts_rows.append(row)
    return found, authors, with_device, closed


@cache
def _facts_query(with_closed: bool):
    """The query of ``DomainHooks._load_participants``, built once (building costs more than running)."""
    return sql.once(union_all(*_facts_parts(with_closed)))


@cache
def _facts_parts(with_closed: bool, counts_dialect: str | None = None) -> tuple:
    """The selects of the facts query, tagged in upper case; with ``counts_dialect``, the
    stage counts' selects for the people ``ids_counted`` and feedback ``fids`` too (nine
    columns each, so the facts' are padded to nine: the store reads them all with the
    batch's stored records, ``DomainHooks.read_with_current``)."""
    parts = [
        select(literal("P"), Participant.id, Participant.project_id, Participant.age_band).where(
            in_ids(Participant.id, "pids")
        ),
        select(literal("A"), records.c.id, records.c.author_id, null()).where(
            in_ids(records.c.id, "pids"), records.c.type == "participant"
        ),
        select(literal("D"), Device.participant_id, null(), null()).where(
            Device.kind == PARTICIPANT, in_ids(Device.participant_id, "pids")
        ),
        select(literal("S"), Statement.id, Statement.project_id, null()).where(in_ids(Statement.id, "sids")),
        # Of the batch's stored records, those the pushing device holds at their version.
        held_current_rows("H"),
    ]
    if with_closed:
        parts.append(select(literal("C"), Project.id, null(), null()).where(Project.status == "closed"))
    if counts_dialect is not None:
        none = literal(None, String)
        parts = [part.add_columns(*[none] * 5) for part in parts]
        parts += stage_counts.merge_rows_parts(counts_dialect, people="ids_counted")
    return tuple(parts)


class DomainHooks(Hooks):
    """Validate, authorise, scope and project records written by one actor.

    One instance serves one push (it remembers the participants accepted earlier
    in the batch, whose projection rows are written only after the batch).
    """

    def __init__(self, actor: Any, conn: Connection | None = None, writes: sql.Writes | None = None) -> None:
        self.actor = actor
        # The caller's held writes (``sync.sql.Writes``), flushed by the caller: the push
        # adds what the device holds to the projections' rows, one statement for all.
        self.writes = writes
        self.who = who_is(actor)
        self._conn_given = conn
        self._staff_projects: frozenset[str] | None = None
        self._closed_projects: frozenset[str] | None = None
        # participant id -> (project_id, age_band, author_id, has_device), from the batch or the store
        self._participants: dict[str, tuple | None] = {}
        self._authors: dict[str, str | None] = {}
        self._statements: dict[str, str | None] = {}
        # record id -> its identifying fields, as checked in this batch
        self._identities: dict[str, dict[str, Any]] = {}
        self._stored_scopes: dict[str, Scope] = {}
        # Ids whose merged state will equal the pushing device's own copy if the write
        # is applied: new records, and ones it holds at their stored version.
        self.echo_candidates: set[str] = set()
        # Ids whose record locks this push holds (also_lock): the counts need not lock them again.
        self._locked: frozenset[str] = frozenset()
        # The stage counts' rows read with the batch's facts (read_with_current), for after_merge.
        self._counted: stage_counts.Prefetched | None = None
        self._read_with_current: tuple = (set(), set(), None)
        self._held_read: set[str] = set()

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

    def closed_projects(self) -> frozenset[str]:
        """Ids of closed projects, read once per push: phones may not write into them."""
        if self._closed_projects is None:
            self._closed_projects = frozenset(self.conn.execute(access.closed_projects()).scalars())
        return self._closed_projects

    def _load_participants(self, pids: set[str]) -> None:
        """Read project, age band, recorder and custody of participants the batch's facts
        did not name (``read_with_current``), in one round trip (each row says what it is)."""
        pids = pids - self._participants.keys()
        if not pids and self._closed_projects is not None:
            return
        params = self._facts_params(pids, set(), [])
        rows = sql.rows(self.conn, _facts_query(self._closed_projects is None), params)
        self._absorb_facts(rows, pids, set())

    def _facts_params(self, pids, statement_ids, held) -> dict:
        params = {"pids": sorted(pids), "sids": sorted(statement_ids), "held": list(held)}
        params["device_id"] = self.actor.id if is_device(self.actor) else None
        return params

    def _absorb_facts(self, rows, pids, statement_ids, counted=None) -> set[str]:
        """Keep what the facts' rows say; return the held ids among them."""
        held_now: set[str] = set()
        counts_rows: list = []
        found, authors, with_device, closed = _sort_facts(rows, self._statements, held_now, counts_rows)
        if counted is not None:
            self._counted = stage_counts.Prefetched(counted[0], counted[1], counts_rows)
        if self._closed_projects is None:
            self._closed_projects = frozenset(closed)
        for sid in statement_ids:
            self._statements.setdefault(sid, None)
        for pid in pids:
            if pid in found:
                self._participants[pid] = (*found[pid], authors.get(pid), pid in with_device)
            elif pid in with_device:
                self._participants[pid] = (None, None, None, True)
            else:
                self._participants[pid] = None
        return held_now

    def _participant(self, pid: str) -> tuple | None:
        """(project_id, age_band, author_id, has_device) of a participant, or None."""
        self._load_participants({pid})
        return self._participants[pid]

    def _statement_in_project(self, values: dict, project_id: str | None) -> Rejection | None:
        sid = values.get("statement_id")
        if sid not in self._statements:
            self._statements[sid] = self.conn.execute(select(Statement.project_id).where(Statement.id == sid)).scalar()
        if self._statements[sid] is None or self._statements[sid] != project_id:
            return _invalid("statement_id", "This is not a statement of the project.")
        return None

    def _stored_author(self, rid: str) -> str | None:
        if rid not in self._authors:
            self._authors[rid] = self.conn.execute(select(records.c.author_id).where(records.c.id == rid)).scalar()
        return self._authors[rid]

    # ------------------------------------------------------------ prepare

    def read_with_current(self, conn, batch):
        """The batch's facts (participants, statements, what the device holds, closed
        projects) and the stage counts' rows of the people and feedback it names, read
        with the batch's stored records (sync.store): the push holds their locks already,
        so after_merge reads nothing more unless the merge touches someone else (a
        deletion's owner, an action's feedback)."""
        participant_ids, statement_ids = set(), set()
        people, feedback = set(), set()
        for record in batch:
            fields = record.fields
            for name, ids in (("participant_id", participant_ids), ("statement_id", statement_ids)):
                register = fields.get(name)
                if register is not None and isinstance(register.v, str):
                    ids.add(register.v)
            if record.type == "participant":
                people.add(record.id)
            elif record.type == "feedback":
                feedback.add(record.id)
        # Every id of the batch: only stored ones can be held at their stored version.
        held = [record.id for record in batch] if is_device(self.actor) else []
        pids = participant_ids - self._participants.keys()
        sids = statement_ids - self._statements.keys()
        counted = (frozenset(people | participant_ids), frozenset(feedback))
        self._read_with_current = (pids, sids, counted)
        params = self._facts_params(pids, sids, held)
        params.update(ids_counted=sorted(counted[0]), fids=sorted(counted[1]))
        return _facts_parts(self._closed_projects is None, conn.dialect.name), params

    def read_with_current_rows(self, rows) -> None:
        pids, sids, counted = self._read_with_current
        self._held_read = self._absorb_facts(rows, pids, sids, counted)

    def prepare(self, conn, batch, current, stored_scopes) -> None:
        """Take in what was read with the batch's stored records (``read_with_current``)."""
        self._stored_scopes.update(stored_scopes)
        if is_device(self.actor):
            self.echo_candidates = {record.id for record in batch if record.id not in current}
            self.echo_candidates |= self._held_read
        for rid, scope in stored_scopes.items():
            self._authors.setdefault(rid, scope.author_id)

    # ------------------------------------------------------------ check

    def check(self, incoming: Record, current: Record | None, merged: Record) -> Rejection | None:
        rejection = self._check(incoming, current, merged)
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

    def _check(self, incoming: Record, current: Record | None, merged: Record) -> Rejection | None:
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
        old = current.values() if current is not None else {}
        values = {**merged.values(), **identity}
        rejection = self._authorise(rtype, incoming, values, new, old, merged)
        if rejection is not None:
            return rejection

        if merged.deleted is None and rtype.missing(values) is None:
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
                if known is not None and known[1] == "under_13" and values.get("given_by") != "parent_carer":
                    return _invalid("given_by", "A parent or carer gives consent for a child under 13.")
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
        if self.who.device and types.project_of(rtype.name, incoming.id, values) in self.closed_projects():
            return Rejection("forbidden", "project_id", "This project is closed: it takes no new entries.")
        if rtype.name == "checklist_answer" and merged.deleted is None and self.who.kind != "system":
            return self._statement_in_project(values, types.project_of(rtype.name, incoming.id, values))
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

    def also_lock(self, batch) -> list[str]:
        """The people the batch's records belong to: their counts change under their lock."""
        owners = {r.fields["participant_id"].v for r in batch if "participant_id" in r.fields}
        owners = sorted(o for o in owners if isinstance(o, str))
        self._locked = frozenset(owners) | {r.id for r in batch}
        return owners

    def after_merge(self, conn: Connection, changed: list[Record]) -> None:
        project(conn, changed, self._locked, self.writes, self._counted)
