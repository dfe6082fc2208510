"""The device API: sync push and pull, device tokens."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from server.api import devices, sync  # noqa: E402,F401  (routes attach to bp)
