"""Closing, reopening and archiving a project; a closed project's pages are read-only."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from server.domain import access
from server.extensions import db
from server.staff import bp, retention
from server.staff.access import project_or_404, project_page
from server.staff.models import audit
from server.staff.pages import saved

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


def _change_state(project, change, action: str, done: str, *, then: str = "staff.project"):
    """Close, reopen or archive the project (``change(project_id, by)``); say why when refused."""
    try:
        change(project.id, current_user._get_current_object())
    except ValueError as err:
        flash(str(err))
        return redirect(url_for("staff.project", project_id=project.id))
    audit(action, "project", project.id)
    return saved(done, then, **({"project_id": project.id} if then == "staff.project" else {}))


@project_page("/projects/<project_id>/close", methods=["POST"])
def close_project(project):
    """Close the project: families can no longer add to it and its pages become read-only."""
    done = "The project is closed. Its pages are read-only now."
    return _change_state(project, retention.close_project, "project_close", done)


@project_page("/projects/<project_id>/reopen", methods=["POST"])
def reopen_project(project):
    """Open a closed project again (not once its personal data was erased)."""
    return _change_state(project, retention.reopen_project, "project_reopen", "The project is open again.")


@project_page("/projects/<project_id>/archive", methods=["POST"])
def archive_project(project):
    """Archive a closed project: it leaves the list of projects."""
    archive = lambda pid, _by: retention.archive_project(pid)  # noqa: E731  (who archives is audited here)
    return _change_state(project, archive, "project_archive", "The project is archived.", then="staff.index")
