"""Join codes and claim codes: short, easy to read aloud, hard to guess.

Codes are 8 characters in two groups (``XXXX-XXXX``) from an alphabet without
look-alikes (no 0/O, 1/I/L): 31**8, about 8.5e11 codes, with rate-limited
redemption. What people type is normalised: case, spaces, dashes and dots do
not matter. Join codes are stored as shown (the demo's ``KIND-RIVER`` too) and
found by their compact form; claim codes are stored only as a SHA-256 hash.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from server.auth.models import utcnow
from server.domain.models import ClaimCode, JoinCode
from server.extensions import db

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
GROUP = 4
GROUPS = 2
JOIN_DAYS = 30
CLAIM_DAYS = 7
ANOTHER_PHONE_DAYS = 1
MAX_INPUT = 40

_SEPARATORS = re.compile(r"[\s\-_.]+")


def generate() -> str:
    """Return a fresh code like ``K7MR-X2QH``."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(GROUP * GROUPS))
    return "-".join(chars[i : i + GROUP] for i in range(0, len(chars), GROUP))


def normalise(text: str) -> str:
    """Return the compact form of what someone typed: ``k7mr x2qh`` -> ``K7MRX2QH``."""
    return _SEPARATORS.sub("", (text or "")[:MAX_INPUT]).upper()


def hash_code(text: str) -> str:
    return hashlib.sha256(normalise(text).encode()).hexdigest()


# ---------------------------------------------------------------- join codes


def new_join_code(project_id: str, days: int | None = JOIN_DAYS, *, code: str | None = None) -> str:
    """Make the project's join code, revoking the one before (rotation); return it as shown.

    ``days=None`` makes a code that does not expire. ``code`` sets the code (the demo's).
    Adds to the session; the caller commits.
    """
    now = utcnow()
    db.session.execute(
        update(JoinCode).where(JoinCode.project_id == project_id, JoinCode.revoked_at.is_(None)).values(revoked_at=now)
    )
    shown = "-".join(p for p in _SEPARATORS.split(code.upper()) if p) if code else generate()
    while code is None and find_join_code(shown) is not None:
        shown = generate()
    db.session.add(
        JoinCode(
            code=shown,
            project_id=project_id,
            created_at=now,
            expires_at=now + timedelta(days=days) if days is not None else None,
        )
    )
    db.session.flush()
    return shown


def find_join_code(text: str) -> JoinCode | None:
    """Find a join code by what someone typed (any state: check ``join_code_state``)."""
    compact = normalise(text)
    if not compact:
        return None
    return db.session.execute(select(JoinCode).where(func.replace(JoinCode.code, "-", "") == compact)).scalars().first()


def join_code_state(code: JoinCode, now: datetime | None = None) -> str:
    """Return "active", "revoked" or "expired"."""
    now = now or utcnow()
    if code.revoked_at is not None:
        return "revoked"
    if code.expires_at is not None and code.expires_at <= now:
        return "expired"
    return "active"


def revoke_join_codes(project_id: str) -> None:
    db.session.execute(
        update(JoinCode)
        .where(JoinCode.project_id == project_id, JoinCode.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def active_join_code(project_id: str) -> JoinCode | None:
    """The project's live join code, if any."""
    now = utcnow()
    return (
        db.session.execute(
            select(JoinCode)
            .where(
                JoinCode.project_id == project_id,
                JoinCode.revoked_at.is_(None),
                (JoinCode.expires_at.is_(None)) | (JoinCode.expires_at > now),
            )
            .order_by(JoinCode.created_at.desc())
        )
        .scalars()
        .first()
    )


# ---------------------------------------------------------------- claim codes


def new_claim_code(
    participant_id: str,
    project_id: str,
    created_by: int | None,
    days: float = CLAIM_DAYS,
    *,
    made_by_device: str | None = None,
) -> tuple[str, datetime]:
    """Make a one-use claim code for a participant; earlier unused ones stop working."""
    now = utcnow()
    db.session.execute(
        update(ClaimCode)
        .where(ClaimCode.participant_id == participant_id, ClaimCode.used_at.is_(None))
        .values(used_at=now)
    )
    code = generate()
    expires_at = now + timedelta(days=days)
    db.session.add(
        ClaimCode(
            code_hash=hash_code(code),
            participant_id=participant_id,
            project_id=project_id,
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
            made_by_device=made_by_device,
        )
    )
    db.session.flush()
    return code, expires_at


def find_claim_code(text: str) -> ClaimCode | None:
    if not normalise(text):
        return None
    return db.session.get(ClaimCode, hash_code(text))


def use_claim_code(claim: ClaimCode) -> bool:
    """Mark a claim code used, once: False if it was already used or has expired."""
    now = utcnow()
    result = db.session.execute(
        update(ClaimCode)
        .where(
            ClaimCode.code_hash == claim.code_hash,
            ClaimCode.used_at.is_(None),
            ClaimCode.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
