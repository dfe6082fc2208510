"""Who sees and changes what: the one access rule (docs/access.md says it in words).

Pushes, pulls, staff pages and exports all ask this module; nothing else decides
access. Three questions:

- ``visible_clause(actor)``: which rows of ``sync_records`` a device may hold,
  as an SQL condition, so pulls filter in the database.
- ``authorise_write(...)``: whether a push (or a server write for someone) may
  change a record.
- ``project_ids`` / ``manages_project`` / ``may_issue_claim``: the same rule for
  staff pages, exports and claim codes.

Custody: a participant is in custody while no participant device exists for
them (revoked ones count: custody ends for good). Staff see and act for a
participant only while they are in custody and have not withdrawn consent.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import String, and_, bindparam, exists, false, literal_column, or_, select, true
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from server.auth.devices import PARTICIPANT, Device
from server.domain import types
from server.domain.actors import (
    NOBODY,
    PARTICIPANT_KIND,
    STAFF_KIND,
    SYSTEM_KIND,
    Who,
    staff_author,
    who_is,
)
from server.domain.models import ActionFeedback, Consent, Feedback, Project, ProjectStaff
from sync.records import Record, Register
from sync.schema import records
from sync.store import Rejection

# What a staff device sees of a project besides the people in custody.
STAFF_PROJECT_TYPES = ("project", "statement", "action")
# What a participant device sees of its project besides its own records.
PARTICIPANT_PROJECT_TYPES = ("project", "statement")
STAFF_MODES = ("assisted", "proxy")


# ---------------------------------------------------------------- facts as SQL


def _projects_of(who: Who):
    """A SELECT of the project ids a staff member works on now."""
    return select(ProjectStaff.project_id).where(ProjectStaff.user_id == who.user_id)


def has_own_device(participant_id: ColumnElement) -> ColumnElement[bool]:
    """True when a participant device exists (or existed) for this participant: custody is over."""
    return exists().where(Device.kind == PARTICIPANT, Device.participant_id == participant_id)


def consent_withdrawn(participant_id: ColumnElement) -> ColumnElement[bool]:
    """True when the participant withdrew their consent."""
    return exists().where(Consent.participant_id == participant_id, Consent.withdrawn_at.is_not(None))


def _recorded_by_me(who: Who, participant_id: ColumnElement) -> ColumnElement[bool]:
    """The participant record was created by this staff member."""
    mine = records.alias("mine")
    return exists().where(
        mine.c.id == participant_id,
        # A literal, not a parameter: it matches the partial index on participants' authors.
        mine.c.type == literal_column("'participant'"),
        mine.c.author_id == who.author_id,
    )


def _staff_people(who: Who, r, in_projects: ColumnElement[bool]) -> ColumnElement[bool]:
    """Records of participants in custody the staff member may see (never equality)."""
    conditions = [
        in_projects,
        r.subject_id.is_not(None),
        r.type != "equality",
        ~has_own_device(r.subject_id),
        ~consent_withdrawn(r.subject_id),
    ]
    if not who.coordinates:
        conditions.append(_recorded_by_me(who, r.subject_id))
    return and_(*conditions)


def closed_projects():
    """A SELECT of the ids of closed projects: they leave every phone (their pages stay, read-only)."""
    return select(Project.id).where(Project.status == "closed")


def visible_clause(actor: Any, table=records) -> ColumnElement[bool]:
    """The condition on ``sync_records`` for what this actor's device may hold."""
    who = actor if isinstance(actor, Who) else who_is(actor)
    if who.kind == SYSTEM_KIND:
        return true()
    r = table.c
    return and_(in_open_project(r), _device_view(who, r))


def in_open_project(r=records.c) -> ColumnElement[bool]:
    """The record belongs to no project or to one that is not closed."""
    return or_(r.project_id.is_(None), r.project_id.not_in(closed_projects()))


# Any participant, their ids the parameters ``viewer`` and ``viewer_project``: the rule's
# clause for participants built once, for statements built once (building a pull's
# statements cost as much as running them). ``viewer_params`` binds a real participant.
ANY_PARTICIPANT = Who(
    PARTICIPANT_KIND,
    None,
    participant_id=bindparam("viewer", type_=String),
    project_id=bindparam("viewer_project", type_=String),
    device=True,
)


def viewer_params(who: Who) -> dict[str, str | None]:
    """The parameters of a clause made from ``ANY_PARTICIPANT``, for this participant."""
    return {"viewer": who.participant_id, "viewer_project": who.project_id}


def participant_view(who: Who, r=records.c) -> tuple[ColumnElement[bool], ...]:
    """What a participant's device may hold in open projects, in three parts no record is in
    twice: their own records, their project's, and the actions that answer their feedback.

    Apart, each part is found by its own index (a pull reads a phone's few new records
    by its subject, not everyone's changes since its last pull).
    """
    linked = (
        select(ActionFeedback.action_id)
        .join(Feedback, Feedback.id == ActionFeedback.feedback_id)
        .where(Feedback.participant_id == who.participant_id)
    )
    not_own = or_(r.subject_id.is_(None), r.subject_id != who.participant_id)
    return (
        r.subject_id == who.participant_id,
        and_(r.project_id == who.project_id, r.type.in_(PARTICIPANT_PROJECT_TYPES), not_own),
        and_(r.type == "action", r.id.in_(linked), not_own),
    )


def _device_view(who: Who, r) -> ColumnElement[bool]:
    """What a device may hold in open projects: the table in docs/access.md."""
    if who.kind == PARTICIPANT_KIND:
        return or_(*participant_view(who, r))
    if who.kind != STAFF_KIND:
        return false()
    in_projects = true() if who.is_admin else r.project_id.in_(_projects_of(who))
    return or_(
        and_(in_projects, r.type.in_(STAFF_PROJECT_TYPES)),
        _staff_people(who, r, in_projects),
    )


def visible_feedback_ids(conn: Connection, actor: Any, ids: set[str]) -> set[str]:
    """Of these feedback ids, the ones this actor's device may see (to cut action.feedback_ids)."""
    if not ids:
        return set()
    who = actor if isinstance(actor, Who) else who_is(actor)
    query = select(records.c.id).where(
        records.c.id.in_(sorted(ids)),
        records.c.type == "feedback",
        records.c.deleted.is_(None),
        visible_clause(who),
    )
    return set(conn.execute(query).scalars())


# ---------------------------------------------------------------- staff pages and exports


def project_ids(conn: Connection, user) -> list[str]:
    """The projects a staff member works on (an admin: every project)."""
    who = who_is(user)
    if who.kind != STAFF_KIND:
        return []
    if who.is_admin:
        return list(conn.execute(select(Project.id)).scalars())
    return list(conn.execute(_projects_of(who)).scalars())


def manages_project(conn: Connection, user, project_id: str) -> bool:
    """Tell whether a coordinator or admin may manage this project's pages and exports."""
    who = who_is(user)
    if not who.coordinates:
        return False
    if who.is_admin:
        return True
    found = conn.execute(_projects_of(who).where(ProjectStaff.project_id == project_id)).first()
    return found is not None


def projects_query(user):
    """A SELECT of the Project rows a staff member may see on the pages, newest first."""
    who = who_is(user)
    query = select(Project).order_by(Project.created_at.desc(), Project.title)
    if who.kind != STAFF_KIND:
        return query.where(false())
    if not who.is_admin:
        query = query.where(Project.id.in_(_projects_of(who)))
    return query


# ---------------------------------------------------------------- custody and claims


def in_custody(conn: Connection, participant_id: str) -> bool:
    """True while no participant device exists for this participant."""
    return not conn.execute(select(has_own_device(participant_id))).scalar()


def may_issue_claim(conn: Connection, actor: Any, participant_id: str) -> Rejection | None:
    """Whether this staff device may make a claim code for the participant; None if it may."""
    who = who_is(actor)
    row = conn.execute(
        select(records.c.project_id, records.c.author_id, records.c.deleted).where(
            records.c.id == participant_id, records.c.type == "participant"
        )
    ).first()
    if row is None or row.deleted is not None or row.project_id is None:
        return Rejection("not_found", "participant_id", "There is no such participant in your projects.")
    if who.kind != STAFF_KIND or not (who.is_admin or row.project_id in set(conn.execute(_projects_of(who)).scalars())):
        return Rejection("not_found", "participant_id", "There is no such participant in your projects.")
    if not in_custody(conn, participant_id):
        return Rejection(
            "forbidden",
            "participant_id",
            "This family already has the app on their own phone. They can add another phone from Settings.",
        )
    if not who.coordinates and row.author_id != who.author_id:
        return Rejection("forbidden", "participant_id", "You can only hand over people you recorded.")
    return None


# ---------------------------------------------------------------- writes


def stamp_recorder(who: Who, record: Record) -> Record:
    """Set ``recorded_by`` on a staff device's write from its token, never from the body.

    The register takes the write's own greatest stamp, so a resent batch is still
    unchanged and the value travels with the write that set it. A family's phone
    gets nothing added (its records must stay exactly what it wrote); the write
    rule refuses a family's write that names a recorder.
    """
    rtype = types.get(record.type)
    if who.kind != STAFF_KIND or rtype is None or not rtype.has_mode:
        return record
    if record.deleted is not None or not record.fields:
        return record
    stamp = max(reg.t for reg in record.fields.values())
    fields = dict(record.fields)
    fields["recorded_by"] = Register(str(who.user_id), stamp)
    return Record(record.type, record.id, fields, None)


class Person(NamedTuple):
    """What the write rule needs to know about a participant."""

    project_id: str | None
    author_id: str | None  # who created the participant record
    has_device: bool  # custody is over


class Write(NamedTuple):
    """One record write, as the write rule sees it (a named tuple, as ``sync.store``'s
    per-record values are: made for every record pushed)."""

    type: str
    id: str
    values: dict  # identifying and merged values (what the record holds after the write)
    new: dict  # the fields this write sets
    old: dict  # the fields stored before
    deleting: bool
    stored_author: str | None  # author_id of the stored record, None when new


def _forbidden(field: str | None, message: str) -> Rejection:
    return Rejection("forbidden", field, message)


def authorise_write(who: Who, write: Write, person: Person | None, staff_projects) -> Rejection | None:
    """Apply the write rule to one record; None when allowed.

    ``person`` is the participant the record belongs to (None when unknown or not
    an owned record); ``staff_projects`` is a callable giving the staff member's
    project ids, read only when needed.
    """
    if who.kind == SYSTEM_KIND:
        return None
    if who.kind == NOBODY:
        return _forbidden(None, "This device may not write records.")
    rtype = types.get(write.type)
    if who.kind == PARTICIPANT_KIND:
        return _participant_write(who, rtype, write)
    return _staff_write(who, rtype, write, person, staff_projects)


def _participant_write(who: Who, rtype, write: Write) -> Rejection | None:
    if rtype.server_only:
        return _forbidden("type", "Only the server writes records of this type.")
    owner = write.id if rtype.name == "participant" else write.values.get("participant_id")
    if owner != who.participant_id:
        field = "id" if rtype.name == "participant" else "participant_id"
        return _forbidden(field, "You can only change your own records.")
    project_id = types.project_of(rtype.name, write.id, write.values)
    if project_id is not None and project_id != who.project_id:
        return _forbidden("project_id", "You can only write to the project you joined.")
    if rtype.has_mode and write.new.get("mode") not in (None, "self"):
        return _forbidden("mode", "Entries from your own phone are in your own words (mode self).")
    # The push API sets recorded_by from the token; anything else writing for a family is refused.
    if rtype.has_mode and write.new.get("recorded_by") is not None:
        return _forbidden("recorded_by", "Only staff record on someone's behalf.")
    return None


def _staff_write(who: Who, rtype, write: Write, person: Person | None, staff_projects) -> Rejection | None:
    project_id = types.project_of(rtype.name, write.id, write.values)
    if not (who.is_admin or (project_id is not None and project_id in staff_projects())):
        return _forbidden("project_id", "You do not work on this project.")
    if rtype.server_only:
        if who.device:
            return _forbidden("type", "Only the server writes records of this type.")
        if not who.coordinates:
            return _forbidden("type", "Only a coordinator changes this.")
        return None
    if rtype.name == "participant":
        if person is not None and person.has_device:
            return _forbidden("id", "This family uses the app on their own phone now; only they change it.")
        if not write.old and write.stored_author is None and not write.deleting:
            return None  # a new participant, met on a visit
        person = Person(project_id, write.stored_author, False)
    if person is None or person.project_id != project_id:
        return _forbidden("participant_id", "This person is not a participant of the project.")
    if person.has_device:
        return _forbidden("participant_id", "This family uses the app on their own phone now; only they change it.")
    if not who.coordinates and person.author_id != who.author_id:
        return _forbidden("participant_id", "You can only change entries for people you recorded.")
    return _staff_mode(who, rtype, write)


def _staff_mode(who: Who, rtype, write: Write) -> Rejection | None:
    """Staff write on someone's behalf only: never a family's own (self) entry."""
    if not rtype.has_mode:
        return None
    if write.old.get("mode") == "self":
        return _forbidden("mode", "This is the family's own entry; only they change it.")
    if write.deleting:
        mine = write.old.get("recorded_by") in (None, str(who.user_id))
        if not who.coordinates and not mine:
            return _forbidden("recorded_by", "You can only change what you recorded.")
        return None
    # An edit arriving before its creation may not carry the mode yet (protocol 1.1).
    if "mode" in write.values and write.values["mode"] not in STAFF_MODES:
        return _forbidden("mode", "Staff record in assisted or proxy mode.")
    # The push API sets recorded_by from the token, so the record names who changed it last.
    if write.values.get("recorded_by") != str(who.user_id):
        return _forbidden("recorded_by", "Record with your own user id.")
    stored_by = write.old.get("recorded_by")
    if not who.coordinates and stored_by is not None and stored_by != str(who.user_id):
        return _forbidden("recorded_by", "You can only change what you recorded.")
    return None


__all__ = [
    "Person",
    "Write",
    "authorise_write",
    "consent_withdrawn",
    "has_own_device",
    "in_custody",
    "manages_project",
    "may_issue_claim",
    "project_ids",
    "projects_query",
    "staff_author",
    "stamp_recorder",
    "visible_clause",
    "in_open_project",
    "participant_view",
    "visible_feedback_ids",
]
