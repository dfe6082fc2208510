"""Fixtures shared by every test: database URLs per backend, the app, clients."""

import os
import shutil
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa

from tests.backends import BACKENDS, create_pg_database, drop_pg_database


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    from server import create_app
    from server.extensions import db

    os.environ["WITHUS_INSTANCE_PATH"] = str(instance)
    try:
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"})
        with app.app_context():
            upgrade()
            db.engine.dispose()
    finally:
        del os.environ["WITHUS_INSTANCE_PATH"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "withus.sqlite"
    _migrate(f"sqlite:///{path}", path.parent / "instance")
    return path


@pytest.fixture(scope="session")
def pg_session_url(tmp_path_factory):
    """One PostgreSQL database per run, migrated once; tests empty it instead of recreating it."""
    url = create_pg_database()
    try:
        _migrate(url, tmp_path_factory.mktemp("pg-instance"))
        yield url
    finally:
        drop_pg_database(url)


def _empty_pg_database(url: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            # A test that crashed mid-way (or a killed server) may still hold locks.
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            tables = (
                conn.execute(
                    sa.text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                    )
                )
                .scalars()
                .all()
            )
            if tables:
                names = ", ".join(f'"{t}"' for t in tables)
                conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            # Not owned by a column, so RESTART IDENTITY leaves it: the parallel feed's numbers.
            conn.execute(sa.text("ALTER SEQUENCE IF EXISTS sync_change_numbers RESTART"))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path, sqlite_template):
    """A URL to a migrated, empty database: once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "withus.sqlite"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_session_url")
    _empty_pg_database(url)
    return url


@pytest.fixture
def app(request, db_url, tmp_path, monkeypatch):
    """The app on a freshly migrated database (SQLite and PostgreSQL).

    ``@pytest.mark.app_config(NAME=value)`` overrides settings, e.g. to switch rate limits on.
    """
    from flask_migrate import upgrade

    from server import create_app
    from server.extensions import db

    monkeypatch.setenv("WITHUS_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": db_url,
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "PUSH_ALLOW_TEST_SERVICE": True,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            **_marker_config(request),
        }
    )
    with app.app_context():
        upgrade()  # already at head: checks the migration chain, costs little
        yield app
        db.session.remove()
        db.engine.dispose()


def _marker_config(request) -> dict:
    marker = request.node.get_closest_marker("app_config")
    return dict(marker.kwargs) if marker else {}


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    """Create a staff account: make_user(role="coordinator") -> User."""
    from server.auth.models import User
    from server.extensions import db

    counter = iter(range(1, 10_000))

    def make(role="coordinator", email=None, password="correct horse battery", name=None):
        n = next(counter)
        user = User(email=email or f"{role}{n}@example.org", name=name or f"{role.title()} {n}", role=role)
        user.set_password(password)
        if role == "admin":  # admins must use two-step sign-in; sign_in() types their code
            user.totp_secret = pyotp.random_base32()
        db.session.add(user)
        db.session.commit()
        return user

    return make


def type_two_step_code(client, user, response, **request_options):
    """After a correct password, type the authenticator code when the account asks for one."""
    from server.extensions import db

    if not response.headers.get("Location", "").endswith("/staff/sign-in/code"):
        return response
    user.totp_last_step = None  # each code works once; tests sign the same admin in often
    db.session.commit()
    data = {"code": pyotp.TOTP(user.totp_secret).now(), **request_options.pop("data", {})}
    response = client.post("/staff/sign-in/code", data=data, **request_options)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return response


@pytest.fixture
def sign_in(client):
    """Sign a staff user in on the test client."""

    def do(user, password="correct horse battery"):
        response = client.post("/staff/sign-in", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        type_two_step_code(client, user, response)
        return client

    return do


class Mailbox:
    """What a real SMTP server on loopback (aiosmtpd) received, as parsed messages."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's hook name)
        import email
        from email import policy

        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def wait_for(self, to: str, count: int = 1, timeout: float = 10.0):
        """The messages sent to ``to``, once at least ``count`` arrived (polled against a deadline)."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.messages if to in m["To"]]
            if len(found) >= count or time.monotonic() > deadline:
                assert len(found) >= count, f"{len(found)} of {count} messages to {to} arrived"
                return found
            time.sleep(0.05)

    @staticmethod
    def body(message) -> str:
        return message.get_body(("plain",)).get_content()

    def link(self, to: str, count: int = 1) -> str:
        """The set-password link in the latest message to ``to``, as a path with its query."""
        import re

        text = self.body(self.wait_for(to, count)[-1])
        url = re.search(r"https?://\S+/staff/set-password\?token=\S+", text).group(0)
        return "/" + url.split("://", 1)[1].split("/", 1)[1]  # the path and query, for the test client


@pytest.fixture
def mailbox(app):
    """Point the app's e-mail at a real SMTP server on loopback and return what it receives."""
    import socket

    from aiosmtpd.controller import Controller

    from server.extensions import mail

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_BACKEND="smtp", MAIL_SUPPRESS_SEND=False)
    mail.init_app(app)  # Flask-Mail reads its settings when bound
    try:
        yield box
    finally:
        controller.stop()
