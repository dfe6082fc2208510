"""The inspection evidence pack: one printable report of co-production across every stage."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from server.domain.checklist import STAGES
from server.domain.models import Review
from server.extensions import db
from server.public.content import project_loop, public_actions
from server.staff import bp
from server.staff.access import coordinator_required, project_or_404
from server.staff.results_views import cached_stage_results


@bp.get("/projects/<project_id>/evidence")
@coordinator_required
def evidence(project_id):
    """Show the evidence pack (verdicts, ladder, reach, actions, response rate, learning log) to print."""
    project = project_or_404(project_id)
    reviews = (
        db.session.execute(select(Review).where(Review.project_id == project.id).order_by(Review.date, Review.id))
        .scalars()
        .all()
    )
    return render_template(
        "staff/evidence.html",
        project=project,
        results=[(stage, cached_stage_results(project, stage)) for stage in STAGES],
        actions=public_actions(project.id),
        loop=project_loop(project.id),
        reviews=reviews,
    )
