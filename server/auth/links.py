"""One-time links that let a person set a password: an invitation or a reset.

The link carries a random token; only its SHA-256 is stored. A link works once,
until it expires (invitation 72 hours, reset 1 hour), and a newer link of the same
kind replaces any older one.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import ForeignKey, String, update
from sqlalchemy.orm import Mapped, mapped_column

from server.auth.models import User, utcnow
from server.extensions import db

INVITE = "invite"
RESET = "reset"
LIFETIMES = {INVITE: timedelta(hours=72), RESET: timedelta(hours=1)}

# Why a link does not work, in words a person can act on.
UNKNOWN = "This link does not work. Check you copied all of it, or ask for a new one."
USED = "This link has already been used. Each link works once: ask for a new one."
EXPIRED = "This link has expired. Ask for a new one."


class AccountLink(db.Model):
    __tablename__ = "account_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(user: User, purpose: str) -> str:
    """Make a one-time link token for ``user``, retiring older unused ones of the same kind."""
    now = utcnow()
    db.session.execute(
        update(AccountLink)
        .where(AccountLink.user_id == user.id, AccountLink.purpose == purpose, AccountLink.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    db.session.add(
        AccountLink(
            user_id=user.id,
            purpose=purpose,
            token_hash=_hash(token),
            created_at=now,
            expires_at=now + LIFETIMES[purpose],
        )
    )
    return token


def link_url(token: str) -> str:
    """The full address of a set-password link (in the query string, out of access logs' paths)."""
    return url_for("auth.set_password", token=token, _external=True)


def find_link(token: str) -> tuple[AccountLink | None, str | None]:
    """Return the live link for ``token``, or None with the reason it does not work."""
    if not token or len(token) > 100:
        return None, UNKNOWN
    link = db.session.execute(db.select(AccountLink).where(AccountLink.token_hash == _hash(token))).scalar_one_or_none()
    if link is None:
        return None, UNKNOWN
    if link.used_at is not None:
        return None, USED
    if link.expires_at <= utcnow():
        return None, EXPIRED
    user = db.session.get(User, link.user_id)
    if user is None or not user.active:
        return None, UNKNOWN
    return link, None


def use_link(link: AccountLink) -> None:
    """Mark a link used so it never works again (the caller commits)."""
    link.used_at = utcnow()
