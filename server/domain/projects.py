"""Projects, their checklists and staff: the server's own writes, made as sync records.

Every function here works in the current ``db.session`` transaction and never
commits: the caller commits (so a page's change and its records land together).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from server.auth.models import User
from server.domain import access
from server.domain.actors import SYSTEM
from server.domain.checklist import DEFAULT_STATEMENTS, STAGES, default_translations
from server.domain.clock import catch_up, server_clock
from server.domain.codes import find_join_code, new_join_code  # noqa: F401  (re-exported)
from server.domain.hooks import DomainHooks
from server.domain.models import Project, ProjectStaff
from server.domain.projections import project as _project
from server.extensions import db
from sync.records import Record, fields_from_json
from sync.schema import records
from sync.store import push, write_local

DEMO_TITLE = "Short breaks: planning the summer together"
DEMO_SUMMARY = (
    "Families, young people and the short breaks team plan this summer's activities together: "
    "what happens, where, and how everyone can join in."
)


def _conn() -> Connection:
    return db.session.connection()


def read_record(record_id: str, conn: Connection | None = None) -> Record | None:
    """Return the merged state of one record, or None."""
    row = (
        (conn or _conn())
        .execute(select(records.c.type, records.c.fields, records.c.deleted).where(records.c.id == record_id))
        .first()
    )
    if row is None:
        return None
    return Record(row[0], record_id, fields_from_json(row[1]), row[2])


def write_record(
    rtype: str, record_id: str, values: dict[str, Any], actor: Any = SYSTEM, *, delete: bool = False
) -> Record:
    """Write (or delete) one record as the server, for ``actor``; return the merged record.

    The server's clock first folds in the record's stored stamps, so this write
    wins over every value it replaces. Raises ``sync.store.RecordRejected`` when
    the actor may not write it and ``sync.records.WireError`` when it is malformed.
    """
    conn = _conn()
    # write_local itself folds the record's stored stamps into the clock, under the lock.
    return write_local(conn, server_clock(), rtype, record_id, values, DomainHooks(actor, conn), delete=delete)


def write_records(
    items: Iterable[tuple[str, str, dict[str, Any]]], actor: Any = SYSTEM, *, delete: bool = False
) -> list:
    """Write several (type, id, values) records in one merge; return the outcomes."""
    from sync.records import Record as _Record

    items = list(items)
    conn = _conn()
    clock = server_clock()
    catch_up(conn, clock, [rid for _, rid, _ in items])
    batch = []
    for rtype, rid, values in items:
        stamp = clock.tick()
        batch.append(
            _Record.from_wire(
                {
                    "type": rtype,
                    "id": rid,
                    "fields": {} if delete else {k: {"v": v, "t": stamp} for k, v in values.items()},
                    "deleted": stamp if delete else None,
                }
            )
        )
    return push(conn, batch, DomainHooks(actor, conn))


def add_staff(project_id: str, users: Iterable[User | int]) -> None:
    """Put staff on a project (idempotent); each new assignment is audited."""
    from server.staff.models import audit

    for user in users:
        user_id = user if isinstance(user, int) else user.id
        if db.session.get(ProjectStaff, (project_id, user_id)) is None:
            db.session.add(ProjectStaff(project_id=project_id, user_id=user_id))
            audit("assignment_added", "project", project_id, staff_user_id=user_id)
    db.session.flush()


def remove_staff(project_id: str, user: User | int) -> None:
    """Take a staff member off a project; their devices get removals at their next pull."""
    from server.staff.models import audit

    user_id = user if isinstance(user, int) else user.id
    result = db.session.execute(
        delete(ProjectStaff).where(ProjectStaff.project_id == project_id, ProjectStaff.user_id == user_id)
    )
    if result.rowcount:
        audit("assignment_removed", "project", project_id, staff_user_id=user_id)


def staff_project_ids(user: User) -> list[str]:
    """The projects a staff member works on (an admin: every project)."""
    return access.project_ids(_conn(), user)


def staff_projects(user: User) -> list:
    """(id, title) of the projects a staff member works on, by title."""
    ids = staff_project_ids(user)
    if not ids:
        return []
    query = select(Project.id, Project.title).where(Project.id.in_(ids)).order_by(Project.title)
    return db.session.execute(query).all()


def project_of(record_id: str) -> str | None:
    """The project a stored record belongs to."""
    return db.session.execute(select(records.c.project_id).where(records.c.id == record_id)).scalar()


def create_project(
    title: str,
    summary: str,
    target_rung: int,
    coordinator: User,
    workers: Iterable[User] = (),
    *,
    project_id: str | None = None,
    actor: Any = SYSTEM,
) -> str:
    """Create a project with the default checklist and its staff; return its id."""
    project_id = project_id or str(uuid.uuid4())
    items = [
        (
            "project",
            project_id,
            {
                "title": title,
                "summary": summary or "",
                "current_stage": STAGES[0],
                "target_rung": target_rung,
                "status": "active",
            },
        )
    ]
    for order, (principle, text, easy_read, symbol) in enumerate(DEFAULT_STATEMENTS):
        items.append(
            (
                "statement",
                str(uuid.uuid4()),
                {
                    **_first_version(project_id, text, easy_read, symbol, principle, order),
                    "translations": default_translations(text),
                },
            )
        )
    _raise_rejected(write_records(items, actor))
    add_staff(project_id, [coordinator, *workers])
    return project_id


def _raise_rejected(outcomes) -> None:
    from sync.store import REJECTED, RecordRejected

    for outcome in outcomes:
        if outcome.status == REJECTED:
            raise RecordRejected(outcome.error)


def ensure_demo_project(project_id: str, coordinator: User, workers: Iterable[User], join_code: str) -> str:
    """Make the demo project, its staff and its join code if missing (safe to run twice)."""
    workers = list(workers)
    if db.session.get(Project, project_id) is None:
        create_project(DEMO_TITLE, DEMO_SUMMARY, 4, coordinator, workers, project_id=project_id)
    else:
        add_staff(project_id, [coordinator, *workers])
    existing = find_join_code(join_code)
    if existing is None:
        new_join_code(project_id, days=None, code=join_code)
    return project_id


def update_project(project_id: str, actor: Any = SYSTEM, **values: Any) -> Record:
    """Change a project's title, summary, current_stage, target_rung or status."""
    return write_record("project", project_id, values, actor)


def set_stage(project_id: str, stage: str, actor: Any = SYSTEM) -> Record:
    """Move a project to another stage (design, delivery, review)."""
    return write_record("project", project_id, {"current_stage": stage}, actor)


def _first_version(project_id, text, easy_read, symbol, principle, order) -> dict:
    """A new statement's fields: version 1, asked, replacing nothing."""
    return {
        "project_id": project_id,
        "text": text,
        "easy_read": easy_read,
        "symbol": symbol,
        "principle": principle,
        "order": order,
        "version": 1,
        "active": True,
        "replaces": None,
    }


def add_statement(
    project_id: str,
    text: str,
    principle: str,
    *,
    easy_read: str = "",
    symbol: str = "",
    order: int | None = None,
    actor: Any = SYSTEM,
) -> str:
    """Add a statement to a project's checklist; return its id."""
    from server.domain.models import Statement

    if order is None:
        top = db.session.execute(
            select(Statement.order).where(Statement.project_id == project_id).order_by(Statement.order.desc()).limit(1)
        ).scalar()
        order = 0 if top is None else top + 1
    statement_id = str(uuid.uuid4())
    write_record(
        "statement",
        statement_id,
        _first_version(project_id, text, easy_read, symbol, principle, order),
        actor,
    )
    return statement_id


EDITABLE = ("text", "easy_read", "symbol", "principle", "order")


def edit_statement(statement_id: str, actor: Any = SYSTEM, **changes: Any) -> str:
    """Make a new version of a statement; the old one stops being asked. Return the new id.

    Answers keep pointing at the version that was asked, so they keep their meaning.
    """
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"Cannot edit {sorted(unknown)} of a statement.")
    old = read_record(statement_id)
    if old is None or old.deleted is not None or old.type != "statement":
        raise LookupError(f"No statement {statement_id}.")
    values = old.values()
    new_id = str(uuid.uuid4())
    new_values = {
        **{k: values.get(k) for k in ("project_id", *EDITABLE)},
        **changes,
        "version": int(values.get("version") or 1) + 1,
        "active": True,
        "replaces": statement_id,
    }
    new_values["easy_read"] = new_values.get("easy_read") or ""
    new_values["symbol"] = new_values.get("symbol") or ""
    # Translations of the same words still fit the new version; of changed words, not.
    if values.get("translations") and not {"text", "easy_read"} & set(changes):
        new_values["translations"] = values["translations"]
    _raise_rejected(
        write_records(
            [
                ("statement", new_id, new_values),
                ("statement", statement_id, {"active": False}),
            ],
            actor,
        )
    )
    return new_id


def set_translations(record_type: str, record_id: str, translations: dict, actor: Any = SYSTEM) -> Record:
    """Replace the other-language texts of a statement or project (no new version)."""
    if record_type not in ("statement", "project"):
        raise ValueError("Only statements and projects are translated.")
    cleaned = {lang: {name: text for name, text in texts.items() if text} for lang, texts in translations.items()}
    return write_record(record_type, record_id, {"translations": cleaned}, actor)


def retire_statement(statement_id: str, actor: Any = SYSTEM) -> Record:
    """Stop asking a statement (answers to it are kept)."""
    return write_record("statement", statement_id, {"active": False}, actor)


def rebuild_projections(conn: Connection | None = None) -> int:
    """Re-project every record (after a projection bug fix); return how many were read."""
    conn = conn or _conn()
    rows = conn.execute(select(records.c.type, records.c.id, records.c.fields, records.c.deleted))
    batch = [Record(t, i, fields_from_json(f), d) for t, i, f, d in rows]
    for start in range(0, len(batch), 500):
        _project(conn, batch[start : start + 500])
    return len(batch)
