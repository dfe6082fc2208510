"""Closing, reopening and archiving a project; a closed project's pages are read-only."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from server.domain import access
from server.extensions import db
from server.staff import bp, retention
from server.staff.access import coordinator_required, project_or_404
from server.staff.models import audit

# What still works on a closed project: opening it again, archiving it, and erasure.
ALLOWED_WHEN_CLOSED = {"staff.reopen_project", "staff.archive_project", "staff.erase_participant"}


@bp.before_request
def closed_projects_are_read_only():
    """Refuse every change to a closed project, before the view runs, with a page that says why."""
    project_id = (request.view_args or {}).get("project_id")
    if request.method != "POST" or not project_id or request.endpoint in ALLOWED_WHEN_CLOSED:
        return None
    # Only people who may see the project learn that it is closed; the view answers everyone else.
    if not current_user.is_authenticated:
        return None
    if not access.manages_project(db.session.connection(), current_user, project_id):
        return None
    if not retention.is_closed(project_id):
        return None
    project = project_or_404(project_id)
    return render_template("staff/closed.html", project=project), 409


@bp.post("/projects/<project_id>/close")
@coordinator_required
def close_project(project_id):
    """Close the project: families can no longer add to it and its pages become read-only."""
    project = project_or_404(project_id)
    retention.close_project(project.id, current_user._get_current_object())
    audit("project_close", "project", project.id)
    db.session.commit()
    flash("The project is closed. Its pages are read-only now.")
    return redirect(url_for("staff.project", project_id=project.id))


@bp.post("/projects/<project_id>/reopen")
@coordinator_required
def reopen_project(project_id):
    """Open a closed project again (not once its personal data was erased)."""
    project = project_or_404(project_id)
    try:
        retention.reopen_project(project.id, current_user._get_current_object())
    except ValueError as err:
        flash(str(err))
        return redirect(url_for("staff.project", project_id=project.id))
    audit("project_reopen", "project", project.id)
    db.session.commit()
    flash("The project is open again.")
    return redirect(url_for("staff.project", project_id=project.id))


@bp.post("/projects/<project_id>/archive")
@coordinator_required
def archive_project(project_id):
    """Archive a closed project: it leaves the list of projects."""
    project = project_or_404(project_id)
    try:
        retention.archive_project(project.id)
    except ValueError as err:
        flash(str(err))
        return redirect(url_for("staff.project", project_id=project.id))
    audit("project_archive", "project", project.id)
    db.session.commit()
    flash("The project is archived.")
    return redirect(url_for("staff.index"))
