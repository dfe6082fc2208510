"""POST /api/claims and /api/claims/redeem: handing a participant over to the family's own phone."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.api.blueprint import before_body, bp, device_token, fails
from server.api.join import code_for_a_device, code_gone, new_participant_device, unknown_code
from server.api.schemas import ClaimCodeSchema
from server.auth.devices import STAFF, Device, current_device
from server.auth.models import utcnow
from server.domain import access, codes
from server.domain.models import ClaimCode
from server.domain.projects import project_of
from server.errors import error_response
from server.extensions import db, limiter
from server.limits import code_key
from server.staff.models import audit


class ClaimSchema(Schema):
    participant_id = fields.String(
        required=True,
        validate=validate.Regexp(
            r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z",
            error="Must be a participant id.",
        ),
    )


def _staff_device_only():
    if current_device().kind != STAFF:
        return error_response(403, "forbidden", "Only staff devices make claim codes.")
    return None


@bp.post("/claims")
@limiter.limit("30 per hour")
@before_body(_staff_device_only)
@bp.arguments(ClaimSchema)
@bp.response(201, ClaimCodeSchema, description="The code.")
@fails(400, 401, 403, 404, 429)
@device_token
def create_claim(data):
    """A worker's one-use hand-over code.

    A staff device makes it so a family's own phone takes over a participant in custody.
    """
    device = current_device()
    refusal = access.may_issue_claim(db.session.connection(), device, data["participant_id"])
    if refusal is not None:
        status = 404 if refusal.code == "not_found" else 403
        return error_response(status, refusal.code, refusal.message, refusal.field)
    participant_id = data["participant_id"]
    code, expires_at = codes.new_claim_code(participant_id, project_of(participant_id), device.user_id)
    audit("claim_issued", "participant", participant_id, user_id=device.user_id, device=device.id)
    db.session.commit()
    return {"code": code, "expires_at": expires_at}


def _claim_still_good(claim: ClaimCode) -> bool:
    """A staff code works only while custody lasts; a family's code only while its phone does."""
    conn = db.session.connection()
    if claim.made_by_device is None:
        return access.in_custody(conn, claim.participant_id)
    maker = db.session.get(Device, claim.made_by_device)
    return maker is not None and maker.revoked_at is None


@bp.post("/claims/redeem")
@limiter.limit("10 per minute")
@limiter.limit("5 per minute", key_func=code_key)
@code_for_a_device
def redeem_claim(data):
    """Take over a participant with a claim code.

    The family's phone takes over the participant the claim code names (custody ends).
    """
    claim = codes.find_claim_code(data["code"])
    if claim is None:
        return unknown_code()
    if claim.used_at is not None or claim.expires_at <= utcnow():
        return code_gone("That code was used already or has expired. Ask for a new one.")
    if not _claim_still_good(claim):
        codes.use_claim_code(claim)
        db.session.commit()
        return code_gone("That code no longer works. Add this phone from a phone you already use.")
    if not codes.use_claim_code(claim):
        return code_gone("That code was used already or has expired. Ask for a new one.")
    answer = new_participant_device(claim.participant_id, claim.project_id, "claimed")
    audit(
        "claim_redeemed",
        "participant",
        claim.participant_id,
        by="family" if claim.made_by_device else "staff",
    )
    db.session.commit()
    return answer
