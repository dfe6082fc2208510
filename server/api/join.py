"""POST /api/join: a family joins a project with its code and gets a participant device."""

from __future__ import annotations

from server.api.blueprint import bp, fails
from server.api.schemas import CodeSchema, DeviceTokenSchema
from server.auth.devices import PARTICIPANT, issue_device
from server.domain import codes, types
from server.domain.models import Project
from server.errors import error_response
from server.extensions import db, limiter
from server.limits import code_key


def new_participant_device(participant_id: str, project_id: str, label: str) -> dict:
    """Issue a device for a participant; the answer holds its token, shown this once."""
    device, token = issue_device(kind=PARTICIPANT, participant_id=participant_id, project_id=project_id, label=label)
    db.session.flush()
    return {
        "token": token,
        "device_id": device.id,
        "participant_id": participant_id,
        "project_id": project_id,
    }


def unknown_code():
    return error_response(404, "unknown_code", "We do not know that code. Check it and try again.", "code")


def code_gone(message: str):
    return error_response(410, "code_expired", message, "code")


def code_for_a_device(view):
    """The two ways a family's phone comes in (join, redeem): a code in, a device token out."""
    view = fails(400, 404, 410, 429)(view)
    view = bp.response(201, DeviceTokenSchema, description="A participant device token.")(view)
    return bp.arguments(CodeSchema)(view)


@bp.post("/join")
@limiter.limit("10 per minute")
# A room of families may join with one code at once: generous, but bounded whatever the address.
@limiter.limit("30 per minute", key_func=code_key)
@code_for_a_device
def join(data):
    """Join a project with its code.

    A new pseudonymous participant, and a device token for them.
    """
    code = codes.find_join_code(data["code"])
    if code is None:
        return unknown_code()
    if codes.join_code_state(code) != "active":
        return code_gone("That code has expired. Ask the project for a new one.")
    project = db.session.get(Project, code.project_id)
    if project is None or project.status != "active":
        return code_gone("That project is closed.")
    answer = new_participant_device(types.uuid7(), code.project_id, "joined with a code")
    db.session.commit()
    return answer
