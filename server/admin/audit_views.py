"""The audit log, readable: filter by who, what, project and dates; page through; export as CSV."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask import Response, render_template, request
from sqlalchemy import func, select

from server.admin import bp
from server.admin.account_views import admin_required
from server.admin.forms import AuditFilterForm
from server.auth.models import User
from server.domain.models import Project
from server.extensions import db
from server.paging import Paging
from server.staff.exports import _safe
from server.staff.models import AuditLog, audit

PAGE_SIZE = 50
# What each kind of row means, in plain words; unknown kinds show as they are.
ACTIONS = {
    "view": "Looked at personal data",
    "export": "Downloaded data",
    "erase": "Erased a participant",
    "retention_purge": "Erased a closed project's participants",
    "invite": "Invited a staff member",
    "role_change": "Changed a role",
    "assign": "Put someone on a project",
    "unassign": "Took someone off a project",
    "deactivate": "Stopped an account",
    "reactivate": "Let an account sign in again",
    "password_set": "Set a new password",
    "two_step_on": "Turned on two-step sign-in",
    "two_step_off": "Turned off two-step sign-in",
    "project_close": "Closed a project",
    "project_reopen": "Opened a project again",
    "project_archive": "Archived a project",
}


def _filter_form() -> AuditFilterForm:
    form = AuditFilterForm(request.args)
    users = db.session.execute(select(User.id, User.name).order_by(User.name)).all()
    kinds = db.session.execute(select(AuditLog.action).distinct().order_by(AuditLog.action)).scalars().all()
    titles = db.session.execute(select(Project.id, Project.title).order_by(Project.title)).all()
    form.who.choices = [("", "Anyone")] + [(str(uid), name) for uid, name in users]
    form.what.choices = [("", "Anything")] + [(k, ACTIONS.get(k, k)) for k in kinds]
    form.project.choices = [("", "Any project")] + [(pid, title) for pid, title in titles]
    form.validate()
    return form


def _filtered(form: AuditFilterForm):
    query = select(AuditLog)
    if form.who.data and str(form.who.data).isdigit():
        query = query.where(AuditLog.user_id == int(form.who.data))
    if form.what.data:
        query = query.where(AuditLog.action == form.what.data)
    if form.project.data:
        query = query.where(AuditLog.project_id == form.project.data)
    if form.since.data and not form.since.errors:
        query = query.where(AuditLog.at >= datetime.combine(form.since.data, time.min))
    if form.until.data and not form.until.errors:
        query = query.where(AuditLog.at < datetime.combine(form.until.data, time.min) + timedelta(days=1))
    return query


def _names(entries) -> tuple[dict, dict]:
    user_ids = {e.user_id for e in entries if e.user_id}
    project_ids = {e.project_id for e in entries if e.project_id}
    users = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all()) if user_ids else {}
    titles = (
        dict(db.session.execute(select(Project.id, Project.title).where(Project.id.in_(project_ids))).all())
        if project_ids
        else {}
    )
    return users, titles


@dataclass(frozen=True)
class AuditList:
    """One page of the filtered audit log, newest first, with the names of its people and projects."""

    entries: list
    users: dict
    titles: dict
    paging: Paging


@bp.get("/audit")
@admin_required
def audit_log():
    """List the audit log, newest first, with filters."""
    form = _filter_form()
    query = _filtered(form)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar()
    paging = Paging.of(total, PAGE_SIZE, request.args.get("page"))
    entries = (
        db.session.execute(
            query.order_by(AuditLog.at.desc(), AuditLog.id.desc()).offset(paging.offset).limit(PAGE_SIZE)
        )
        .scalars()
        .all()
    )
    users, titles = _names(entries)
    log = AuditList(entries, users, titles, paging)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    status = 400 if form.errors else 200
    return render_template("admin/audit.html", form=form, log=log, actions=ACTIONS, args=args, detail=_detail), status


def _detail(entry) -> str:
    try:
        values = json.loads(entry.detail or "{}")
    except ValueError:
        return ""
    return ", ".join(f"{k}: {v}" for k, v in sorted(values.items()))


@bp.get("/audit.csv")
@admin_required
def audit_csv():
    """Download the filtered audit log as CSV; the download is itself recorded."""
    form = _filter_form()
    entries = db.session.execute(_filtered(form).order_by(AuditLog.at, AuditLog.id)).scalars().all()
    users, titles = _names(entries)
    audit(
        "export",
        "audit_log",
        "-",
        format="csv",
        rows=len(entries),
        filters={k: v for k, v in request.args.items() if v},
    )
    db.session.commit()
    buffer = io.StringIO()
    buffer.write("\ufeff")  # lets spreadsheet programs read UTF-8 correctly
    writer = csv.writer(buffer)
    writer.writerow(["when", "who", "what", "subject_type", "subject_id", "project", "detail"])
    for e in entries:
        row = [
            e.at.isoformat(timespec="seconds"),
            users.get(e.user_id, ""),
            e.action,
            e.subject_type,
            e.subject_id,
            titles.get(e.project_id, e.project_id or ""),
            e.detail,
        ]
        writer.writerow([_safe(v) for v in row])
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="withus-audit-log.csv"', "Cache-Control": "no-store"},
    )
