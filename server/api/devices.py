"""Device tokens for staff phones and tablets."""

from flask import jsonify, request
from marshmallow import Schema, fields, validate

from server.api import bp
from server.auth import two_step
from server.auth.models import User, utcnow
from server.devices import STAFF, current_device, issue_device
from server.errors import error_response
from server.extensions import db, limiter
from server.limits import account_key, failed_sign_in


class DeviceSignInSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    label = fields.String(load_default="", validate=validate.Length(max=80))
    # For accounts with two-step sign-in: the authenticator's code, or a recovery code.
    code = fields.String(load_default="", validate=validate.Length(max=20))


@bp.post("/devices")
@limiter.limit("10 per minute; 50 per hour")
@limiter.limit("5 per minute; 20 per hour", key_func=account_key, deduct_when=failed_sign_in)
def create_device():
    """Sign a staff member in on a device and issue its token (shown once)."""
    data = DeviceSignInSchema().load(request.get_json(silent=True) or {})
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
    return jsonify(
        token=token,
        device_id=device.id,
        user={"id": user.id, "role": user.role, "name": user.name},
    ), 201


@bp.delete("/devices/current")
def revoke_current_device():
    """Revoke this device's token (signing out, or a lost phone)."""
    from server.staff.models import audit

    device = current_device()
    device.revoked_at = utcnow()
    audit("device_revoked", "device", device.id, user_id=device.user_id, kind=device.kind)
    db.session.commit()
    return "", 204
