"""The public "You said, we did" pages at /p/<slug>: no sign-in, no JavaScript, no personal data.

Only staff-written text is shown: the project's title and summary, the page's
intro, and each action's "what we heard", "what we did", status and timeline.
Feedback itself, its authors and every id of a participant or feedback stay out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, Response, abort, render_template
from sqlalchemy import select

from server.domain.models import Action, Project
from server.extensions import db
from server.public.models import PublicPage
from server.staff.results import Loop, closing_the_loop

bp = Blueprint("public", __name__, url_prefix="/p")


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


def public_actions(project_id: str) -> list[PublicAction]:
    """Return the project's actions, newest change first, with only their staff-written parts."""
    rows = db.session.execute(
        select(Action.id, Action.heard, Action.done, Action.status, Action.reason, Action.updated_at, Action.timeline)
        .where(Action.project_id == project_id)
        .order_by(Action.updated_at.desc(), Action.id)
    ).all()
    return [
        PublicAction(r.id, r.heard or "", r.done or "", r.status, r.reason or "", r.updated_at, _timeline(r.timeline))
        for r in rows
    ]


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


@bp.get("/<slug>")
def page(slug):
    """Show a project's published "You said, we did" page."""
    public, project = published_page(slug)
    return render_template(
        "public/page.html",
        page=public,
        project=project,
        actions=public_actions(project.id),
        loop=project_loop(project.id),
    )


@bp.get("/<slug>/feed.atom")
def feed(slug):
    """Give the published actions as an Atom feed, newest change first."""
    public, project = published_page(slug)
    body = render_template(
        "public/feed.atom", page=public, project=project, actions=public_actions(project.id)
    )
    return Response(body, mimetype="application/atom+xml")


@bp.app_template_filter("public_percent")
def percent(share) -> str:
    """0.456 -> "46%"; None (no feedback yet) -> "0%"."""
    return f"{round((share or 0) * 100)}%"


@bp.app_template_filter("public_days")
def days(seconds: float) -> str:
    """A time in seconds as whole days, in words ("less than a day" under one)."""
    n = round(seconds / 86400)
    if n < 1:
        return "less than a day"
    return "1 day" if n == 1 else f"{n} days"


@bp.app_template_filter("public_date")
def long_date(iso: str) -> str:
    """2026-11-30 -> 30 November 2026."""
    try:
        return datetime.strptime(iso[:10], "%Y-%m-%d").strftime("%-d %B %Y")
    except ValueError:
        return iso


@bp.app_template_filter("public_iso")
def iso(moment: datetime) -> str:
    """A naive UTC time as an Atom date (RFC 3339)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@bp.context_processor
def names():
    from server.staff.forms import STATUS_NAMES

    return {"status_names": STATUS_NAMES}
