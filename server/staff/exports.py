"""Exports of a project's answers, feedback and actions as CSV and XLSX.

People appear as pseudonymous ids and roles only, never display names. Every
download is written to the audit log before the first byte leaves.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from flask import Response, abort, render_template, stream_with_context
from openpyxl import Workbook
from sqlalchemy import and_, func, select

from server.attachment import attachment
from server.domain.models import (
    Action,
    ActionFeedback,
    ChecklistAnswer,
    Feedback,
    Participant,
    Statement,
)
from server.extensions import db
from server.staff import bp
from server.staff.access import coordinator_required, project_or_404
from server.staff.models import audit
from server.staff.results import consent_not_withdrawn

KINDS = ("answers", "feedback", "actions")
HEADERS = {
    "answers": (
        "answer_id",
        "participant",
        "role",
        "stage",
        "principle",
        "statement_id",
        "statement_version",
        "statement",
        "value",
        "comment",
        "mode",
    ),
    "feedback": (
        "feedback_id",
        "participant",
        "role",
        "stage",
        "principle",
        "text",
        "mode",
        "received_at",
        "action_ids",
    ),
    "actions": (
        "action_id",
        "stage",
        "you_said",
        "we_did",
        "status",
        "reason",
        "created_at",
        "updated_at",
        "feedback_linked",
        "timeline",
    ),
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value):
    """Keep spreadsheet programs from running a cell as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _iso(value) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""


def rows(project_id: str, kind: str) -> Iterator[tuple]:
    """Yield the export rows of one kind, streaming from the database."""
    stream = {"yield_per": 1000}
    if kind == "answers":
        a = ChecklistAnswer
        query = (
            select(
                a.id,
                a.participant_id,
                Participant.role,
                a.stage,
                Statement.principle,
                a.statement_id,
                Statement.version,
                Statement.text,
                a.value,
                a.comment,
                a.mode,
            )
            .join(Participant, Participant.id == a.participant_id)
            .outerjoin(Statement, Statement.id == a.statement_id)
            .where(a.project_id == project_id, consent_not_withdrawn(project_id, a.participant_id))
            .order_by(a.stage, a.participant_id, Statement.principle, Statement.order, a.id)
        )
        for row in db.session.execute(query.execution_options(**stream)):
            yield tuple(row)
    elif kind == "feedback":
        f = Feedback
        links = (
            select(ActionFeedback.feedback_id, ActionFeedback.action_id)
            .join(f, f.id == ActionFeedback.feedback_id)
            .where(f.project_id == project_id)
        )
        linked: dict[str, list[str]] = {}
        for feedback_id, action_id in db.session.execute(links):
            linked.setdefault(feedback_id, []).append(action_id)
        query = (
            select(
                f.id,
                f.participant_id,
                Participant.role,
                f.stage,
                f.principle,
                f.text,
                f.mode,
                f.received_at,
            )
            .join(Participant, Participant.id == f.participant_id)
            .where(f.project_id == project_id, consent_not_withdrawn(project_id, f.participant_id))
            .order_by(f.stage, f.received_at, f.id)
        )
        for row in db.session.execute(query.execution_options(**stream)):
            yield (*row[:7], _iso(row[7]), ";".join(sorted(linked.get(row[0], []))))
    elif kind == "actions":
        counts = (
            select(ActionFeedback.action_id, func.count().label("n"))
            .group_by(ActionFeedback.action_id)
            .subquery()
        )
        query = (
            select(Action, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, and_(counts.c.action_id == Action.id))
            .where(Action.project_id == project_id)
            .order_by(Action.stage, Action.created_at, Action.id)
        )
        for action, n in db.session.execute(query):
            timeline = " | ".join(
                f"{e.get('at', '')} {e.get('status', '')}"
                + (f": {e['note']}" if e.get("note") else "")
                for e in json.loads(action.timeline or "[]")
            )
            yield (
                action.id,
                action.stage,
                action.heard,
                action.done,
                action.status,
                action.reason or "",
                _iso(action.created_at),
                _iso(action.updated_at),
                n,
                timeline,
            )
    else:
        raise ValueError(kind)


@bp.get("/projects/<project_id>/exports")
@coordinator_required
def exports(project_id):
    """Offer the project's data as downloads."""
    project = project_or_404(project_id)
    return render_template("staff/exports.html", project=project, kinds=KINDS)


def _disposition(project, suffix: str, extension: str) -> str:
    return attachment(["withus", project.title, suffix], extension)


@bp.get("/projects/<project_id>/export/<kind>.csv")
@coordinator_required
def export_csv(project_id, kind):
    """Download one kind of data as CSV."""
    project = project_or_404(project_id)
    if kind not in KINDS:
        abort(404)
    disposition = _disposition(project, kind, "csv")

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")  # lets spreadsheet programs read UTF-8 correctly
        writer.writerow(HEADERS[kind])
        for n, row in enumerate(rows(project.id, kind)):
            writer.writerow([_safe(v) for v in row])
            if n % 500 == 499:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )
    # Audited once the response is built, so a download that cannot start leaves no row.
    audit("export", kind, project.id, format="csv")
    db.session.commit()
    return response


@bp.get("/projects/<project_id>/export/project.xlsx")
@coordinator_required
def export_xlsx(project_id):
    """Download answers, feedback and actions as one workbook with a sheet each."""
    project = project_or_404(project_id)
    book = Workbook(write_only=True)
    for kind in KINDS:
        sheet = book.create_sheet(kind)
        sheet.append(HEADERS[kind])
        for row in rows(project.id, kind):
            sheet.append([_safe(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    response = Response(
        out.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": _disposition(project, "data", "xlsx"), "Cache-Control": "no-store"},
    )
    audit("export", "project", project.id, format="xlsx")
    db.session.commit()
    return response
