"""The foundation: health, sign-in, errors, headers, migrations, CLI."""

import sqlalchemy as sa


def test_healthz_reports_database_ok(client, db_url):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["database"]) == ("ok", "ok")
    if db_url.startswith("postgresql"):
        # How far behind pulls may be (sync/feed.py): no transaction is open here.
        assert body["feed_lag_seconds"] == 0
    else:
        assert "feed_lag_seconds" not in body


def test_postgresql_sessions_bound_open_transactions_plan_once_and_never_jit(app, db_url):
    if not db_url.startswith("postgresql"):
        return  # SQLite has one writer and plans nothing ahead
    from server.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        shown = {
            name: conn.exec_driver_sql(f"SHOW {name}").scalar()
            for name in ("idle_in_transaction_session_timeout", "statement_timeout", "plan_cache_mode", "jit")
        }
    assert shown == {
        "idle_in_transaction_session_timeout": "1min",
        "statement_timeout": "5min",
        "plan_cache_mode": "force_generic_plan",
        "jit": "off",
    }


def test_a_connection_the_database_closed_is_replaced_before_a_request_uses_it(app, client, db_url):
    """PostgreSQL restarted, or ended idle sessions: the next request still answers."""
    if not db_url.startswith("postgresql"):
        return  # an SQLite file has no connection to lose
    from server.extensions import db

    assert client.get("/healthz").status_code == 200
    db.session.remove()  # as at the end of a request: its connection goes back to the pool
    with sa.create_engine(db_url, isolation_level="AUTOCOMMIT").connect() as admin:
        ended = admin.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    assert ended >= 1  # each waited for: its goodbye is in the pooled socket
    assert db.engine.pool.checkedin() >= 1  # the pool still holds the dead connection

    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["database"] == "ok"


def test_home_page_says_what_withus_is(client):
    page = client.get("/").get_data(as_text=True)
    assert "Done with people, not to people" in page
    assert 'href="/app/"' in page


def test_sign_in_and_out(client, make_user):
    user = make_user("coordinator")
    response = client.post("/staff/sign-in", data={"email": user.email.upper(), "password": "correct horse battery"})
    assert response.status_code == 302
    assert f"Sign out ({user.name})" in client.get("/").get_data(as_text=True)
    response = client.post("/staff/sign-out")
    assert response.status_code == 302
    assert "Staff sign in" in client.get("/").get_data(as_text=True)


def test_wrong_credentials_give_one_message_for_either_part(client, make_user):
    user = make_user("worker")
    wrong_password = client.post("/staff/sign-in", data={"email": user.email, "password": "nope"})
    unknown_email = client.post("/staff/sign-in", data={"email": "nobody@example.org", "password": "nope"})
    assert wrong_password.status_code == unknown_email.status_code == 401
    message = "That email and password do not match an account."
    assert message in wrong_password.get_data(as_text=True)
    assert message in unknown_email.get_data(as_text=True)


def test_sign_in_form_names_missing_fields(client):
    response = client.post("/staff/sign-in", data={"email": "", "password": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter your email address." in page and "Enter your password." in page


def test_deactivated_account_cannot_sign_in(client, make_user, app):
    from server.extensions import db

    user = make_user("worker")
    user.active = False
    db.session.commit()
    response = client.post("/staff/sign-in", data={"email": user.email, "password": "correct horse battery"})
    assert response.status_code == 401


def test_sign_in_needs_csrf_token_when_enabled(app, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user("worker")
    response = app.test_client().post("/staff/sign-in", data={"email": user.email, "password": "correct horse battery"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_api_errors_have_one_json_shape(client):
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    body = response.get_json()
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == "not_found"


def test_people_get_a_friendly_404_page(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "We cannot find that page" in response.get_data(as_text=True)


def test_security_headers_and_strict_csp(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_session_cookie_is_httponly_and_samesite(client, make_user):
    user = make_user("worker")
    response = client.post("/staff/sign-in", data={"email": user.email, "password": "correct horse battery"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_migrations_match_the_models(app):
    """`flask db upgrade` builds exactly the schema the models describe, on both backends."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from server.extensions import db

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []
    assert "alembic_version" in sa.inspect(db.engine).get_table_names()


def test_users_create_command(app):
    from server.auth.models import User
    from server.extensions import db

    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "New@Example.org",
            "--name",
            "New Person",
            "--role",
            "worker",
            "--password",
            "a long enough password",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.execute(db.select(User).where(User.email == "new@example.org")).scalar_one()
    assert user.role == "worker" and user.password_hash != "a long enough password"
    again = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "new@example.org",
            "--name",
            "X",
            "--role",
            "worker",
            "--password",
            "a long enough password",
        ]
    )
    assert again.exit_code != 0 and "already exists" in again.output


def test_database_url_accepts_postgres_scheme(monkeypatch, tmp_path):
    from server.config import database_url

    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    assert database_url(str(tmp_path)) == "postgresql+psycopg://u@h/db"
    monkeypatch.delenv("DATABASE_URL")
    assert database_url(str(tmp_path)).startswith("sqlite:///")


def test_deactivating_an_account_ends_its_live_session(client, make_user, sign_in):
    from server.extensions import db

    user = make_user("coordinator")
    sign_in(user)
    assert client.get("/staff/").status_code == 200
    user.active = False
    db.session.commit()
    response = client.get("/staff/")
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]
