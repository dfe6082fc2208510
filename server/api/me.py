"""/api/me: who the calling device speaks for, and a participant's own data.

GET  /api/me                 -> 200 {"kind", ...}
POST /api/me/another-phone   -> 201 {"code","expires_at"}    (participant device)
GET  /api/me/export          -> 200 everything about the calling participant
POST /api/me/erase           -> 200 {"erased": n}; the device is revoked
"""

from __future__ import annotations

import functools

from marshmallow import Schema, fields, validate

from server.api.blueprint import bp, device_token, fails
from server.api.schemas import ClaimCodeSchema, ProjectRefSchema, UserSchema, UtcStamp
from server.auth.devices import PARTICIPANT, current_device
from server.auth.models import utcnow
from server.domain import codes
from server.domain.erasure import erase_participant, subject_rows
from server.domain.models import Project
from server.domain.projects import staff_projects
from server.errors import error_response
from server.extensions import db, limiter
from server.staff.models import audit
from sync.records import fields_from_json


class MeSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["participant", "staff"]))
    participant_id = fields.String()
    project_id = fields.String(allow_none=True)
    user = fields.Nested(UserSchema)
    projects = fields.List(fields.Nested(ProjectRefSchema), required=True)


class ExportRecordSchema(Schema):
    type = fields.String(required=True)
    id = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True)


class ExportSchema(Schema):
    participant_id = fields.String(required=True)
    project = fields.Nested(ProjectRefSchema, required=True, allow_none=True)
    exported_at = UtcStamp(required=True, metadata={"type": "string"})
    records = fields.List(fields.Nested(ExportRecordSchema), required=True)


class ErasedSchema(Schema):
    erased = fields.Integer(required=True, validate=validate.Range(min=0))


def _project_ref(device) -> Project | None:
    return db.session.get(Project, device.project_id) if device.project_id else None


@bp.get("/me")
@bp.response(200, MeSchema, description="The device's identity and projects.")
@fails(401)
@device_token
def me():
    """Who this device speaks for, and its projects."""
    device = current_device()
    if device.kind == PARTICIPANT:
        project = _project_ref(device)
        return {
            "kind": "participant",
            "participant_id": device.participant_id,
            "project_id": device.project_id,
            "projects": [project] if project else [],
        }
    user = device.user
    return {"kind": "staff", "user": user, "projects": staff_projects(user)}


def participant_only(*codes: int):
    """For a participant's own device alone: any other device is refused (403).

    Documents the device token and the 401 and 403 answers, and ``codes`` (such as 429)
    besides; the view is called with the device.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            device = current_device()
            if device.kind != PARTICIPANT or not device.participant_id:
                return error_response(403, "forbidden", "Only a participant's own device can do this.")
            return view(device, *args, **kwargs)

        return fails(401, 403, *codes)(device_token(wrapper))

    return decorator


@bp.post("/me/another-phone")
@limiter.limit("10 per hour")
@bp.response(201, ClaimCodeSchema, description="The code.")
@participant_only(429)
def another_phone(device):
    """A family's one-use code for their next phone (the only way to a second one)."""
    code, expires_at = codes.new_claim_code(
        device.participant_id,
        device.project_id,
        None,
        codes.ANOTHER_PHONE_DAYS,
        made_by_device=device.id,
    )
    audit("claim_issued", "participant", device.participant_id, device=device.id, by="family")
    db.session.commit()
    return {"code": code, "expires_at": expires_at}


@bp.get("/me/export")
@bp.response(200, ExportSchema, description="The participant's records.")
@participant_only()
def export(device):
    """Everything held about this participant (UK GDPR access and portability)."""
    pid = device.participant_id
    out = [
        {"type": rtype, "id": rid, "fields": {k: r.v for k, r in fields_from_json(fields_json).items()}}
        for rtype, rid, fields_json, deleted in subject_rows(pid)
        if deleted is None
    ]
    headers = {
        "Content-Disposition": 'attachment; filename="withus-my-data.json"',
        "Cache-Control": "no-store",
    }
    body = {"participant_id": pid, "project": _project_ref(device), "exported_at": utcnow(), "records": out}
    return body, 200, headers


@bp.post("/me/erase")
@limiter.limit("5 per minute")
@bp.response(200, ErasedSchema, description="How many records were erased.")
@participant_only(429)
def erase(device):
    """Erase this participant and revoke the device.

    Records become tombstones; every device of the participant is revoked.
    """
    count = erase_participant(device.participant_id)
    db.session.commit()
    return {"erased": count}
