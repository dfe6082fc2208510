"""What the public page and the evidence pack show of a project: staff-written text only.

The project's title and summary, the page's intro, and each action's "what we
heard", "what we did", status and timeline. Feedback itself, its authors and
every id of a participant or feedback stay out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from flask import abort
from sqlalchemy import func, select

from server.domain.models import Action, Project
from server.extensions import db
from server.public.models import PublicPage
from server.staff.results import Loop, Responses, closing_the_loop, responses


@dataclass(frozen=True, slots=True)
class PublicAction:
    id: str
    heard: str
    done: str
    status: str
    reason: str
    updated_at: datetime
    timeline: list[dict]


def published_page(slug: str) -> tuple[PublicPage, Project]:
    """Return the published page and its project, or answer 404 (also while unpublished)."""
    page = db.session.execute(
        select(PublicPage).where(PublicPage.slug == slug, PublicPage.published.is_(True))
    ).scalar_one_or_none()
    project = db.session.get(Project, page.project_id) if page else None
    if page is None or project is None:
        abort(404)
    return page, project


def public_actions(project_id: str, page: int = 1, per_page: int | None = None) -> list[PublicAction]:
    """Return the project's actions, newest change first, with only their staff-written parts.

    ``per_page`` None returns them all (the evidence pack); else that many, from ``page``.
    """
    query = (
        select(Action.id, Action.heard, Action.done, Action.status, Action.reason, Action.updated_at, Action.timeline)
        .where(Action.project_id == project_id)
        .order_by(Action.updated_at.desc(), Action.id)
    )
    if per_page is not None:
        query = query.limit(per_page).offset((max(1, page) - 1) * per_page)
    return [
        PublicAction(r.id, r.heard or "", r.done or "", r.status, r.reason or "", r.updated_at, _timeline(r.timeline))
        for r in db.session.execute(query)
    ]


def count_actions(project_id: str) -> int:
    """How many actions the project has (to page through them)."""
    return db.session.execute(select(func.count()).where(Action.project_id == project_id)).scalar_one()


def _timeline(raw: str | None) -> list[dict]:
    """Dated entries (at, status, note), oldest first; only those fields, whatever else is stored."""
    try:
        entries = json.loads(raw or "[]")
    except ValueError:
        return []
    keep = [
        {"at": str(e.get("at", ""))[:10], "status": e.get("status", ""), "note": e.get("note", "")}
        for e in entries
        if isinstance(e, dict)
    ]
    return sorted(keep, key=lambda e: e["at"])


def project_loop(project_id: str) -> Loop:
    """Share of the project's feedback that got a response, and the median time to the first one."""
    return closing_the_loop(db.session, project_id, None)


def project_responses(project_id: str) -> Responses:
    """Share of the project's feedback that got a response, and the median time to the first one."""
    return responses(db.session, project_id, None)
