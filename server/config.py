"""Configuration read from the environment, with fallbacks for one machine.

Every setting a deployer or a test needs can come from the environment; docs/operations.md
lists them. In production (``WITHUS_ENV=production``, the default) a process refuses to
start while a required one is missing, instead of quietly making its own database,
secret key or VAPID keys in the instance folder.
"""

from __future__ import annotations

import os

PRODUCTION = "production"
# Needed by every process in production: web, push worker and CLI alike.
REQUIRED_IN_PRODUCTION = ("DATABASE_URL", "SECRET_KEY", "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY", "VAPID_SUBJECT")
# Settings read as they are typed in DEFAULTS (or the push worker's defaults).
_TYPED_FROM_ENVIRONMENT = (
    "SYNC_MAX_RECORDS",
    "SYNC_MAX_BYTES",
    "SYNC_TOMBSTONE_HORIZON_DAYS",
    "MAX_CONTENT_LENGTH",
    "PUSH_ALLOW_TEST_SERVICE",
)
_TEXT_FROM_ENVIRONMENT = (
    "SYNC_RATE_LIMIT",
    "RATELIMIT_KEY_PREFIX",
    "PASSWORD_HASH_METHOD",
    "VAPID_PRIVATE_KEY",
    "VAPID_PUBLIC_KEY",
    "VAPID_SUBJECT",
)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(SystemExit):
    """A process cannot start with these settings; the message is one line for the log."""

    def __init__(self, message: str):
        super().__init__("WithUs cannot start: " + message)


def database_url(instance_path: str) -> str:
    """Return DATABASE_URL (postgres:// accepted) or an SQLite file in the instance folder."""
    return database_url_from_environment() or sqlite_url(instance_path)


def sqlite_url(instance_path: str) -> str:
    """The one-machine database: an SQLite file in the instance folder."""
    return "sqlite:///" + os.path.join(instance_path, "withus.sqlite")


def database_url_from_environment() -> str | None:
    """Return DATABASE_URL in the form SQLAlchemy wants, or None when it is not set."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return None
    # Hosting platforms still hand out the scheme SQLAlchemy dropped.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _parse(name: str, raw: str, like):
    """Read ``raw`` as the type of ``like``; a value that does not fit stops the process."""
    text = raw.strip()
    if isinstance(like, bool):
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise SettingsError(f"{name} must be true or false, not {raw!r}.")
    try:
        if isinstance(like, int):
            return int(text)
        if isinstance(like, float):
            return float(text)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}.") from None
    return text


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else _parse(name, value, True)


def _number(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    number = _parse(name, value, default)
    if number < 0:
        raise SettingsError(f"{name} must not be negative.")
    return number


def _typed_settings() -> dict:
    from server.push.worker import DEFAULTS as PUSH_DEFAULTS

    out = {}
    examples = {**PUSH_DEFAULTS, **DEFAULTS}
    for name in (*_TYPED_FROM_ENVIRONMENT, *PUSH_DEFAULTS):
        raw = os.environ.get(name)
        if raw is not None and raw.strip():
            out[name] = _parse(name, raw, examples[name])
    for name in _TEXT_FROM_ENVIRONMENT:
        raw = (os.environ.get(name) or "").strip()
        if raw:
            out[name] = raw
    return out


def from_environment(instance_path: str) -> dict:
    """Build the settings for create_app from the environment."""
    env = (os.environ.get("WITHUS_ENV") or PRODUCTION).strip().lower()
    production = env == PRODUCTION
    return {
        "WITHUS_ENV": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
        # None until create_app has checked it: production must name its database.
        "SQLALCHEMY_DATABASE_URI": database_url_from_environment(),
        # Cookies travel only over https in production; the local run serves plain http.
        "SESSION_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE", production),
        "RATELIMIT_STORAGE_URI": (os.environ.get("RATELIMIT_STORAGE_URI") or "").strip() or "memory://",
        # Only for test servers driven by one browser from one address; never off in production.
        "RATELIMIT_ENABLED": _flag("RATELIMIT_ENABLED", True),
        # How many proxies (load balancer, CDN) sit in front and append to X-Forwarded-*.
        "TRUSTED_PROXIES": _number("TRUSTED_PROXIES", 0),
        # gunicorn reads the same variable; the Procfile starts 3 workers when it is unset.
        "WEB_CONCURRENCY": _number("WEB_CONCURRENCY", 3),
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        **_typed_settings(),
    }


def missing_in_production(config) -> list[str]:
    """Name the settings this production process lacks (none outside production or in tests)."""
    if config.get("WITHUS_ENV", PRODUCTION) != PRODUCTION or config.get("TESTING"):
        return []
    given = {
        "DATABASE_URL": config.get("SQLALCHEMY_DATABASE_URI"),
        "SECRET_KEY": config.get("SECRET_KEY"),
        "VAPID_PRIVATE_KEY": config.get("VAPID_PRIVATE_KEY"),
        "VAPID_PUBLIC_KEY": config.get("VAPID_PUBLIC_KEY"),
        "VAPID_SUBJECT": config.get("VAPID_SUBJECT"),
    }
    missing = [name for name in REQUIRED_IN_PRODUCTION if not given[name]]
    shared = config.get("RATELIMIT_STORAGE_URI", "memory://")
    # Each process counts alone in memory: two processes would double every limit.
    if int(config.get("WEB_CONCURRENCY") or 1) > 1 and shared.startswith("memory://"):
        missing.append("RATELIMIT_STORAGE_URI")
    return missing


def check_production(config) -> None:
    """Stop the process, in one line, when production settings are missing."""
    missing = missing_in_production(config)
    if missing:
        raise SettingsError("set " + ", ".join(missing) + " (WITHUS_ENV is production; see docs/operations.md).")


DEFAULTS = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    # No pool_pre_ping: PostgreSQL's connections are checked at checkout without a round
    # trip (server/database.py); an SQLite file has no connection to lose.
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    # No X-RateLimit headers on every response (each costs a round trip to Redis); a 429
    # still says when to try again (Retry-After, server/errors.py).
    "RATELIMIT_HEADERS_ENABLED": False,
    # A sliding minute, not calendar minutes: no double burst across a minute's edge.
    "RATELIMIT_STRATEGY": "moving-window",
    "WTF_CSRF_TIME_LIMIT": None,  # a coordinator may leave a form open all afternoon
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "SYNC_MAX_RECORDS": 500,
    "SYNC_MAX_BYTES": 1024 * 1024,
    "SYNC_SCHEMA": 1,
    "SYNC_TOMBSTONE_HORIZON_DAYS": 180,
    # PostgreSQL: "parallel" pushes commit side by side; "global" queues them behind one
    # lock, as before (kept to compare, bench/load.py --feed). See sync/feed.py.
    "SYNC_FEED": os.environ.get("WITHUS_SYNC_FEED", "parallel"),
    # An open transaction holds back every pull (sync/feed.py): end idle ones, bound all.
    "SYNC_IDLE_IN_TRANSACTION_MS": 60_000,
    "SYNC_STATEMENT_TIMEOUT_MS": 300_000,
    "PUSH_ALLOW_TEST_SERVICE": False,
}


# --- Accounts, e-mail and retention (docs/admin.md) ---------------------------------


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def accounts_from_environment() -> dict:
    """Settings for staff sessions, e-mail and data retention, from the environment."""
    from datetime import timedelta

    return {
        # A staff session ends after this long without a request (a working day).
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_int("STAFF_SESSION_IDLE_HOURS", 8)),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USE_TLS": _flag("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _flag("MAIL_USE_SSL", False),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_FROM", "WithUs <withus@localhost>"),
        # "console" prints each message instead of sending it (bin/serve sets it).
        "MAIL_BACKEND": os.environ.get("MAIL_BACKEND", "smtp"),
        # How long a closed project keeps personal data before purge-retention erases it.
        "RETENTION_DAYS": _int("RETENTION_DAYS", 730),
        # Roles that must use two-step sign-in; others may choose it.
        "TWO_STEP_REQUIRED_ROLES": tuple(
            r.strip() for r in os.environ.get("TWO_STEP_REQUIRED_ROLES", "admin").split(",") if r.strip()
        ),
    }
