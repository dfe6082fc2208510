"""Configuration read from the environment, with fallbacks for one machine."""

import os


def database_url(instance_path: str) -> str:
    """Return DATABASE_URL (postgres:// accepted) or an SQLite file in the instance folder."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return "sqlite:///" + os.path.join(instance_path, "withus.sqlite")
    # Hosting platforms still hand out the scheme SQLAlchemy dropped.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment(instance_path: str) -> dict:
    """Build the settings for create_app from the environment."""
    production = os.environ.get("WITHUS_ENV", "production") == "production"
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": database_url(instance_path),
        # Cookies travel only over https in production; the local run serves plain http.
        "SESSION_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE", production),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        # Only for test servers driven by one browser from one address; never off in production.
        "RATELIMIT_ENABLED": _flag("RATELIMIT_ENABLED", True),
        "PREFERRED_URL_SCHEME": "https" if production else "http",
    }


DEFAULTS = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "RATELIMIT_HEADERS_ENABLED": True,
    "WTF_CSRF_TIME_LIMIT": None,  # a coordinator may leave a form open all afternoon
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "SYNC_MAX_RECORDS": 500,
    "SYNC_MAX_BYTES": 1024 * 1024,
    "SYNC_SCHEMA": 1,
    "SYNC_TOMBSTONE_HORIZON_DAYS": 180,
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
