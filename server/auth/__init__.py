"""Staff accounts: sign-in and sign-out pages, roles."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/staff")

from server.auth import password_views, two_step_views, views  # noqa: E402,F401  (routes attach to bp)
