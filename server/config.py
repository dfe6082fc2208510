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
