"""WithUs: co-production in public services, done with people, not to people."""

import os
import secrets
from pathlib import Path

from flask import Flask

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")


def _instance_secret(instance_path: str) -> str:
    """Read the instance's secret key, making one on first run so sessions survive restarts."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(test_config: dict | None = None) -> Flask:
    """Build the WithUs application."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("WITHUS_INSTANCE_PATH") or None,
        instance_relative_config=True,
    )
    from server import config

    app.config.from_mapping(config.DEFAULTS)
    app.config.from_mapping(config.from_environment(app.instance_path))
    app.config.from_mapping(config.accounts_from_environment())
    if test_config:
        app.config.from_mapping(test_config)
    # Before anything is made in the instance folder: production names its own.
    config.check_production(app.config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = config.sqlite_url(app.instance_path)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)
    _trust_proxies(app)

    from server import converters, database, errors, security
    from server.extensions import csrf, db, limiter, login_manager, mail, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    mail.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Please sign in to see that page."
    database.init_app(app)
    security.init_app(app)
    errors.register_error_handlers(app)

    converters.init_app(app)
    _register_blueprints(app)
    from server.api import sync_limit

    sync_limit.init_app(app)

    from server import cli

    cli.init_app(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Read the client's address and scheme from the load balancer's X-Forwarded-* headers."""
    hops = app.config.get("TRUSTED_PROXIES", 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Only the last `hops` entries are trusted: a client cannot forge its way past the limits.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _register_blueprints(app: Flask) -> None:
    from server import admin, api, auth, health, home, push, pwa, staff
    from server.public import views as public

    for blueprint in (home.bp, health.bp, auth.bp, staff.bp, admin.bp, pwa.bp, public.bp):
        app.register_blueprint(blueprint)
    api.init_app(app)  # everything under /api
    push.init_app(app)  # its CLI commands (push-worker, push-keys)
