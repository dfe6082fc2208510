"""Who may see what in the staff area.

Admins see every project. Coordinators see the projects they belong to
(``project_staff``). Workers see only a list of their projects: results and
personal data are for coordinators, so every other page answers 403 to them.
A project someone does not belong to answers 404, so its existence stays private.
"""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import select

from server.checklist import STAGES
from server.domain.models import Project, ProjectStaff
from server.extensions import db, login_manager

COORDINATING = ("admin", "coordinator")


def roles_required(*roles: str):
    """Let signed-in staff with one of ``roles`` through; others get 403, strangers sign in."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.is_active:
                # A deactivated account keeps its session cookie; it opens nothing here.
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


coordinator_required = roles_required(*COORDINATING)


def belongs(user, project_id: str) -> bool:
    """Tell whether ``user`` is on the project's staff."""
    return (
        db.session.execute(
            select(ProjectStaff.user_id).where(
                ProjectStaff.project_id == project_id, ProjectStaff.user_id == user.id
            )
        ).first()
        is not None
    )


def project_or_404(project_id: str) -> Project:
    """Return a project the current coordinator or admin may manage, or answer 404."""
    project = db.session.get(Project, project_id)
    if project is None:
        abort(404)
    if current_user.role != "admin" and not belongs(current_user, project_id):
        abort(404)
    return project


def stage_or_404(stage: str) -> str:
    if stage not in STAGES:
        abort(404)
    return stage


def visible_projects(user) -> list[Project]:
    """Projects this staff member may see, newest first."""
    query = select(Project).order_by(Project.created_at.desc(), Project.title)
    if user.role != "admin":
        query = query.join(ProjectStaff, ProjectStaff.project_id == Project.id).where(
            ProjectStaff.user_id == user.id
        )
    return list(db.session.execute(query).scalars())
