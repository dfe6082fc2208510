"""POST /api/devices and DELETE /api/devices/current: device tokens for staff phones and tablets."""

from flask import Response
from marshmallow import Schema, fields, validate

from server.api.blueprint import bp, device_token, fails
from server.api.schemas import UserSchema
from server.auth import two_step
from server.auth.devices import STAFF, current_device, issue_device
from server.auth.models import User, utcnow
from server.errors import error_response
from server.extensions import db, limiter
from server.limits import account_key, failed_sign_in


class DeviceSignInSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    label = fields.String(load_default="", validate=validate.Length(max=80))
    # For accounts with two-step sign-in: the authenticator's code, or a recovery code.
    code = fields.String(load_default="", validate=validate.Length(max=20))


class StaffDeviceSchema(Schema):
    token = fields.String(required=True)
    device_id = fields.String(required=True)
    user = fields.Nested(UserSchema, required=True)


@bp.post("/devices")
@limiter.limit("10 per minute; 50 per hour")
@limiter.limit("5 per minute; 20 per hour", key_func=account_key, deduct_when=failed_sign_in)
@bp.arguments(DeviceSignInSchema)
@bp.response(201, StaffDeviceSchema, description="A staff device token.")
@fails(400, 401, 429, e401="Wrong email, password or two-step code.")
def create_device(data):
    """Sign a staff member in on a device.

    Issues the device's token, shown this once.
    """
    user = User.authenticate(data["email"], data["password"])
    if user is None:
        return error_response(
            401,
            "invalid_credentials",
            "That email and password do not match an account. Check them and try again.",
        )
    if user.totp_secret or two_step.required_for(user):
        # A device token reaches as far as a session, so it needs the same second step.
        if not user.totp_secret or not two_step.check_code(user, data["code"]):
            db.session.commit()  # a spent recovery code stays spent
            return error_response(
                401,
                "two_step_code_required",
                "Enter the code from your authenticator app as well."
                if user.totp_secret
                else "Set up two-step sign-in on the staff pages first, then sign in here.",
                field="code",
            )
    device, token = issue_device(kind=STAFF, user_id=user.id, label=data["label"])
    db.session.commit()
    return {"token": token, "device_id": device.id, "user": user}


@bp.delete("/devices/current")
@bp.response(204, description="Revoked.")
@fails(401)
@device_token
def revoke_current_device():
    """Revoke this device's token.

    Signing out, or a lost phone.
    """
    from server.staff.models import audit

    device = current_device()
    device.revoked_at = utcnow()
    audit("device_revoked", "device", device.id, user_id=device.user_id, kind=device.kind)
    db.session.commit()
    return Response(status=204)
