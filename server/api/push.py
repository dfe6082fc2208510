"""HTTP API for push: the server's public key and a device's subscriptions.

GET    /api/push/key            -> 200 {"public_key"}
POST   /api/push/subscriptions  PushSubscription JSON + {"notify"} -> 201
                                 (409 endpoint_taken: another live device holds the endpoint)
DELETE /api/push/subscriptions  {"endpoint"} -> 204
GET    /api/push/quiet-hours    -> 200 {"start","end","timezone"}
PUT    /api/push/quiet-hours    {"start","end","timezone"} -> 200 (+"released": held notifications moved sooner)
"""

from __future__ import annotations

import base64
import binascii

from flask import Blueprint, current_app, jsonify, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from server.devices import PARTICIPANT, Device, current_device
from server.errors import error_response, first_error
from server.extensions import csrf, db
from server.push.guard import MAX_ENDPOINT_LENGTH, EndpointRefused, check_endpoint_url
from server.push.models import (
    DEFAULT_QUIET_END,
    DEFAULT_QUIET_START,
    DEFAULT_TIMEZONE,
    NOTIFY_ALL,
    NOTIFY_CHOICES,
    Notification,
    PushSubscription,
    QuietHours,
    utcnow,
)
from server.push.quiet import parse_hhmm, reschedule_held, valid_timezone
from server.push.vapid import get_keys

push_api = Blueprint("push_api", __name__, url_prefix="/api/push")
bp = push_api  # the name the app factory looks for
# Bearer tokens, no cookies: CSRF does not apply.
csrf.exempt(push_api)


def _b64url_bytes(value: str) -> bytes:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise ValidationError("Not valid URL-safe base64.")
    text = value.strip().rstrip("=")
    if any(
        ch not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for ch in text
    ):
        raise ValidationError("Not valid URL-safe base64.")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as err:
        raise ValidationError("Not valid URL-safe base64.") from err


class KeysSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    p256dh = fields.String(required=True)
    auth = fields.String(required=True)

    @validates("p256dh")
    def check_p256dh(self, value, **kwargs):
        raw = _b64url_bytes(value)
        if len(raw) != 65 or raw[0] != 4:
            raise ValidationError("Must be an uncompressed P-256 public key (65 bytes).")

    @validates("auth")
    def check_auth(self, value, **kwargs):
        if len(_b64url_bytes(value)) != 16:
            raise ValidationError("Must be a 16-byte authentication secret.")


class SubscriptionSchema(Schema):
    """A browser's PushSubscription.toJSON() plus the notify preference."""

    class Meta:
        unknown = EXCLUDE  # e.g. expirationTime

    endpoint = fields.String(required=True, validate=validate.Length(max=MAX_ENDPOINT_LENGTH))
    keys = fields.Nested(KeysSchema, required=True)
    notify = fields.String(load_default=NOTIFY_ALL, validate=validate.OneOf(NOTIFY_CHOICES))

    @validates("endpoint")
    def check_endpoint(self, value, **kwargs):
        try:
            check_endpoint_url(value, bool(current_app.config.get("PUSH_ALLOW_TEST_SERVICE")))
        except EndpointRefused as err:
            raise ValidationError(err.message) from err


class EndpointSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    endpoint = fields.String(
        required=True, validate=validate.Length(min=1, max=MAX_ENDPOINT_LENGTH)
    )


class QuietHoursSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    start = fields.String(required=True)
    end = fields.String(required=True)
    timezone = fields.String(load_default=DEFAULT_TIMEZONE, validate=validate.Length(max=64))

    @validates("start")
    def check_start(self, value, **kwargs):
        self._hhmm(value)

    @validates("end")
    def check_end(self, value, **kwargs):
        self._hhmm(value)

    @validates("timezone")
    def check_timezone(self, value, **kwargs):
        if not valid_timezone(value):
            raise ValidationError("Unknown time zone.")

    @staticmethod
    def _hhmm(value):
        try:
            parse_hhmm(value)
        except ValueError as err:
            raise ValidationError(str(err)) from err


def _load(schema: Schema):
    """Validate the JSON body; on failure return the one error shape naming the field."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None, error_response(400, "invalid_json", "Send a JSON object.")
    try:
        return schema.load(body), None
    except ValidationError as err:
        field, message = first_error(err.messages)
        return None, error_response(422, "invalid", message, field)


def _participant_device():
    device = current_device()
    if device.kind != PARTICIPANT:
        return None, error_response(
            403, "participant_only", "Only a participant's own device receives notifications."
        )
    return device, None


def _held_by_live_device(subscription: PushSubscription) -> bool:
    holder = db.session.get(Device, subscription.device_id)
    return holder is not None and holder.revoked_at is None


def _drop_subscription(subscription: PushSubscription) -> None:
    """Delete a subscription; notifications queued for it are not the next holder's to get."""
    db.session.execute(
        update(Notification)
        .where(Notification.subscription_id == subscription.id)
        .values(subscription_id=None)
    )
    db.session.delete(subscription)


@push_api.get("/key")
def public_key():
    return jsonify(public_key=get_keys().public_key)


@push_api.post("/subscriptions")
def subscribe():
    device, error = _participant_device()
    if error:
        return error
    data, error = _load(SubscriptionSchema())
    if error:
        return error
    values = {
        "device_id": device.id,
        "p256dh": data["keys"]["p256dh"],
        "auth": data["keys"]["auth"],
        "notify": data["notify"],
    }
    for _ in range(2):
        existing = db.session.execute(
            select(PushSubscription).where(PushSubscription.endpoint == data["endpoint"])
        ).scalar_one_or_none()
        try:
            if existing is not None and existing.device_id != device.id:
                if _held_by_live_device(existing):
                    return error_response(
                        409,
                        "endpoint_taken",
                        "Another phone already gets notifications with this subscription.",
                        "endpoint",
                    )
                _drop_subscription(existing)  # its device was revoked: the row is free
                db.session.flush()
                existing = None
            if existing is None:
                db.session.add(PushSubscription(endpoint=data["endpoint"], **values))
            else:
                # The same browser on the same device again (new keys or preference): update.
                for name, value in values.items():
                    setattr(existing, name, value)
            db.session.commit()
            break
        except IntegrityError:
            db.session.rollback()  # a concurrent request stored the same endpoint: look again
    else:
        return error_response(409, "conflict", "Try again.")
    return jsonify(endpoint=data["endpoint"], notify=data["notify"]), 201


@push_api.delete("/subscriptions")
def unsubscribe():
    device = current_device()
    data, error = _load(EndpointSchema())
    if error:
        return error
    subscription = db.session.execute(
        select(PushSubscription).where(
            PushSubscription.endpoint == data["endpoint"], PushSubscription.device_id == device.id
        )
    ).scalar_one_or_none()
    if subscription is not None:
        _drop_subscription(subscription)
        db.session.commit()
    # Unknown, or another device's: nothing to do, and nothing to reveal.
    return "", 204


@push_api.get("/quiet-hours")
def get_quiet_hours():
    device, error = _participant_device()
    if error:
        return error
    row = db.session.get(QuietHours, device.participant_id)
    if row is None:
        return jsonify(start=DEFAULT_QUIET_START, end=DEFAULT_QUIET_END, timezone=DEFAULT_TIMEZONE)
    return jsonify(start=row.start, end=row.end, timezone=row.timezone)


@push_api.put("/quiet-hours")
def put_quiet_hours():
    device, error = _participant_device()
    if error:
        return error
    data, error = _load(QuietHoursSchema())
    if error:
        return error
    row = db.session.get(QuietHours, device.participant_id)
    if row is None:
        row = QuietHours(participant_id=device.participant_id)
        db.session.add(row)
    row.start, row.end, row.timezone = data["start"], data["end"], data["timezone"]
    released = reschedule_held(
        db.session, device.participant_id, data["start"], data["end"], data["timezone"], utcnow()
    )
    db.session.commit()
    return jsonify(
        start=data["start"], end=data["end"], timezone=data["timezone"], released=released
    )
