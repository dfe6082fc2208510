"""/api/push: the server's public key and a device's push subscriptions and quiet hours.

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

from flask import Response, current_app
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates

from server.api.blueprint import before_body, bp, device_token, fails
from server.auth.devices import PARTICIPANT, current_device
from server.errors import error_response
from server.extensions import db
from server.push import subscriptions
from server.push.guard import MAX_ENDPOINT_LENGTH, EndpointRefused, check_endpoint_url
from server.push.models import DEFAULT_TIMEZONE, NOTIFY_ALL, NOTIFY_CHOICES
from server.push.quiet import parse_hhmm, settings_for, valid_timezone
from server.push.vapid import get_keys


def _b64url_bytes(value: str) -> bytes:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise ValidationError("Not valid URL-safe base64.")
    text = value.strip().rstrip("=")
    if any(ch not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for ch in text):
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
            check_endpoint_url(value, bool(current_app.config["PUSH_ALLOW_TEST_SERVICE"]))
        except EndpointRefused as err:
            raise ValidationError(err.message) from err


class EndpointSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    endpoint = fields.String(required=True, validate=validate.Length(min=1, max=MAX_ENDPOINT_LENGTH))


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


def _participant_device_only():
    if current_device().kind != PARTICIPANT:
        return error_response(403, "participant_only", "Only a participant's own device receives notifications.")
    return None


def _any_device():
    current_device()  # answers 401 itself


@bp.get("/push/key")
@bp.response(200, PublicKeySchema, description="The key.")
@fails()
def public_key():
    """The server's VAPID public key."""
    return {"public_key": get_keys().public_key}


@bp.post("/push/subscriptions")
@before_body(_participant_device_only)
@bp.arguments(SubscriptionSchema)
@bp.response(201, SubscribedSchema, description="Subscribed.")
@fails(400, 401, 403, 409)
@device_token
def subscribe(data):
    """Store this device's PushSubscription.

    409 endpoint_taken: another live device holds the endpoint.
    """
    keys = data["keys"]
    try:
        subscriptions.subscribe(current_device(), data["endpoint"], keys["p256dh"], keys["auth"], data["notify"])
    except subscriptions.EndpointTaken:
        message = "Another phone already gets notifications with this subscription."
        return error_response(409, "endpoint_taken", message, "endpoint")
    except subscriptions.StillContended:
        return error_response(409, "conflict", "Try again.")
    return {"endpoint": data["endpoint"], "notify": data["notify"]}


@bp.delete("/push/subscriptions")
@before_body(_any_device)
@bp.arguments(EndpointSchema)
@bp.response(204, description="Forgotten (or never known).")
@fails(400, 401)
@device_token
def unsubscribe(data):
    """Forget a PushSubscription."""
    subscriptions.unsubscribe(current_device(), data["endpoint"])
    # Unknown, or another device's: nothing to do, and nothing to reveal.
    return Response(status=204)


@bp.get("/push/quiet-hours")
@before_body(_participant_device_only)
@bp.response(200, QuietHoursOutSchema, description="Quiet hours.")
@fails(401, 403)
@device_token
def get_quiet_hours():
    """This participant's quiet hours."""
    participant_id = current_device().participant_id
    start, end, timezone = settings_for(db.session, [participant_id])[participant_id]
    return {"start": start, "end": end, "timezone": timezone}


@bp.put("/push/quiet-hours")
@before_body(_participant_device_only)
@bp.arguments(QuietHoursSchema)
@bp.response(200, QuietHoursOutSchema, description="Quiet hours.")
@fails(400, 401, 403)
@device_token
def put_quiet_hours(data):
    """Set quiet hours.

    The answer's "released" counts held notifications the new hours let go sooner.
    """
    participant_id = current_device().participant_id
    released = subscriptions.set_quiet_hours(participant_id, data["start"], data["end"], data["timezone"])
    return {**data, "released": released}
