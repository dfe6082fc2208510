"""Health check for load balancers and the run command."""

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from server.extensions import db

bp = Blueprint("health", __name__)


# How long the oldest open writing transaction here has run: pulls read only up to it
# (sync/feed.py), so this is how far behind a phone may be told of a change.
_FEED_LAG = text(
    "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(xact_start)), 0) FROM pg_stat_activity "
    "WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
)


@bp.get("/healthz")
def healthz():
    """Report whether the app can reach its database (and, on PostgreSQL, the feed's lag)."""
    try:
        db.session.execute(text("SELECT 1"))
        detail = {}
        if db.engine.dialect.name == "postgresql":
            detail["feed_lag_seconds"] = round(float(db.session.execute(_FEED_LAG).scalar_one()), 3)
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok", **detail)
