"""Device tokens: how an installed app proves who it acts for.

A token is random, shown once, and stored only as its SHA-256. (The token has
256 bits of entropy, so a fast hash is enough; no password-style stretching.)
"""

import hashlib
import secrets
import uuid
from datetime import datetime

from flask import abort, request
from sqlalchemy import ForeignKey, String, bindparam, select
from sqlalchemy.orm import Mapped, mapped_column

from server.auth.models import User, utcnow
from server.extensions import db
from sync import sql

PARTICIPANT = "participant"
STAFF = "staff"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Device(db.Model):
    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    # For a participant's own phone: who it speaks for, in which project.
    participant_id: Mapped[str | None] = mapped_column(String(36), index=True)
    project_id: Mapped[str | None] = mapped_column(String(36))
    # For a staff member's phone or tablet.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def user(self) -> User | None:
        return db.session.get(User, self.user_id) if self.user_id else None


def issue_device(**attributes) -> tuple[Device, str]:
    """Create a device and return it with its token, which is never stored in the clear."""
    token = "wu_" + secrets.token_urlsafe(32)
    device = Device(token_hash=hash_token(token), **attributes)
    db.session.add(device)
    return device, token


# Built once: every sync request runs it, and building it cost a fifth of running it.
_BY_TOKEN_HASH = select(Device).where(Device.token_hash == bindparam("token_hash"))


def find_device(token: str) -> Device | None:
    """Return the device a bearer token was issued to, live or revoked, or None."""
    if not token:
        return None
    return db.session.execute(_BY_TOKEN_HASH, {"token_hash": hash_token(token)}).scalar_one_or_none()


class DeviceSeen:
    """A device as one request reads it: its stored row, not an object of the session.

    For the sync endpoints, which only read their device: loading the session's object
    cost 0.39 ms of Python a request (the query through the ORM, the object made and
    tracked), against about 0.07 ms for the row. Change a device through ``Device``.
    """

    __slots__ = tuple(column.key for column in Device.__table__.columns)

    def __init__(self, row) -> None:
        for name, value in zip(self.__slots__, row, strict=True):
            setattr(self, name, value)

    @property
    def user(self) -> User | None:
        return db.session.get(User, self.user_id) if self.user_id else None


_ROW_BY_TOKEN_HASH = sql.once(
    select(*(Device.__table__.c[name] for name in DeviceSeen.__slots__)).where(
        Device.__table__.c.token_hash == bindparam("token_hash")
    )
)


def is_device(actor) -> bool:
    """Whether an actor is a device, as a session's object or as a request read it."""
    return isinstance(actor, Device | DeviceSeen)


def find_device_seen(token: str) -> DeviceSeen | None:
    """``find_device`` for a request that only reads the device."""
    if not token:
        return None
    row = sql.first(db.session.connection(), _ROW_BY_TOKEN_HASH, {"token_hash": hash_token(token)})
    return DeviceSeen(row) if row is not None else None


def is_live(device: Device | DeviceSeen) -> bool:
    """A device works until revoked; a staff device also stops with its account."""
    if device.revoked_at is not None:
        return False
    if device.kind == STAFF:
        user = device.user
        return user is not None and user.active
    return True


def device_for_token(token: str) -> Device | None:
    """Return the live device for a bearer token, or None."""
    device = find_device(token)
    return device if device is not None and is_live(device) else None


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def current_device(*, only_to_read: bool = False) -> Device | DeviceSeen:
    """Return the device behind this request's bearer token, or answer 401.

    ``only_to_read``: the stored row as a ``DeviceSeen``, cheaper, for a request that
    never changes its device (a push or a pull).
    """
    # Cached per request (not on g, which outlives a request when an app context is already pushed).
    key = "withus.device_seen" if only_to_read else "withus.device"
    if key not in request.environ:
        find = find_device_seen if only_to_read else find_device
        request.environ[key] = find(bearer_token())
    device = request.environ[key]
    if device is None:
        abort(401, description="Sign in again: this device's access is unknown.")
    if not is_live(device):
        # The app wipes everything it holds on this code (docs/access.md).
        from server.errors import error_response

        abort(
            error_response(
                401,
                "device_revoked",
                "This phone's access was taken away, so everything on it was removed.",
            )
        )
    return device
