"""Two-step sign-in: a time-based code from an authenticator app (TOTP, RFC 6238).

Required for the roles in ``TWO_STEP_REQUIRED_ROLES`` (admins by default), a choice
for everyone else. Each code works once (the last time step used is kept), and ten
one-time recovery codes, stored only as hashes, stand in for a lost phone.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import time
from datetime import datetime

import pyotp
import segno
from flask import current_app
from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from server.auth.models import User, utcnow
from server.extensions import db

ISSUER = "WithUs"
RECOVERY_CODE_COUNT = 10


class RecoveryCode(db.Model):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(default=None)


def required_for(user: User) -> bool:
    """Tell whether ``user``'s role must use two-step sign-in."""
    return user.role in current_app.config.get("TWO_STEP_REQUIRED_ROLES", ("admin",))


def new_secret() -> str:
    """A fresh TOTP secret (160 bits, base32)."""
    return pyotp.random_base32(32)


def setup_uri(user: User, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """An SVG QR code for ``uri``, with a title for screen readers."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out, kind="svg", scale=5, border=2, xmldecl=False, svgns=True, title="QR code for your authenticator app"
    )
    return out.getvalue().decode()


def _clean(code: str) -> str:
    return "".join(ch for ch in (code or "") if ch.isalnum()).lower()


def code_step(secret: str, code: str) -> int | None:
    """Return the time step ``code`` belongs to (now, or 30 s either side), or None if it is wrong."""
    code = _clean(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(time.time()) // totp.interval
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def check_code(user: User, code: str) -> bool:
    """Accept a TOTP code once, or an unused recovery code (which is then spent). The caller commits."""
    if user.totp_secret:
        step = code_step(user.totp_secret, code)
        if step is not None and (user.totp_last_step is None or step > user.totp_last_step):
            user.totp_last_step = step
            return True
    return _spend_recovery_code(user, code)


def _hash_recovery(code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, _clean(code).encode(), hashlib.sha256).hexdigest()


def _spend_recovery_code(user: User, code: str) -> bool:
    if len(_clean(code)) != 10:
        return False
    row = db.session.execute(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_recovery(code),
            RecoveryCode.used_at.is_(None),
        )
    ).scalar_one_or_none()
    if row is None:
        return False
    row.used_at = utcnow()
    return True


def new_recovery_codes(user: User) -> list[str]:
    """Replace ``user``'s recovery codes with ten new ones; return them to show once."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
    codes = ["".join(secrets.choice(alphabet) for _ in range(10)) for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash_recovery(code)))
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def turn_off(user: User) -> None:
    """Remove two-step sign-in from ``user`` (the caller commits)."""
    user.totp_secret = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
