"""What closed projects hold, and when their personal data is due to be erased."""

from __future__ import annotations

from flask import current_app, render_template

from server.admin import bp
from server.admin.account_views import admin_required
from server.staff.retention import closed_projects


@bp.get("/retention")
@admin_required
def retention():
    """Show every closed project with the day its personal data is due to be erased."""
    return render_template(
        "admin/retention.html", projects=closed_projects(), days=current_app.config["RETENTION_DAYS"]
    )
