"""POST /api/sync/push and GET /api/sync/pull: the protocol in docs/sync-protocol.md, access in docs/access.md."""

import json
import time

from flask import Response, current_app, request
from marshmallow import Schema, fields, validate

from server.api import sync_limit
from server.api.blueprint import bp, device_token, fails
from server.api.schemas import Hlc
from server.auth.devices import current_device
from server.domain import access
from server.domain.actors import STAFF_KIND, who_is
from server.domain.clock import server_clock
from server.domain.hooks import DomainHooks
from server.domain.pulls import mark_pushed, pull_for
from server.errors import error_response
from server.extensions import db
from sync import store
from sync.cursor import BadCursor, Cursor
from sync.records import Record, WireError, json_text
from sync.sql import Writes
from sync.store import Outcome, Rejection

CLOCK_AHEAD_LIMIT_MS = 5 * 60 * 1000

# The bodies below are read and written by hand, for speed and for the protocol's own
# status codes; these schemas describe them in the OpenAPI document only.
# The push request (PushRequest, one Record<Type> per record type) is in server/api/openapi.py.


class RejectionSchema(Schema):
    code = fields.String(
        required=True, validate=validate.OneOf(["invalid", "forbidden", "unknown_type", "clock_ahead"])
    )
    field = fields.String(allow_none=True)
    message = fields.String(required=True)
    server_time = fields.Integer()


class PushResultSchema(Schema):
    id = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(["applied", "unchanged", "rejected"]))
    error = fields.Nested(RejectionSchema)


# The cursor is opaque to the app: a number (the global feed) or a string (the parallel
# one, "txid.number.ack"): sync/cursor.py.
CURSOR_DOC = {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]}


class PushResponseSchema(Schema):
    results = fields.List(fields.Nested(PushResultSchema), required=True)
    server_hlc = Hlc(required=True)
    server_time = fields.Integer(required=True)
    cursor = fields.Raw(required=True, metadata=CURSOR_DOC)


class PullQuerySchema(Schema):
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


def _too_large(message: str, field: str | None = None):
    return error_response(413, "too_large", message + " Send fewer records at a time.", field)


def _read_push_body():
    """Return the parsed body, or an error response for a malformed or too large one."""
    limit = current_app.config["SYNC_MAX_BYTES"]
    if (request.content_length or 0) > limit:
        return None, _too_large(f"A push may be at most {limit} bytes.")
    raw = request.get_data(cache=False)
    if len(raw) > limit:
        return None, _too_large(f"A push may be at most {limit} bytes.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, error_response(400, "malformed", "The body is not valid JSON.")
    if not isinstance(body, dict):
        return None, error_response(400, "malformed", "The body must be a JSON object.")
    schema = body.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool):
        return None, error_response(400, "malformed", "Say which protocol version you speak.", "schema")
    if schema < current_app.config["SYNC_SCHEMA"]:
        message = "This version of the app is too old. Please update it."
        return None, error_response(426, "schema_too_old", message, "schema")
    if schema > current_app.config["SYNC_SCHEMA"]:
        message = "The server does not know this protocol version yet."
        return None, error_response(400, "schema_unknown", message, "schema")
    records = body.get("records")
    if not isinstance(records, list):
        return None, error_response(400, "malformed", "Send the records as a list.", "records")
    most = current_app.config["SYNC_MAX_RECORDS"]
    if len(records) > most:
        return None, _too_large(f"A push may hold at most {most} records.", "records")
    return records, None


@bp.post("/sync/push")
@bp.doc(requestBody={"required": True, "content": {"application/json": {"schema": "PushRequest"}}})
@bp.response(200, PushResponseSchema, description="One result per record, in order.")
@fails(400, 401, 413, 426, 429)
@device_token
def push():
    """Merge a batch of records from a device; each record is applied, unchanged or rejected."""
    too_often = sync_limit.refused("sync.push")
    if too_often is not None:
        return too_often
    device = current_device(only_to_read=True)
    raw_records, error = _read_push_body()
    if error is not None:
        return error

    # Shape errors reject one record, never the batch: a poison record must not block the queue.
    results: list[Outcome | None] = []
    parsed: list[Record] = []
    for raw in raw_records:
        try:
            parsed.append(Record.from_wire(raw))
            results.append(None)
        except WireError as err:
            rid = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
            results.append(Outcome(rid, store.REJECTED, Rejection("invalid", err.field, str(err.message))))

    who = who_is(device)
    sent = parsed
    parsed = [access.stamp_recorder(who, record) for record in parsed]
    clock = server_clock()
    now_ms = int(time.time() * 1000)
    conn = db.session.connection()
    # The push's last writes (projections, counts, holdings) go as one statement.
    writes = Writes(conn)
    hooks = DomainHooks(device, writes=writes)
    # The head it reports is read before commit: in the global feed it includes this push's
    # own changes; in the parallel feed it is the cheap bound as the push took its locks.
    # The app does not use it.
    pushed, head = store.push_and_head(conn, parsed, hooks, max_wall_ms=now_ms + CLOCK_AHEAD_LIMIT_MS, clock=clock)
    mark_pushed(conn, device.id, *_held_after(who, hooks.echo_candidates, sent, parsed, pushed), writes)
    writes.flush()
    db.session.commit()
    outcomes = iter(pushed)
    results = [r if r is not None else next(outcomes) for r in results]
    body = {
        "results": [r.to_wire() for r in results],
        "server_hlc": clock.tick(),
        "server_time": now_ms,
        "cursor": head.to_wire(),
    }
    return _json_response(body)


def _json_response(body: dict) -> Response:
    """The body as JSON, by json_text: 55 -> 3 us for a 50-record push's answer (an id sent
    with half of a UTF-16 pair in it is refused, and echoed through json)."""
    return Response(json_text(body), mimetype="application/json")


def _held_after(who, candidates: set[str], sent, stored, outcomes) -> tuple[dict[str, int], list[str]]:
    """What the device holds of what it pushed: (exactly as stored, with the version
    stored; in some other state).

    Exactly as stored: applied as it sent them, nothing of them refused; its next pull
    skips them (a phone is not sent back what it just pushed). Refused writes are not
    counted (the app keeps them for the person to fix); nor, on a staff phone, equality
    answers (the app drops them once the server has them).
    """
    refused = {o.id for o in outcomes if o.status == store.REJECTED}
    accepted = {o.id for o in outcomes if o.status != store.REJECTED} - refused
    if who.kind == STAFF_KIND:
        accepted -= {r.id for r in sent if r.type == "equality"}
    # A staff device's write gets its recorder from the token: its copy lacks it.
    stamped = {new.id for old, new in zip(sent, stored, strict=True) if new is not old}
    versions = {o.id: o.version for o in outcomes if o.status == store.APPLIED}
    exact = (candidates & versions.keys() & accepted) - stamped
    # Held at the stored version and sent again unchanged: what it holds is still exact.
    still = (candidates & (accepted - versions.keys())) - stamped
    return {rid: versions[rid] for rid in sorted(exact)}, sorted(accepted - exact - still)


def _int_arg(name: str, default: int, low: int, high: int | None):
    value = request.args.get(name)
    if value is None:
        return default, None
    # ASCII digits only (int() also takes " 1", "1_000" and other scripts' digits).
    number = int(value) if value.isascii() and value.isdigit() and len(value) <= 19 else None
    if number is None or number < low or (high is not None and number > high):
        bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
        return None, error_response(400, "invalid", f"{name} must be a whole number {bounds}.", name)
    return number, None


@bp.get("/sync/pull")
@bp.doc(parameters=[{"in": "query", "schema": PullQuerySchema}])
@bp.response(200, PullResponseSchema, description="A page of records.")
@fails(400, 401, 410, 429)
@device_token
def pull():
    """Return the records this device may see that changed after the cursor, and its removals."""
    # A pull writes down what the device now holds, so on SQLite it takes the write lock
    # like a push (a read that later writes could fail against a concurrent writer).
    too_often = sync_limit.refused("sync.pull")
    if too_often is not None:
        return too_often
    device = current_device(only_to_read=True)
    try:
        cursor = Cursor.parse(request.args.get("cursor", "0"))
    except BadCursor:
        message = "cursor must be a cursor the server gave (or 0 to start from the beginning)."
        return error_response(400, "invalid", message, "cursor")
    limit, error = _int_arg("limit", 500, 1, 1000)
    if error is not None:
        return error
    try:
        page = pull_for(db.session.connection(), device, cursor, limit)
    except store.CursorExpired:
        db.session.rollback()
        message = "Your copy is too old to update. Start again from the beginning."
        return error_response(410, "cursor_expired", message, "cursor")
    rest = json.dumps(
        {
            "removals": page.removals,
            "cursor": page.cursor.to_wire(),
            "more": page.more,
            "server_hlc": server_clock().tick(),
        }
    )
    db.session.commit()
    # The stored fields are already canonical JSON: splice them rather than decode and re-encode.
    return Response('{"records":' + page.records_json() + "," + rest[1:], mimetype="application/json")
