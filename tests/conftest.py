"""Fixtures shared by every test: database URLs per backend, the app, clients."""

import pytest

from tests.backends import BACKENDS, create_pg_database, drop_pg_database


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A URL to an empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'withus.sqlite'}"
        return
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture
def app(db_url, tmp_path, monkeypatch):
    """The app on a freshly migrated database (SQLite and PostgreSQL)."""
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
        }
    )
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


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
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def sign_in(client):
    """Sign a staff user in on the test client."""

    def do(user, password="correct horse battery"):
        response = client.post("/staff/sign-in", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return do
