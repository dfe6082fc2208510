"""Coordinators' pages: projects, checklist, results, "You said, we did", log, exports."""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from server.staff import (  # noqa: E402,F401  (routes attach to bp)
    action_views,
    checklist_views,
    closing_views,
    erasure_views,
    evidence_views,
    exports,
    feedback_views,
    project_views,
    public_views,
    results_views,
    review_views,
    templating,
    translation_views,
)
