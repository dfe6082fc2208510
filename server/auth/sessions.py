"""Staff sessions that can be ended from the server.

Flask keeps the session in a signed cookie, so the server cannot delete one. Each
cookie carries the account's ``session_version`` from when it signed in; raising
the version makes every older cookie useless on its next request. Idle sessions
end through the cookie's signed timestamp (``PERMANENT_SESSION_LIFETIME``), which
Flask checks on every request and renews while the person keeps working.
"""

from __future__ import annotations

from flask import session
from flask_login import login_user
from sqlalchemy import update

from server.auth.models import User, utcnow
from server.extensions import db

VERSION_KEY = "_session_version"


def start_session(user: User) -> None:
    """Sign ``user`` in on this browser, tied to the account's current session version."""
    # The half-finished two-step state goes; the rest (the CSRF token) may stay, since a
    # signed cookie session cannot be planted and then taken over.
    for key in [k for k in session if k.startswith("_pending") or k == "_new_totp_secret"]:
        session.pop(key)
    login_user(user)
    session[VERSION_KEY] = user.session_version
    session.permanent = True  # the cookie's lifetime is the idle timeout


def session_is_current(user: User) -> bool:
    """Tell whether this request's session was signed in under the account's current version."""
    return session.get(VERSION_KEY) == user.session_version


def end_sessions(user: User) -> None:
    """End every signed-in session of ``user`` (the caller commits)."""
    user.session_version = (user.session_version or 0) + 1


def end_sessions_and_devices(user: User) -> int:
    """End every session and revoke every staff device token of ``user``; return the devices revoked."""
    from server.auth.devices import STAFF, Device

    end_sessions(user)
    result = db.session.execute(
        update(Device)
        .where(Device.user_id == user.id, Device.kind == STAFF, Device.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
