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
from openpyxl.utils import get_column_letter
from sqlalchemy import and_, func, select

from server.attachment import attachment
from server.domain.checklist import LADDER, PRINCIPLE_NAMES, STAGES
from server.domain.models import (
    Action,
    ActionFeedback,
    ChecklistAnswer,
    Feedback,
    LadderRating,
    Participant,
    Project,
    Statement,
)
from server.extensions import db
from server.staff.access import project_page
from server.staff.forms import STATUS_NAMES
from server.staff.models import audit
from server.staff.results import consent_not_withdrawn
from server.staff.results_views import cached_stage_results
from server.staff.templating import PERSON_ROLES

KINDS = ("summary", "answers", "ladder", "feedback", "actions")
SHEET_NAMES = {
    "summary": "Summary",
    "answers": "Answers",
    "ladder": "Ladder ratings",
    "feedback": "Feedback",
    "actions": "Actions",
}
PERSON = "Participant (pseudonymous id)"
HEADERS = {
    "summary": (
        "Stage",
        "Verdict",
        "Why",
        "Principle",
        "Statement",
        "Agree",
        "Not sure",
        "Disagree",
        "Not answered",
        "Agreement",
        "30% or more disagree",
    ),
    "answers": (
        "Answer id",
        PERSON,
        "Role",
        "Stage",
        "Principle",
        "Statement id",
        "Statement version",
        "Statement",
        "Answer",
        "Comment",
        "How it was recorded",
    ),
    "ladder": (
        "Rating id",
        PERSON,
        "Role",
        "Stage",
        "Rung",
        "Rung name",
        "Comment",
        "How it was recorded",
    ),
    "feedback": (
        "Feedback id",
        PERSON,
        "Role",
        "Stage",
        "Principle",
        "Feedback",
        "How it was recorded",
        "Received (UTC)",
        "Action ids",
    ),
    "actions": (
        "Action id",
        "Stage",
        "You said",
        "We did",
        "Status",
        "Why it is not possible",
        "Recorded (UTC)",
        "Last changed (UTC)",
        "Feedback linked",
        "Timeline",
    ),
}
# Columns of free text get room to read; ids fit a whole UUID; the rest fit their heading.
WIDE = {"Why", "Statement", "Comment", "Feedback", "You said", "We did", "Timeline"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value):
    """Keep spreadsheet programs from running a cell as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _iso(value) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""


def rows(project_id: str, kind: str) -> Iterator[tuple]:
    """Yield the export rows of one kind, with plain labels, streaming from the database."""
    makers = {
        "summary": _summary_rows,
        "answers": _answer_rows,
        "ladder": _ladder_rows,
        "feedback": _feedback_rows,
        "actions": _action_rows,
    }
    if kind not in makers:
        raise ValueError(kind)
    yield from makers[kind](project_id)


_STREAM = {"yield_per": 1000}
VALUE_NAMES = {"agree": "Agree", "not_sure": "Not sure", "disagree": "Disagree"}
MODE_NAMES = {
    "self": "By themselves",
    "assisted": "With a worker",
    "proxy": "By a parent or carer, for a child",
}


def _role(role) -> str:
    return PERSON_ROLES.get(role, "Role not given")


def _who_and_stage(r) -> tuple:
    """The first four columns of a participant's row: its id, theirs, their role, the stage."""
    return (r[0], r[1], _role(r[2]), r[3].title())


def _principle(principle) -> str:
    return PRINCIPLE_NAMES.get(principle, principle or "")


def _summary_rows(project_id: str) -> Iterator[tuple]:
    """One row per stage with its verdict, then one per statement with its counts."""
    project = db.session.get(Project, project_id)
    for stage in STAGES:
        r = cached_stage_results(project, stage)
        v = r.verdict
        why = " ".join(p for p in (v.reason, v.ladder_note) if p)
        yield (stage.title(), v.name, why, "", "", "", "", "", "", "", "")
        for p in r.principles:
            for st in p.statements:
                yield (
                    stage.title(),
                    "",
                    "",
                    p.name,
                    st.text,
                    st.agree,
                    st.not_sure,
                    st.disagree,
                    st.unanswered,
                    st.level_name,
                    "Yes" if st.flagged else "No",
                )


def _answer_rows(project_id: str) -> Iterator[tuple]:
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
    for r in db.session.execute(query.execution_options(**_STREAM)):
        yield (
            *_who_and_stage(r),
            _principle(r[4]),
            r[5],
            r[6],
            r[7],
            VALUE_NAMES.get(r[8], r[8]),
            r[9] or "",
            MODE_NAMES.get(r[10], r[10]),
        )


def _ladder_rows(project_id: str) -> Iterator[tuple]:
    lr = LadderRating
    query = (
        select(lr.id, lr.participant_id, Participant.role, lr.stage, lr.rung, lr.comment, lr.mode)
        .join(Participant, Participant.id == lr.participant_id)
        .where(lr.project_id == project_id, consent_not_withdrawn(project_id, lr.participant_id))
        .order_by(lr.stage, lr.participant_id, lr.id)
    )
    names = {rung: name for rung, name, _ in LADDER}
    for r in db.session.execute(query.execution_options(**_STREAM)):
        yield (
            *_who_and_stage(r),
            r[4],
            names.get(r[4], ""),
            r[5] or "",
            MODE_NAMES.get(r[6], r[6]),
        )


def _feedback_rows(project_id: str) -> Iterator[tuple]:
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
        select(f.id, f.participant_id, Participant.role, f.stage, f.principle, f.text, f.mode, f.received_at)
        .join(Participant, Participant.id == f.participant_id)
        .where(f.project_id == project_id, consent_not_withdrawn(project_id, f.participant_id))
        .order_by(f.stage, f.received_at, f.id)
    )
    for r in db.session.execute(query.execution_options(**_STREAM)):
        yield (
            *_who_and_stage(r),
            _principle(r[4]),
            r[5],
            MODE_NAMES.get(r[6], r[6]),
            _iso(r[7]),
            ";".join(sorted(linked.get(r[0], []))),
        )


def _action_rows(project_id: str) -> Iterator[tuple]:
    counts = select(ActionFeedback.action_id, func.count().label("n")).group_by(ActionFeedback.action_id).subquery()
    query = (
        select(Action, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, and_(counts.c.action_id == Action.id))
        .where(Action.project_id == project_id)
        .order_by(Action.stage, Action.created_at, Action.id)
    )
    for action, n in db.session.execute(query):
        timeline = " | ".join(
            f"{str(e.get('at', ''))[:16].replace('T', ' ')} "
            f"{STATUS_NAMES.get(e.get('status'), e.get('status', ''))}" + (f": {e['note']}" if e.get("note") else "")
            for e in json.loads(action.timeline or "[]")
        )
        yield (
            action.id,
            action.stage.title(),
            action.heard,
            action.done,
            STATUS_NAMES.get(action.status, action.status),
            action.reason or "",
            _iso(action.created_at),
            _iso(action.updated_at),
            n,
            timeline,
        )


def column_width(header: str) -> int:
    """Give a column room for its kind of content, in Excel's character widths."""
    if header in WIDE:
        return 60
    if header.endswith(" id") or header == PERSON or header == "Action ids":
        return 38
    return max(12, len(header) + 4)


@project_page("/projects/<project_id>/exports")
def exports(project):
    """Offer the project's data as downloads."""
    return render_template("staff/exports.html", project=project, kinds=KINDS)


def _disposition(project, suffix: str, extension: str) -> str:
    return attachment(["withus", project.title, suffix], extension)


@project_page("/projects/<project_id>/export/<kind>.csv")
def export_csv(project, kind):
    """Download one kind of data as CSV."""
    if kind not in KINDS:
        abort(404)
    disposition = _disposition(project, kind, "csv")
    # Read now: the commit below expires ``project``, and the body streams after the view has
    # returned, when Flask-SQLAlchemy has removed the session it belonged to.
    project_id = project.id

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")  # lets spreadsheet programs read UTF-8 correctly
        writer.writerow(HEADERS[kind])
        for n, row in enumerate(rows(project_id, kind)):
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
    audit("export", kind, project_id, format="csv")
    db.session.commit()
    return response


@project_page("/projects/<project_id>/export/project.xlsx")
def export_xlsx(project):
    """Download the results summary, answers, ladder ratings, feedback and actions: a sheet each."""
    book = Workbook(write_only=True)
    for kind in KINDS:
        sheet = book.create_sheet(SHEET_NAMES[kind])
        # Set before the first row: a write-only sheet writes its settings first.
        sheet.freeze_panes = "A2"
        for n, header in enumerate(HEADERS[kind], start=1):
            sheet.column_dimensions[get_column_letter(n)].width = column_width(header)
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
