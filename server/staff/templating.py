"""Template helpers for the staff pages (registered app-wide under staff_ names)."""

from __future__ import annotations

from server.domain.checklist import LADDER, PRINCIPLE_NAMES, STAGES
from server.domain.words import ROLE_NAMES
from server.staff import bp
from server.staff.forms import STATUS_NAMES
from server.staff.verdict import RoleCount, StatementCount, Verdict, decide

# One person's role, for lists of feedback (ROLE_NAMES are the plural group names).
PERSON_ROLES = {
    "child": "Child",
    "young_person": "Young person",
    "parent_carer": "Parent or carer",
    "professional": "Professional",
    "other": "Other partner",
}


@bp.app_template_filter("staff_error_fields")
def error_fields(form):
    """The fields of a form that have errors, in form order (CSRF errors are shown apart)."""
    return [field for field in form if field.errors and field.type != "CSRFTokenField"]


@bp.app_template_global("staff_field_attrs")
def field_attrs(field, hint=None) -> dict:
    """ARIA attributes tying a control to its hint and error message."""
    described = []
    if hint:
        described.append(f"{field.id}-hint")
    if field.errors:
        described.append(f"{field.id}-error")
    attrs = {}
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if field.errors:
        attrs["aria-invalid"] = "true"
    return attrs


@bp.app_template_filter("staff_percent")
def percent(share) -> str:
    """0.456 -> "46%"; None -> "not yet"."""
    if share is None:
        return "none yet"
    return f"{round(share * 100)}%"


@bp.app_template_filter("staff_duration")
def duration(seconds) -> str:
    """A number of seconds as days, hours or minutes, in words."""
    if seconds is None:
        return "none yet"
    seconds = float(seconds)
    if seconds >= 86400 * 2:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    minutes = max(1, round(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


@bp.app_template_filter("snapshot_verdict")
def snapshot_verdict(snap: dict) -> Verdict:
    """Work out the verdict of a stored results snapshot with the same rule as the results page."""
    achievement = snap.get("achievement") or {}
    statements = [
        StatementCount(s["text"], s["agree"], s["not_sure"], s["disagree"], s.get("unanswered", 0))
        for p in snap.get("principles") or []
        for s in p["statements"]
    ]
    return decide(
        achievement.get("active_statements", 0),
        [RoleCount(**r) for r in achievement.get("roles") or []],
        statements,
        (snap.get("ladder") or {}).get("residents_vs_professionals"),
    )


@bp.app_template_filter("staff_short_id")
def short_id(value) -> str:
    """A pseudonymous id shortened for reading aloud: its first 8 characters."""
    return str(value or "")[:8]


@bp.context_processor
def staff_names():
    return {
        "stages": STAGES,
        "ladder": LADDER,
        "principle_names": PRINCIPLE_NAMES,
        "role_names": ROLE_NAMES,
        "person_roles": PERSON_ROLES,
        "status_names": STATUS_NAMES,
    }
