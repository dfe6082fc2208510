"""The public "You said, we did" pages at /p/<slug>: no sign-in, no JavaScript, no personal data.

Only staff-written text is shown (see ``server.public.content``).
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, render_template, request

from server.paging import Paging
from server.public.content import count_actions, project_responses, public_actions, published_page
from server.public.languages import project_languages

bp = Blueprint("public", __name__, url_prefix="/p")


# Actions per page, and in the feed: a big project has thousands, and a reader wants the newest.
PER_PAGE = 50


@bp.get("/<slug>")
def page(slug):
    """Show a project's published "You said, we did" page, newest actions first, 50 a page."""
    public, project = published_page(slug)
    # As on the staff lists: an old link past the end (the list got shorter) shows the last page, not 404.
    paging = Paging.of(count_actions(project.id), PER_PAGE, request.args.get("page"))
    return render_template(
        "public/page.html",
        page=public,
        project=project,
        actions=public_actions(project.id, paging.page, PER_PAGE),
        number=paging.page,
        pages=paging.pages,
        loop=project_responses(project.id),
        languages=project_languages(project.id, project.title, project.summary),
    )


@bp.get("/<slug>/feed.atom")
def feed(slug):
    """Give the published actions as an Atom feed, newest change first."""
    public, project = published_page(slug)
    body = render_template(
        "public/feed.atom", page=public, project=project, actions=public_actions(project.id, 1, PER_PAGE)
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
