"""POST /api/sync/push and GET /api/sync/pull: the protocol in docs/sync-protocol.md, access in docs/access.md."""

import json
import time

from flask import Response, current_app, jsonify, request

from server.api import bp
from server.devices import bearer_token, current_device
from server.domain import access
from server.domain.actors import who_is
from server.domain.clock import server_clock
from server.domain.hooks import DomainHooks
from server.domain.pulls import mark_pushed, pull_for
from server.errors import error_response
from server.extensions import db, limiter
from sync import store
from sync.cursor import BadCursor, Cursor
from sync.records import Record, WireError
from sync.store import Outcome, Rejection

CLOCK_AHEAD_LIMIT_MS = 5 * 60 * 1000


def _device_key() -> str:
    # Rate-limit per device, so a family sharing one router with a school is not limited together.
    return bearer_token()[:24] or (request.remote_addr or "anonymous")


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
@limiter.limit(lambda: current_app.config.get("SYNC_RATE_LIMIT", "600 per minute"), key_func=_device_key)
def push():
    """Merge a batch of records from a device; each record is applied, unchanged or rejected."""
    device = current_device()
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
    hooks = DomainHooks(device)
    pushed = store.push(conn, parsed, hooks, max_wall_ms=now_ms + CLOCK_AHEAD_LIMIT_MS, clock=clock)
    mark_pushed(conn, device.id, _echoes(hooks.echo_candidates, sent, parsed, pushed))
    # Read before commit: the head it reports includes this push's own changes in the global feed.
    head = store.head(conn)
    db.session.commit()
    outcomes = iter(pushed)
    results = [r if r is not None else next(outcomes) for r in results]
    body = {
        "results": [r.to_wire() for r in results],
        "server_hlc": clock.tick(),
        "server_time": now_ms,
        "cursor": head.to_wire(),
    }
    return jsonify(body)


def _echoes(candidates: set[str], sent, stored, outcomes) -> list[str]:
    """Ids the device now holds exactly as stored: applied as it sent them, nothing refused.

    Its next pull then skips them (not sending a phone back what it just pushed).
    """
    refused = {o.id for o in outcomes if o.status == store.REJECTED}
    # A staff device's write gets its recorder from the token: its copy lacks it.
    stamped = {new.id for old, new in zip(sent, stored, strict=True) if new is not old}
    applied = {o.id for o in outcomes if o.status == store.APPLIED}
    return sorted((candidates & applied) - refused - stamped)


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
@limiter.limit(lambda: current_app.config.get("SYNC_RATE_LIMIT", "600 per minute"), key_func=_device_key)
def pull():
    """Return the records this device may see that changed after the cursor, and its removals."""
    # A pull writes down what the device now holds, so on SQLite it takes the write lock
    # like a push (a read that later writes could fail against a concurrent writer).
    device = current_device()
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
