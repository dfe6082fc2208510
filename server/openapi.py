"""The OpenAPI 3 description of the JSON API, served at GET /api/openapi.json.

Built with apispec and its MarshmallowPlugin from the marshmallow schemas the
endpoints load with (server/api, server/domain/api.py, server/push/api.py) and
the record field schemas of server/domain/types.py. Bodies the endpoints parse
by hand (sync push and pull) get their schemas here, so the document covers
every JSON endpoint; tests/reliability/test_fuzz.py fuzzes the API from it and
checks that every /api/ route is described.
"""

from __future__ import annotations

import copy

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify
from marshmallow import Schema, fields, validate

from server.api.devices import DeviceSignInSchema
from server.domain import types
from server.domain.api import ClaimSchema, CodeSchema
from server.push.api import EndpointSchema, QuietHoursSchema, SubscriptionSchema

bp = Blueprint("openapi", __name__, url_prefix="/api")

OPENAPI_VERSION = "3.0.3"
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
HLC_PATTERN = r"^[0-9]{13}-[0-9a-f]{4}-[0-9a-f]{16}$"
RECORDS_PER_PUSH = 500

# ---------------------------------------------------------------- schemas the endpoints lack


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"description": "Machine-readable reason."})
    message = fields.String(required=True, metadata={"description": "Plain English for people."})
    field = fields.String(required=True, allow_none=True)


class ErrorSchema(Schema):
    """Every 4xx and 5xx answer of the API has this one shape."""

    error = fields.Nested(ErrorDetailSchema, required=True)


class Hlc(fields.String):
    """A hybrid logical clock stamp: WWWWWWWWWWWWW-CCCC-NNNNNNNNNNNNNNNN."""


class RecordSchema(Schema):
    """A record on the wire; each type's fields are described by the Record<Type> schemas."""

    type = fields.String(required=True, validate=validate.OneOf(sorted(types.TYPES)))
    id = types.Id(required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True)
    deleted = Hlc(required=True, allow_none=True)


class PushRequestSchema(Schema):
    schema = fields.Integer(required=True, validate=validate.Range(min=1, max=1),
                            metadata={"description": "Protocol version; 1 today."})
    records = fields.List(fields.Raw(), required=True,
                          validate=validate.Length(max=RECORDS_PER_PUSH))


class RejectionSchema(Schema):
    code = fields.String(required=True, validate=validate.OneOf(
        ["invalid", "forbidden", "unknown_type", "clock_ahead"]))
    field = fields.String(allow_none=True)
    message = fields.String(required=True)
    server_time = fields.Integer()


class PushResultSchema(Schema):
    id = fields.String(required=True, allow_none=True)
    status = fields.String(required=True,
                           validate=validate.OneOf(["applied", "unchanged", "rejected"]))
    error = fields.Nested(RejectionSchema)


# The cursor is opaque to the app: a number (the global feed) or a string (the parallel one).
CURSOR_DOC = {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]}


class PushResponseSchema(Schema):
    results = fields.List(fields.Nested(PushResultSchema), required=True)
    server_hlc = Hlc(required=True)
    server_time = fields.Integer(required=True)
    cursor = fields.Raw(required=True, metadata=CURSOR_DOC)


class PullQuerySchema(Schema):
    # Opaque: a change number, or "txid.number.ack" from the parallel feed (sync/cursor.py).
    cursor = fields.String(
        load_default="0",
        validate=validate.Regexp(r"^[0-9]{1,18}(\.[0-9]{1,18}\.[0-9]{1,18})?$"),
    )
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=1000))


class PullResponseSchema(Schema):
    records = fields.List(fields.Raw(), required=True)
    # Ids of records that left this device's view (docs/access.md): not deletions.
    removals = fields.List(fields.String(), required=True)
    cursor = fields.Raw(required=True, metadata=CURSOR_DOC)
    more = fields.Boolean(required=True)
    server_hlc = Hlc(required=True)


class DeviceTokenSchema(Schema):
    token = fields.String(required=True)
    device_id = fields.String(required=True)
    participant_id = types.Id(required=True)
    project_id = types.Id(required=True)


class UserSchema(Schema):
    id = fields.Integer(required=True)
    role = fields.String(required=True, validate=validate.OneOf(["admin", "coordinator", "worker"]))
    name = fields.String(required=True)


class StaffDeviceSchema(Schema):
    token = fields.String(required=True)
    device_id = fields.String(required=True)
    user = fields.Nested(UserSchema, required=True)


class ProjectRefSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)


class MeSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["participant", "staff"]))
    participant_id = fields.String()
    project_id = fields.String(allow_none=True)
    user = fields.Nested(UserSchema)
    projects = fields.List(fields.Nested(ProjectRefSchema), required=True)


class ClaimCodeSchema(Schema):
    code = fields.String(required=True)
    expires_at = fields.String(required=True)


class ExportRecordSchema(Schema):
    type = fields.String(required=True)
    id = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True)


class ExportSchema(Schema):
    participant_id = fields.String(required=True)
    project = fields.Nested(ProjectRefSchema, required=True, allow_none=True)
    exported_at = fields.String(required=True)
    records = fields.List(fields.Nested(ExportRecordSchema), required=True)


class ErasedSchema(Schema):
    erased = fields.Integer(required=True, validate=validate.Range(min=0))


class PublicKeySchema(Schema):
    public_key = fields.String(required=True)


class SubscribedSchema(Schema):
    endpoint = fields.String(required=True)
    notify = fields.String(required=True)


class QuietHoursOutSchema(Schema):
    start = fields.String(required=True)
    end = fields.String(required=True)
    timezone = fields.String(required=True)
    # Only in answer to a PUT: notifications the new hours let go sooner.
    released = fields.Integer(validate=validate.Range(min=0))


# ---------------------------------------------------------------- the document


def _json_body(schema, description: str | None = None) -> dict:
    body = {"required": True, "content": {"application/json": {"schema": schema}}}
    if description:
        body["description"] = description
    return body


def _answer(description: str, schema=None, headers: dict | None = None) -> dict:
    answer: dict = {"description": description}
    if schema is not None:
        answer["content"] = {"application/json": {"schema": schema}}
    if headers:
        answer["headers"] = headers
    return answer


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.",
                               "schema": {"type": "integer", "minimum": 0}}}


def _errors(*codes: int, **overrides: str) -> dict:
    described = {
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
    described.update({int(k.removeprefix("e")): v for k, v in overrides.items()})
    out = {}
    for code in codes:
        headers = RETRY_AFTER if code in (429, 503) else None
        out[str(code)] = _answer(described[code], "Error", headers)
    # Every operation may meet a busy or unreachable database.
    out.setdefault("503", _answer(described[503], "Error", RETRY_AFTER))
    return out


def _record_schemas(spec: APISpec, plugin: MarshmallowPlugin) -> list[dict]:
    """One Record<Type> component per record type, its registers typed by the domain schema."""
    refs = []
    for name in sorted(types.TYPES):
        rtype = types.TYPES[name]
        props = {}
        for field_name, field_obj in rtype.schema.fields.items():
            value = plugin.converter.field2property(field_obj)
            props[field_name] = {
                "type": "object",
                "properties": {"v": value, "t": {"$ref": "#/components/schemas/Hlc"}},
                "required": ["v", "t"],
                "additionalProperties": False,
            }
        component = "Record" + "".join(part.title() for part in name.split("_"))
        spec.components.schema(
            component,
            {
                "type": "object",
                "description": f"A `{name}` record"
                + (" (server-authored: devices get `forbidden`)." if rtype.server_only else "."),
                "properties": {
                    "type": {"type": "string", "enum": [name]},
                    "id": {"type": "string", "pattern": UUID_PATTERN},
                    "fields": {
                        "type": "object",
                        "properties": props,
                        "additionalProperties": False,
                    },
                    "deleted": {"allOf": [{"$ref": "#/components/schemas/Hlc"}], "nullable": True},
                },
                "required": ["type", "id", "fields", "deleted"],
                "additionalProperties": False,
            },
        )
        refs.append({"$ref": f"#/components/schemas/{component}"})
    return refs


def _uuid_pattern(self, field, **kwargs) -> dict:
    """types.Id: the Python \\A...\\Z regex has no JSON Schema spelling; give the ECMA one."""
    if isinstance(field, types.Id):
        return {"pattern": UUID_PATTERN, "format": "uuid"}
    if isinstance(field, Hlc):
        return {"pattern": HLC_PATTERN}
    return {}


def build_spec() -> dict:
    """Return the OpenAPI document as a dict."""
    plugin = MarshmallowPlugin(schema_name_resolver=lambda schema: None)
    spec = APISpec(
        title="WithUs device API",
        version="1",
        openapi_version=OPENAPI_VERSION,
        plugins=[plugin],
        info={"description": "The JSON API the WithUs app speaks: joining, device tokens, "
                             "sync push and pull (sync-protocol.md, version 1), push "
                             "notifications. Every error answers {\"error\": {\"code\", "
                             "\"message\", \"field\"}}."},
    )
    plugin.converter.add_attribute_function(_uuid_pattern)
    spec.components.security_scheme(
        "device", {"type": "http", "scheme": "bearer", "description": "A device token (wu_...)."}
    )
    spec.components.schema("Hlc", {"type": "string", "pattern": HLC_PATTERN,
                                   "description": "Hybrid logical clock stamp."})
    for name, schema in (
        ("Error", ErrorSchema),
        ("PushResponse", PushResponseSchema),
        ("PullResponse", PullResponseSchema),
        ("DeviceToken", DeviceTokenSchema),
        ("StaffDevice", StaffDeviceSchema),
        ("Me", MeSchema),
        ("ClaimCode", ClaimCodeSchema),
        ("Export", ExportSchema),
        ("Erased", ErasedSchema),
        ("PublicKey", PublicKeySchema),
        ("Subscribed", SubscribedSchema),
        ("QuietHours", QuietHoursOutSchema),
        ("Code", CodeSchema),
        ("Claim", ClaimSchema),
        ("DeviceSignIn", DeviceSignInSchema),
        ("Subscription", SubscriptionSchema),
        ("Endpoint", EndpointSchema),
        ("QuietHoursIn", QuietHoursSchema),
    ):
        spec.components.schema(name, schema=schema)
    record_refs = _record_schemas(spec, plugin)
    spec.components.schema(
        "PushRequest",
        {
            "type": "object",
            "properties": {
                "schema": {"type": "integer", "enum": [1],
                           "description": "Protocol version; 1 today."},
                "records": {"type": "array", "maxItems": RECORDS_PER_PUSH,
                            "items": {"oneOf": record_refs}},
            },
            "required": ["schema", "records"],
        },
    )
    device = [{"device": []}]

    spec.path(path="/api/join", operations={"post": {
        "operationId": "join", "summary": "Join a project with its code.",
        "requestBody": _json_body("Code"),
        "responses": {"201": _answer("A participant device token.", "DeviceToken"),
                      **_errors(400, 404, 410, 422, 429)},
    }})
    spec.path(path="/api/devices", operations={"post": {
        "operationId": "create_device", "summary": "Sign a staff member in on a device.",
        "requestBody": _json_body("DeviceSignIn"),
        "responses": {"201": _answer("A staff device token.", "StaffDevice"),
                      **_errors(400, 401, 422, 429, e401="Wrong email, password or two-step code.")},
    }})
    spec.path(path="/api/devices/current", operations={"delete": {
        "operationId": "revoke_current_device", "summary": "Revoke this device's token.",
        "security": device,
        "responses": {"204": _answer("Revoked."), **_errors(401)},
    }})
    spec.path(path="/api/me", operations={"get": {
        "operationId": "me", "summary": "Who this device speaks for.", "security": device,
        "responses": {"200": _answer("The device's identity and projects.", "Me"),
                      **_errors(401)},
    }})
    spec.path(path="/api/claims", operations={"post": {
        "operationId": "create_claim", "summary": "A worker's one-use hand-over code.",
        "security": device, "requestBody": _json_body("Claim"),
        "responses": {"201": _answer("The code.", "ClaimCode"),
                      **_errors(400, 401, 403, 404, 422, 429)},
    }})
    spec.path(path="/api/claims/redeem", operations={"post": {
        "operationId": "redeem_claim", "summary": "Take over a participant with a claim code.",
        "requestBody": _json_body("Code"),
        "responses": {"201": _answer("A participant device token.", "DeviceToken"),
                      **_errors(400, 404, 410, 422, 429)},
    }})
    spec.path(path="/api/me/another-phone", operations={"post": {
        "operationId": "another_phone", "summary": "A family's one-use code for their next phone.",
        "security": device,
        "responses": {"201": _answer("The code.", "ClaimCode"), **_errors(401, 403, 429)},
    }})
    spec.path(path="/api/me/export", operations={"get": {
        "operationId": "export", "summary": "Everything held about this participant.",
        "security": device,
        "responses": {"200": _answer("The participant's records.", "Export"),
                      **_errors(401, 403)},
    }})
    spec.path(path="/api/me/erase", operations={"post": {
        "operationId": "erase", "summary": "Erase this participant and revoke the device.",
        "security": device,
        "responses": {"200": _answer("How many records were erased.", "Erased"),
                      **_errors(401, 403, 429)},
    }})
    spec.path(path="/api/sync/push", operations={"post": {
        "operationId": "sync_push", "summary": "Merge a batch of records (sync-protocol.md).",
        "security": device, "requestBody": _json_body("PushRequest"),
        "responses": {"200": _answer("One result per record, in order.", "PushResponse"),
                      **_errors(400, 401, 413, 426, 429)},
    }})
    spec.path(path="/api/sync/pull", operations={"get": {
        "operationId": "sync_pull", "summary": "Records changed after the cursor.",
        "security": device,
        "parameters": [{"in": "query", "schema": PullQuerySchema}],
        "responses": {"200": _answer("A page of records.", "PullResponse"),
                      **_errors(400, 401, 410, 429)},
    }})
    spec.path(path="/api/push/key", operations={"get": {
        "operationId": "push_key", "summary": "The server's VAPID public key.",
        "responses": {"200": _answer("The key.", "PublicKey"), **_errors()},
    }})
    spec.path(path="/api/push/subscriptions", operations={
        "post": {
            "operationId": "push_subscribe", "summary": "Store this device's PushSubscription.",
            "security": device, "requestBody": _json_body("Subscription"),
            "responses": {"201": _answer("Subscribed.", "Subscribed"),
                          **_errors(400, 401, 403, 409, 422)},
        },
        "delete": {
            "operationId": "push_unsubscribe", "summary": "Forget a PushSubscription.",
            "security": device, "requestBody": _json_body("Endpoint"),
            "responses": {"204": _answer("Forgotten (or never known)."),
                          **_errors(400, 401, 422)},
        },
    })
    spec.path(path="/api/push/quiet-hours", operations={
        "get": {
            "operationId": "get_quiet_hours", "summary": "This participant's quiet hours.",
            "security": device,
            "responses": {"200": _answer("Quiet hours.", "QuietHours"), **_errors(401, 403)},
        },
        "put": {
            "operationId": "put_quiet_hours", "summary": "Set quiet hours.",
            "security": device, "requestBody": _json_body("QuietHoursIn"),
            "responses": {"200": _answer("Quiet hours.", "QuietHours"),
                          **_errors(400, 401, 403, 422)},
        },
    })
    spec.path(path="/api/openapi.json", operations={"get": {
        "operationId": "openapi", "summary": "This document.",
        "responses": {"200": _answer("OpenAPI 3 document.", {"type": "object"})},
    }})
    return spec.to_dict()


_cache: dict | None = None


def openapi_document() -> dict:
    """The document, built once per process (a deep copy each call: callers may change it)."""
    global _cache
    if _cache is None:
        _cache = build_spec()
    return copy.deepcopy(_cache)


@bp.get("/openapi.json")
def openapi_json():
    response = jsonify(openapi_document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
