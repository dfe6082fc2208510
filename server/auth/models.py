"""Staff accounts. Participants are pseudonymous records, never accounts."""

import enum
from datetime import UTC, datetime

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from server.extensions import db


class Role(enum.StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    WORKER = "worker"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# A hash to check against when the email is unknown, so a wrong email costs the
# same time as a wrong password and timing gives nothing away.
_DUMMY_HASH = generate_password_hash("not a real password")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    # Empty until an invited person sets a password: an empty hash never matches.
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Every session cookie carries the version it was signed in under; raising it
    # (sign-out, deactivation, a new password) ends every session of the account at once.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    # Two-step sign-in: the TOTP secret once set up, and the last time step used,
    # so one code cannot be used twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    totp_last_step: Mapped[int | None] = mapped_column(default=None)

    @property
    def is_active(self) -> bool:
        return self.active

    def set_password(self, password: str) -> None:
        # Tests lower the cost; production keeps Werkzeug's default (scrypt).
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"
        self.password_hash = generate_password_hash(password, method=method)

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    @staticmethod
    def normalise_email(email: str) -> str:
        return (email or "").strip().lower()

    @classmethod
    def authenticate(cls, email: str, password: str) -> "User | None":
        """Return the active user with these credentials, or None without saying which part was wrong."""
        user = db.session.execute(db.select(cls).where(cls.email == cls.normalise_email(email))).scalar_one_or_none()
        if user is None:
            check_password_hash(_DUMMY_HASH, password or "")
            return None
        if not check_password_hash(user.password_hash, password or "") or not user.active:
            return None
        return user
