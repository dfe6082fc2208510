"""The one /api blueprint and the conventions every route module follows.

A route declares its request schema with ``@bp.arguments``, its answer with
``@bp.response`` and the errors it may give with ``@fails(...)``; the OpenAPI
document (server/api/openapi.py) is generated from those declarations. Bad input
answers in the protocol's one error shape, ``{"error": {"code", "field", "message"}}``
(server/errors.py), never in flask-smorest's own.
"""

from __future__ import annotations

import functools

import flask_smorest
from flask import abort
from marshmallow import Schema, fields
from webargs.flaskparser import FlaskParser

from server.errors import error_response, first_error


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"description": "Machine-readable reason."})
    message = fields.String(required=True, metadata={"description": "Plain English for people."})
    field = fields.String(required=True, allow_none=True)


class ErrorSchema(Schema):
    """Every 4xx and 5xx answer of the API has this one shape."""

    error = fields.Nested(ErrorDetailSchema, required=True)


class JsonObjectParser(FlaskParser):
    """webargs, answering in the project's error shape."""

    def load_json(self, req, schema):
        body = req.get_json(silent=True)
        if not isinstance(body, dict):
            abort(error_response(400, "invalid_json", "Send a JSON object."))
        return body

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        # Messages come keyed by location ({"json": {"code": [...]}}): name the field alone.
        messages = error.messages
        if isinstance(messages, dict) and len(messages) == 1:
            messages = next(iter(messages.values()))
        field, message = first_error(messages)
        abort(error_response(error_status_code or 422, "invalid", message, field))


class ApiBlueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JsonObjectParser()


bp = ApiBlueprint("api", __name__, url_prefix="/api", description="The JSON API the WithUs app speaks.")

ERRORS = {
    400: "Malformed body or parameter, or a value that cannot be stored.",
    401: "Unknown or revoked device token.",
    403: "This device may not do that.",
    404: "Not found.",
    409: "A concurrent change: try again.",
    410: "Expired or used.",
    413: "Too large.",
    415: "Not JSON.",
    422: "A field is invalid; `field` names it.",
    426: "Protocol version too old: the app must update.",
    429: "Rate limited.",
    503: "Database unavailable.",
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
    }
}


def fails(*codes: int, **descriptions: str):
    """Document the error answers a route gives (every route may meet a busy database: 503).

    ``fails(401, 404, e401="Wrong password.")`` overrides a description.
    """
    described = {**ERRORS, **{int(k.removeprefix("e")): v for k, v in descriptions.items()}}

    def decorator(view):
        for code in sorted({*codes, 503}):
            headers = RETRY_AFTER if code in (429, 503) else None
            view = bp.alt_response(code, schema=ErrorSchema, description=described[code], headers=headers)(view)
        return view

    return decorator


def before_body(check):
    """Run ``check`` (who is calling) before the body is parsed: who may act comes first.

    ``check`` returns an error response to refuse, or None to go on.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            refusal = check()
            return refusal if refusal is not None else view(*args, **kwargs)

        return wrapper

    return decorator


# The operations a device calls with its bearer token (the document's "device" scheme).
device_token = bp.doc(security=[{"device": []}])
