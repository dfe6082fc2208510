"""The staff area's doors, opened by the one access rule in ``server.domain.access``.

Admins see every project. Coordinators see the projects they belong to
(``project_staff``). Workers see only a list of their projects: results and
personal data are for coordinators, so every other page answers 403 to them.
A project someone does not belong to answers 404, so its existence stays private.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

from server.auth.models import Role
from server.domain import access
from server.domain.checklist import STAGES
from server.domain.models import Project
from server.extensions import db, login_manager
from server.staff import bp

COORDINATING = (Role.ADMIN, Role.COORDINATOR)


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


def project_or_404(project_id: str) -> Project:
    """Return a project the current coordinator or admin may manage, or answer 404."""
    project = db.session.get(Project, project_id)
    if project is None or not access.manages_project(db.session.connection(), current_user, project_id):
        abort(404)
    return project


_RULE_VALUE = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")


def project_page(rule: str, *, methods=("GET",), find: Callable[[str, str], Any] | None = None):
    """Register a coordinator's page of one project: the route, the door and the project, in one place.

    The view gets the project (404 for anyone who may not manage it) in place of ``project_id``.
    With ``find``, it also gets ``find(project.id, value)`` in place of the rule's next value, such
    as the action for ``<action_id>``; ``find`` answers 404 for what is not this project's.
    The rule's other values come as keywords, as usual.
    """
    names = _RULE_VALUE.findall(rule)
    if names[:1] != ["project_id"] or (find and len(names) < 2):
        raise ValueError(f"{rule}: a project page's rule starts with <project_id>, then what find looks up")
    found = names[1] if find else None

    def register(view):
        @wraps(view)
        def page(project_id, **values):
            project = project_or_404(project_id)
            if found is None:
                return view(project, **values)
            return view(project, find(project.id, values.pop(found)), **values)

        bp.add_url_rule(rule, view_func=coordinator_required(page), methods=list(methods))
        return view

    return register


def stage_or_404(stage: str) -> str:
    if stage not in STAGES:
        abort(404)
    return stage


def visible_projects(user) -> list[Project]:
    """Projects this staff member may see, newest first."""
    return list(db.session.execute(access.projects_query(user)).scalars())
