"""The learning log: reviews per stage, each with a snapshot of the results at the time."""

from __future__ import annotations

import json

from flask import abort, render_template, request
from sqlalchemy import select

from server.domain.models import Review
from server.domain.words import ROLES
from server.extensions import db
from server.staff.access import project_page
from server.staff.forms import REVIEW_TEXT_FIELDS, ROLE_FIELDS, ReviewForm
from server.staff.pages import form_page, saved
from server.staff.results import stage_results
from server.staff.writes import create_review


@project_page("/projects/<project_id>/reviews")
def reviews(project):
    """List the learning log, newest first."""
    rows = (
        db.session.execute(
            select(Review).where(Review.project_id == project.id).order_by(Review.date.desc(), Review.id.desc())
        )
        .scalars()
        .all()
    )
    entries = [(r, json.loads(r.snapshot or "{}"), json.loads(r.roles or "{}")) for r in rows]
    return render_template("staff/reviews.html", project=project, entries=entries)


@project_page("/projects/<project_id>/reviews/new", methods=["GET", "POST"])
def new_review(project):
    """Write a review of a stage; the stage's results are attached as they stand."""
    form = ReviewForm(stage=request.args.get("stage", project.current_stage))
    if form.validate_on_submit():
        snapshot = stage_results(db.session, project.id, form.stage.data, project.target_rung).snapshot()
        roles = {role: getattr(form, f"role_{role}").data or 0 for role in ROLES}
        create_review(
            project.id,
            form.stage.data,
            form.date.data.isoformat(),
            {name: getattr(form, name).data or "" for name in REVIEW_TEXT_FIELDS},
            {role: n for role, n in roles.items() if n},
            snapshot,
        )
        done = "Review added to the learning log, with a snapshot of the results."
        return saved(done, "staff.reviews", project_id=project.id)
    return form_page(
        "staff/review_new.html",
        project=project,
        form=form,
        text_fields=REVIEW_TEXT_FIELDS,
        role_fields=ROLE_FIELDS,
    )


def _review_or_404(project_id: str, review_id: str) -> Review:
    review = db.session.get(Review, review_id)
    if review is None or review.project_id != project_id:
        abort(404)
    return review


@project_page("/projects/<project_id>/reviews/<review_id>", find=_review_or_404)
def review(project, entry):
    """Show one review in full, with its snapshot of the results."""
    return render_template(
        "staff/review.html",
        project=project,
        review=entry,
        snapshot=json.loads(entry.snapshot or "{}"),
        roles=json.loads(entry.roles or "{}"),
        text_fields=REVIEW_TEXT_FIELDS,
    )
