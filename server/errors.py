"""One shape for every JSON error, friendly pages for people."""

import math
import time

from flask import jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from marshmallow import ValidationError
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException

from server.extensions import db, limiter


def error_response(status: int, code: str, message: str, field: str | None = None, headers=None):
    """Return a JSON error response in the API's one shape."""
    body = {"error": {"code": code, "message": message, "field": field}}
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def first_error(messages) -> tuple[str | None, str]:
    """Flatten marshmallow's nested messages into (field path, first message)."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            field, message = first_error(value)
            name = str(key) if key != "_schema" else None
            path = ".".join(p for p in (name, field) if p)
            return path or None, message
    if isinstance(messages, list) and messages:
        return first_error(messages[0]) if not isinstance(messages[0], str) else (None, messages[0])
    return None, str(messages)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, with too deeply nested input refused like any other bad JSON (a 400)."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError as err:
            raise ValueError("The JSON is nested too deeply.") from err


def _retry_after_seconds() -> str:
    """Seconds until the rate limit that refused this request lets one through again."""
    # Worked out only here, on a refusal: rate-limit headers on every response would cost
    # every request another round trip to the limiter's store (Redis).
    current = limiter.current_limit
    if current is None:
        return "60"
    return str(max(1, math.ceil(current.reset_at - time.time())))


def register_error_handlers(app):
    """Turn validation errors and HTTP errors into JSON for the API, pages for people."""
    app.json = JSONProvider(app)

    @app.errorhandler(DataError)
    def unstorable_value(err):
        # A value the database cannot hold (PostgreSQL: a NUL character, a number out of range).
        db.session.rollback()
        if wants_json():
            return error_response(400, "invalid", "A value holds characters or numbers that cannot be stored.")
        return render_template("errors/generic.html", error=None), 400

    @app.errorhandler(ValidationError)
    def validation_error(err):
        field, message = first_error(err.messages)
        return error_response(422, "invalid", message, field)

    @app.errorhandler(HTTPException)
    def http_error(err):
        # A refusal by the rate limits says when to try again, to the app and to a browser.
        headers = {"Retry-After": _retry_after_seconds()} if err.code == 429 else {}
        if wants_json():
            code = "rate_limited" if err.code == 429 else (err.name or "error").lower().replace(" ", "_")
            return error_response(err.code, code, err.description or err.name, headers=headers)
        template = "errors/404.html" if err.code == 404 else "errors/generic.html"
        return render_template(template, error=err), err.code, headers

    @app.errorhandler(OperationalError)
    def database_unavailable(err):
        # Lost connection, server down, or SQLite busy past its timeout: safe to retry.
        db.session.rollback()
        app.logger.warning("Database unavailable on %s %s", request.method, request.path)
        if wants_json():
            return error_response(
                503,
                "database_unavailable",
                "The database is not reachable. Please try again soon.",
                headers={"Retry-After": "5"},
            )
        return render_template("errors/generic.html", error=None), 503

    @app.errorhandler(Exception)
    def unexpected_error(err):
        # The transaction may be half done: roll it back so nothing partial is stored.
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return error_response(500, "server_error", "Something went wrong on our side. Please try again.")
        return render_template("errors/generic.html", error=None), 500
