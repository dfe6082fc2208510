"""Schemas more than one resource answers with; each resource's own sit in its module."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.auth.models import Role
from server.domain import codes, types


class Hlc(fields.String):
    """A hybrid logical clock stamp: WWWWWWWWWWWWW-CCCC-NNNNNNNNNNNNNNNN."""


class UtcStamp(fields.Field):
    """A naive UTC datetime on the wire as 2026-01-31T09:30:00Z (whole seconds)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.replace(microsecond=0).isoformat() + "Z"


class CodeSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=codes.MAX_INPUT))


class DeviceTokenSchema(Schema):
    token = fields.String(required=True)
    device_id = fields.String(required=True)
    participant_id = types.Id(required=True)
    project_id = types.Id(required=True)


class ClaimCodeSchema(Schema):
    code = fields.String(required=True)
    expires_at = UtcStamp(required=True, metadata={"type": "string"})


class UserSchema(Schema):
    id = fields.Integer(required=True)
    role = fields.String(required=True, validate=validate.OneOf([role.value for role in Role]))
    name = fields.String(required=True)


class ProjectRefSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
