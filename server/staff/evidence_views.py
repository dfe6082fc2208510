"""The inspection evidence pack: one printable report of co-production across every stage."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from server.domain.checklist import STAGES
from server.domain.models import Review
from server.extensions import db
from server.public.content import project_loop, public_actions
from server.staff.access import project_page
from server.staff.results_views import cached_stage_results


@project_page("/projects/<project_id>/evidence")
def evidence(project):
    """Show the evidence pack (verdicts, ladder, reach, actions, response rate, learning log) to print."""
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
