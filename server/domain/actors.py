"""Who is acting: a participant's phone, a staff device, a signed-in staff member, or the server.

Every access decision starts from ``who_is(actor)``, which reduces a ``Device``,
a staff ``User`` or ``SYSTEM`` to the few facts the rule in
``server.domain.access`` needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.auth.devices import PARTICIPANT, STAFF, Device, is_device
from server.auth.models import Role, User


class _System:
    """The server acting for itself (seeding, project setup, erasure)."""

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = _System()

PARTICIPANT_KIND = "participant"
STAFF_KIND = "staff"
SYSTEM_KIND = "system"
NOBODY = "nobody"


@dataclass(frozen=True)
class Who:
    """The actor reduced to what authorisation needs."""

    kind: str  # "participant" | "staff" | "system" | "nobody"
    author_id: str | None
    participant_id: str | None = None
    project_id: str | None = None
    user_id: int | None = None
    role: str | None = None
    device: bool = False  # a device pushing, rather than the server writing
    device_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.kind == STAFF_KIND and self.role == Role.ADMIN

    @property
    def coordinates(self) -> bool:
        """A coordinator or admin: acts for anyone's entries in their projects."""
        return self.kind == STAFF_KIND and self.role in (Role.COORDINATOR, Role.ADMIN)


def staff_author(user_id: int) -> str:
    """The author id the change feed stores for a staff member's writes."""
    return f"user:{user_id}"


def _device_who(device: Device) -> Who:
    if device.kind == PARTICIPANT:
        return Who(
            PARTICIPANT_KIND,
            f"device:{device.id}",
            participant_id=device.participant_id,
            project_id=device.project_id,
            device=True,
            device_id=device.id,
        )
    user = device.user if device.kind == STAFF else None
    if user is None or not user.active:
        return Who(NOBODY, None, device=True, device_id=device.id)
    return Who(
        STAFF_KIND,
        staff_author(user.id),
        user_id=user.id,
        role=user.role,
        device=True,
        device_id=device.id,
    )


def who_is(actor: Any) -> Who:
    """Describe an actor: Device, User or SYSTEM."""
    if actor is SYSTEM:
        return Who(SYSTEM_KIND, None)
    if is_device(actor):
        return _device_who(actor)
    if isinstance(actor, User):
        if not actor.active:
            return Who(NOBODY, None)
        return Who(STAFF_KIND, staff_author(actor.id), user_id=actor.id, role=actor.role)
    raise TypeError(f"Not an actor: {actor!r}")
