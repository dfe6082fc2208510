"""Admins' pages: staff accounts, the audit log, and closed projects' retention."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/staff/admin")

from server.admin import account_views, audit_views, retention_views  # noqa: E402,F401  (routes attach to bp)
