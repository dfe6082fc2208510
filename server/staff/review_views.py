"""The learning log: reviews per stage, each with a snapshot of the results at the time."""

from __future__ import annotations

import json

from flask import abort, render_template, request
from sqlalchemy import select

from server.domain.models import Review
from server.domain.words import ROLES
from server.extensions import db
from server.staff import bp
from server.staff.access import coordinator_required, project_or_404
from server.staff.forms import REVIEW_TEXT_FIELDS, ROLE_FIELDS, ReviewForm
from server.staff.pages import form_page, saved
from server.staff.results import stage_results
from server.staff.writes import create_review


@bp.get("/projects/<project_id>/reviews")
@coordinator_required
def reviews(project_id):
    """List the learning log, newest first."""
    project = project_or_404(project_id)
    rows = (
        db.session.execute(
            select(Review).where(Review.project_id == project.id).order_by(Review.date.desc(), Review.id.desc())
        )
        .scalars()
        .all()
    )
    entries = [(r, json.loads(r.snapshot or "{}"), json.loads(r.roles or "{}")) for r in rows]
    return render_template("staff/reviews.html", project=project, entries=entries)


@bp.route("/projects/<project_id>/reviews/new", methods=["GET", "POST"])
@coordinator_required
def new_review(project_id):
    """Write a review of a stage; the stage's results are attached as they stand."""
    project = project_or_404(project_id)
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


@bp.get("/projects/<project_id>/reviews/<review_id>")
@coordinator_required
def review(project_id, review_id):
    """Show one review in full, with its snapshot of the results."""
    project = project_or_404(project_id)
    entry = db.session.get(Review, review_id)
    if entry is None or entry.project_id != project.id:
        abort(404)
    return render_template(
        "staff/review.html",
        project=project,
        review=entry,
        snapshot=json.loads(entry.snapshot or "{}"),
        roles=json.loads(entry.roles or "{}"),
        text_fields=REVIEW_TEXT_FIELDS,
    )
