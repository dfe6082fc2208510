"""Joining, claiming, "me", export and erasure: the participant side of the device API.

POST /api/join   {"code"}  -> 201 {"token","device_id","participant_id","project_id"}
GET  /api/me                                   -> 200 {"kind", ...}
POST /api/claims           {"participant_id"}  -> 201 {"code","expires_at"}       (staff device)
POST /api/claims/redeem    {"code"}            -> 201 like /api/join
POST /api/me/another-phone                     -> 201 {"code","expires_at"}       (participant device)
GET  /api/me/export                            -> 200 everything about the calling participant
POST /api/me/erase                             -> 200 {"erased": n}; the device is revoked
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from marshmallow import Schema, fields, validate
from sqlalchemy import delete, select, update

from server.auth.models import utcnow
from server.devices import PARTICIPANT, STAFF, Device, current_device, issue_device
from server.domain import access, codes, erasure, types
from server.domain.actors import SYSTEM, who_is
from server.domain.models import ClaimCode, Project
from server.domain.projects import staff_project_ids, write_records
from server.errors import error_response
from server.extensions import csrf, db, limiter
from server.limits import code_key
from server.staff.models import audit
from sync.records import fields_from_json
from sync.schema import records

bp = Blueprint("domain_api", __name__, url_prefix="/api")
# Devices authenticate with bearer tokens, never cookies: no CSRF exposure.
csrf.exempt(bp)


class CodeSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=codes.MAX_INPUT))


class ClaimSchema(Schema):
    participant_id = fields.String(
        required=True,
        validate=validate.Regexp(
            r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z",
            error="Must be a participant id.",
        ),
    )


def _iso(value) -> str:
    return value.replace(microsecond=0).isoformat() + "Z"


def _participant_device(participant_id: str, project_id: str, label: str):
    device, token = issue_device(
        kind=PARTICIPANT, participant_id=participant_id, project_id=project_id, label=label
    )
    db.session.flush()
    return jsonify(
        token=token, device_id=device.id, participant_id=participant_id, project_id=project_id
    )


def _code_gone(message: str):
    return error_response(410, "code_expired", message, "code")


@bp.post("/join")
@limiter.limit("10 per minute")
# A room of families may join with one code at once: generous, but bounded whatever the address.
@limiter.limit("30 per minute", key_func=code_key)
def join():
    """Join a project with its code: a new pseudonymous participant and a device token for them."""
    data = CodeSchema().load(request.get_json(silent=True) or {})
    code = codes.find_join_code(data["code"])
    if code is None:
        return error_response(
            404, "unknown_code", "We do not know that code. Check it and try again.", "code"
        )
    if codes.join_code_state(code) != "active":
        return _code_gone("That code has expired. Ask the project for a new one.")
    project = db.session.get(Project, code.project_id)
    if project is None or project.status != "active":
        return _code_gone("That project is closed.")
    response = _participant_device(types.uuid7(), code.project_id, "joined with a code")
    db.session.commit()
    return response, 201


@bp.get("/me")
def me():
    """Who this device speaks for, and its projects."""
    device = current_device()
    if device.kind == PARTICIPANT:
        project = db.session.get(Project, device.project_id) if device.project_id else None
        return jsonify(
            kind="participant",
            participant_id=device.participant_id,
            project_id=device.project_id,
            projects=[{"id": project.id, "title": project.title}] if project else [],
        )
    user = device.user
    ids = staff_project_ids(user)
    rows = (
        db.session.execute(
            select(Project.id, Project.title).where(Project.id.in_(ids)).order_by(Project.title)
        ).all()
        if ids
        else []
    )
    return jsonify(
        kind="staff",
        user={"id": user.id, "role": user.role, "name": user.name},
        projects=[{"id": pid, "title": title} for pid, title in rows],
    )


@bp.post("/claims")
@limiter.limit("30 per hour")
def create_claim():
    """A staff device makes a one-use code so a family's own phone takes over a participant in custody."""
    device = current_device()
    if device.kind != STAFF:
        return error_response(403, "forbidden", "Only staff devices make claim codes.")
    data = ClaimSchema().load(request.get_json(silent=True) or {})
    refusal = access.may_issue_claim(db.session.connection(), device, data["participant_id"])
    if refusal is not None:
        status = 404 if refusal.code == "not_found" else 403
        return error_response(status, refusal.code, refusal.message, refusal.field)
    participant_id = data["participant_id"]
    project_id = db.session.execute(
        select(records.c.project_id).where(records.c.id == participant_id)
    ).scalar()
    code, expires_at = codes.new_claim_code(participant_id, project_id, device.user_id)
    audit("claim_issued", "participant", participant_id, user_id=device.user_id, device=device.id)
    db.session.commit()
    return jsonify(code=code, expires_at=_iso(expires_at)), 201


@bp.post("/me/another-phone")
@limiter.limit("10 per hour")
def another_phone():
    """A family's phone makes a one-use code to add their next phone (the only way to a second one)."""
    device, error = _participant_only()
    if error is not None:
        return error
    code, expires_at = codes.new_claim_code(
        device.participant_id,
        device.project_id,
        None,
        codes.ANOTHER_PHONE_DAYS,
        made_by_device=device.id,
    )
    audit("claim_issued", "participant", device.participant_id, device=device.id, by="family")
    db.session.commit()
    return jsonify(code=code, expires_at=_iso(expires_at)), 201


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
def redeem_claim():
    """The family's phone takes over the participant the claim code names (custody ends)."""
    data = CodeSchema().load(request.get_json(silent=True) or {})
    claim = codes.find_claim_code(data["code"])
    if claim is None:
        return error_response(
            404, "unknown_code", "We do not know that code. Check it and try again.", "code"
        )
    if claim.used_at is not None or claim.expires_at <= utcnow():
        return _code_gone("That code was used already or has expired. Ask for a new one.")
    if not _claim_still_good(claim):
        codes.use_claim_code(claim)
        db.session.commit()
        return _code_gone("That code no longer works. Add this phone from a phone you already use.")
    if not codes.use_claim_code(claim):
        return _code_gone("That code was used already or has expired. Ask for a new one.")
    response = _participant_device(claim.participant_id, claim.project_id, "claimed")
    audit(
        "claim_redeemed",
        "participant",
        claim.participant_id,
        by="family" if claim.made_by_device else "staff",
    )
    db.session.commit()
    return response, 201


def _participant_only():
    device = current_device()
    if device.kind != PARTICIPANT or not device.participant_id:
        return None, error_response(
            403, "forbidden", "Only a participant's own device can do this."
        )
    return device, None


def _subject_rows(participant_id: str):
    return db.session.execute(
        select(records.c.type, records.c.id, records.c.fields, records.c.deleted)
        .where(records.c.subject_id == participant_id)
        .order_by(records.c.change_no)
    ).all()


@bp.get("/me/export")
def export():
    """Everything held about the calling participant, as JSON (UK GDPR access and portability)."""
    device, error = _participant_only()
    if error is not None:
        return error
    pid = device.participant_id
    project = db.session.get(Project, device.project_id) if device.project_id else None
    out = []
    for rtype, rid, fields_json, deleted in _subject_rows(pid):
        if deleted is not None:
            continue
        out.append(
            {
                "type": rtype,
                "id": rid,
                "fields": {k: r.v for k, r in fields_from_json(fields_json).items()},
            }
        )
    response = jsonify(
        participant_id=pid,
        project={"id": project.id, "title": project.title} if project else None,
        exported_at=_iso(utcnow()),
        records=out,
    )
    response.headers["Content-Disposition"] = 'attachment; filename="withus-my-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/me/erase")
@limiter.limit("5 per minute")
def erase():
    """Erase the calling participant: records become tombstones, their devices are revoked."""
    device, error = _participant_only()
    if error is not None:
        return error
    count = erase_participant(device.participant_id)
    db.session.commit()
    return jsonify(erased=count)


def erase_participant(participant_id: str) -> int:
    """Tombstone every live record of a participant and revoke their devices; return the count.

    Also removes their feedback ids from every action, and on SQLite empties the
    write-ahead log once the caller commits (server/domain/erasure.py). Does not commit.
    Used by the participant's own erase and by staff on request.
    """
    rows = _subject_rows(participant_id)
    live = [(rtype, rid, {}) for rtype, rid, _, deleted in rows if deleted is None]
    # Before the tombstones: the links are looked up through the feedback still on file.
    erasure.unlink_feedback([rid for rtype, rid, _, _ in rows if rtype == "feedback"])
    if live:
        write_records(live, SYSTEM, delete=True)
    now = utcnow()
    db.session.execute(
        update(Device)
        .where(
            Device.participant_id == participant_id,
            Device.kind == PARTICIPANT,
            Device.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(ClaimCode)
        .where(ClaimCode.participant_id == participant_id, ClaimCode.used_at.is_(None))
        .values(used_at=now)
    )
    _forget_push(participant_id)
    audit("erasure", "participant", participant_id, records=len(live))
    erasure.checkpoint_wal_after_commit()
    return len(live)


def _forget_push(participant_id: str) -> None:
    """Drop the participant's push subscriptions, queued notifications and quiet hours."""
    from server.push.models import Notification, PushSubscription, QuietHours

    devices = select(Device.id).where(Device.participant_id == participant_id)
    db.session.execute(delete(Notification).where(Notification.participant_id == participant_id))
    db.session.execute(delete(PushSubscription).where(PushSubscription.device_id.in_(devices)))
    db.session.execute(delete(QuietHours).where(QuietHours.participant_id == participant_id))


__all__ = ["bp", "erase_participant", "who_is"]  # who_is: kept for older imports
