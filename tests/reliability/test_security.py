"""Security: headers and CSP, cookie flags, CSRF on every staff form, rate limits, hashed tokens."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid

import pytest
import sqlalchemy as sa
from werkzeug.routing import IntegerConverter

from tests.conftest import type_two_step_code

CSP_REQUIRED = {
    "default-src": "'self'",
    "script-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def csp_directives(header: str) -> dict[str, str]:
    out = {}
    for part in header.split(";"):
        words = part.strip().split()
        if words:
            out[words[0]] = " ".join(words[1:])
    return out


def assert_secure_headers(response, where: str) -> None:
    for name, value in BASE_HEADERS.items():
        assert response.headers.get(name) == value, (where, name, response.headers.get(name))
    csp = response.headers.get("Content-Security-Policy")
    assert csp, (where, "no CSP")
    directives = csp_directives(csp)
    for name, value in CSP_REQUIRED.items():
        # Besides 'self', a page may allow one exact inline script or style by its hash
        # (the app shell's import map and stylesheet); assert_csp_clean checks each matches.
        words = directives.get(name, "").split()
        assert words[:1] == [value] and all(HASH_SOURCE.fullmatch(w) for w in words[1:]), (
            where,
            name,
            directives.get(name),
        )
    for name, value in directives.items():
        assert "'unsafe-inline'" not in value and "'unsafe-eval'" not in value, (where, name)
        assert "*" not in value.split(), (where, name)


HASH_SOURCE = re.compile(r"'sha256-[A-Za-z0-9+/]+=*'")
INLINE_BLOCK = re.compile(r"<(script|style)\b(?![^>]*\bsrc=)[^>]*>(.*?)</\1>", re.I | re.S)
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", re.I), "inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"\sstyle\s*=", re.I), "inline style attribute"),
    (re.compile(r"<style\b", re.I), "inline <style>"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def assert_csp_clean(html: str, where: str, csp: str = "") -> None:
    """Nothing the CSP (no 'unsafe-inline') would block, so the page works as served: an
    inline script or style only when the policy names its exact content's hash."""
    directives = csp_directives(csp)
    for block in INLINE_BLOCK.finditer(html):
        kind, body = block.group(1).lower(), block.group(2)
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        if f"'sha256-{digest}'" in directives.get(f"{kind}-src", "").split():
            html = html.replace(block.group(0), "")
    for pattern, what in INLINE:
        match = pattern.search(html)
        assert match is None, (where, what, html[max(0, match.start() - 80) : match.end() + 80])


def fill(rule, project_id: str) -> str:
    values = {}
    for arg in rule.arguments:
        converter = rule._converters[arg]
        if arg == "project_id":
            values[arg] = project_id
        elif arg == "stage":
            values[arg] = "design"
        elif arg == "kind":
            values[arg] = "feedback"
        elif isinstance(converter, IntegerConverter):  # server/converters.py bounds it
            values[arg] = 1
        elif arg == "filename":
            values[arg] = "app.js"
        else:
            values[arg] = str(uuid.uuid4())
    path = rule.rule
    for arg, value in values.items():
        path = re.sub(r"<(?:[a-z]+:)?" + arg + ">", str(value), path)
    return path


def page_rules(app, method: str):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if method in rule.methods and not rule.rule.startswith(("/api/", "/static")):
            yield rule


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "no csrf_token in the form"
    return match.group(1)


@pytest.fixture
def coordinator_project(app, make_user):
    from server.domain import projects
    from server.extensions import db

    coordinator = make_user("coordinator")
    project_id = projects.create_project("Play schemes", "Summer play schemes.", 3, coordinator)
    db.session.commit()
    return coordinator, project_id


# ---------------------------------------------------------------- headers and CSP


def test_headers_on_public_pages_app_shell_and_api(client):
    for path in (
        "/",
        "/staff/sign-in",
        "/app/",
        "/app/sw.js",
        "/app/manifest.webmanifest",
        "/healthz",
        "/api/me",
        "/api/push/key",
        "/no-such-page",
    ):
        response = client.get(path)
        assert response.status_code < 500, path
        assert_secure_headers(response, path)
    for path in ("/", "/staff/sign-in", "/app/"):
        response = client.get(path)
        assert_csp_clean(response.get_data(as_text=True), path, response.headers["Content-Security-Policy"])
    # The service worker is always revalidated, so a fix reaches every phone.
    assert "no-cache" in client.get("/app/sw.js").headers.get("Cache-Control", "")


def test_headers_and_csp_on_every_staff_page(app, client, sign_in, coordinator_project):
    coordinator, project_id = coordinator_project
    sign_in(coordinator)
    seen = 0
    for rule in page_rules(app, "GET"):
        path = fill(rule, project_id)
        response = client.get(path)
        assert response.status_code < 500, (path, response.status_code)
        assert_secure_headers(response, path)
        if response.mimetype == "text/html":
            assert_csp_clean(response.get_data(as_text=True), path, response.headers["Content-Security-Policy"])
            seen += 1
    assert seen >= 10


def test_production_cookies_are_secure_and_hsts(db_url, tmp_path, monkeypatch, make_user):
    from server import create_app

    monkeypatch.setenv("WITHUS_ENV", "production")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    monkeypatch.setenv("WITHUS_INSTANCE_PATH", str(tmp_path / "prod-instance"))
    from server.push.vapid import generate_pair

    pair = generate_pair()  # production refuses to start without its push keys
    prod = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": db_url,
            "SECRET_KEY": "prod-secret",
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
            "WEB_CONCURRENCY": 1,
            "VAPID_PRIVATE_KEY": pair["private_key"],
            "VAPID_PUBLIC_KEY": pair["public_key"],
            "VAPID_SUBJECT": "mailto:team@example.org",
        }
    )
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    assert prod.config["REMEMBER_COOKIE_SECURE"] is True
    assert prod.config["SESSION_COOKIE_HTTPONLY"] is True
    assert prod.config["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    from server.extensions import db

    email = make_user("coordinator").email
    db.session.rollback()  # end the fixture app's transaction (SQLite: its write lock)
    with prod.app_context():
        client = prod.test_client()
        response = client.post(
            "/staff/sign-in",
            base_url="https://withus.example",
            data={"email": email, "password": "correct horse battery"},
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        cookies = response.headers.getlist("Set-Cookie")
        session = [c for c in cookies if c.startswith(prod.config["SESSION_COOKIE_NAME"] + "=")]
        assert session, cookies
        flags = {f.strip().split("=")[0].lower() for f in session[0].split(";")[1:]}
        assert {"secure", "httponly", "samesite"} <= flags, session[0]
        assert "samesite=lax" in session[0].lower() or "samesite=strict" in session[0].lower()
        assert response.headers.get("Strict-Transport-Security", "").startswith("max-age=")
        db.session.remove()
        db.engine.dispose()


# ---------------------------------------------------------------- CSRF


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_every_staff_form_needs_the_csrf_token(app, make_user, coordinator_project):
    coordinator, project_id = coordinator_project
    admin = make_user("admin")
    # Over https, as in production (the session cookie is Secure), from the app's own pages.
    client = app.test_client()
    web = {"base_url": "https://withus.example", "headers": {"Referer": "https://withus.example/staff/"}}
    sign_in = {"email": admin.email, "password": "correct horse battery"}
    # Signing in itself is a form: without the token it is refused, with it it works.
    assert client.post("/staff/sign-in", data=sign_in, **web).status_code == 400
    page = client.get("/staff/sign-in", **web).get_data(as_text=True)
    response = client.post("/staff/sign-in", data={**sign_in, "csrf_token": csrf_token_from(page)}, **web)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    code_page = client.get("/staff/sign-in/code", **web).get_data(as_text=True)
    type_two_step_code(client, admin, response, data={"csrf_token": csrf_token_from(code_page)}, **web)
    posts = list(page_rules(app, "POST"))
    assert len(posts) >= 10, [r.rule for r in posts]
    for rule in posts:
        path = fill(rule, project_id)
        response = client.post(path, data={"title": "x", "stage": "design"}, **web)
        assert response.status_code == 400, (path, response.status_code)
    # Still signed in: the refusals changed nothing, and a form with its token is accepted.
    new_page = client.get("/staff/projects/new", **web)
    assert new_page.status_code == 200
    response = client.post(
        "/staff/projects/new",
        data={
            "csrf_token": csrf_token_from(new_page.get_data(as_text=True)),
            "title": "Youth forum",
            "summary": "",
            "target_rung": "3",
        },
        **web,
    )
    assert response.status_code != 400, response.get_data(as_text=True)[:500]


# ---------------------------------------------------------------- rate limits


def _assert_limited(response, where):
    assert response.status_code == 429, (where, response.status_code)
    assert response.headers.get("Retry-After", "").isdigit(), (where, dict(response.headers))


@pytest.mark.app_config(RATELIMIT_ENABLED=True)
def test_sign_in_is_rate_limited(client, make_user):
    user = make_user("worker")
    for n in range(10):  # other accounts each time: this is the limit per address
        response = client.post("/staff/sign-in", data={"email": f"guess{n}@example.org", "password": "wrong"})
        assert response.status_code == 401
    _assert_limited(
        client.post("/staff/sign-in", data={"email": user.email, "password": "correct horse battery"}), "sign-in"
    )


@pytest.mark.app_config(RATELIMIT_ENABLED=True)
@pytest.mark.parametrize(
    "path,body",
    [
        ("/api/join", {"code": "NOT-A-CODE"}),
        ("/api/claims/redeem", {"code": "NOT-A-CODE"}),
        ("/api/devices", {"email": "nobody@example.org", "password": "wrong"}),
    ],
)
def test_api_guessing_is_rate_limited(client, path, body):
    for n in range(10):
        # A new code or account each time: this is the limit per address (tests/test_rate_limits.py
        # has the limits per code and per account).
        guess = {k: f"{n}{v}" for k, v in body.items() if k != "password"}
        response = client.post(path, json={**body, **guess})
        assert response.status_code in (401, 404), (path, response.status_code)
    response = client.post(path, json=body)
    _assert_limited(response, path)
    error = response.get_json()["error"]
    assert error["code"] == "rate_limited" and set(error) == {"code", "message", "field"}


# ---------------------------------------------------------------- secrets at rest


def _all_stored_text(db) -> str:
    db.session.rollback()
    chunks = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)).all():
            chunks.extend(str(value) for value in row if value is not None)
    db.session.rollback()
    return "\n".join(chunks)


def test_tokens_and_codes_are_stored_only_as_hashes(app, client, coordinator_project):
    from server.auth.devices import hash_token
    from server.domain import codes
    from server.extensions import db

    coordinator, project_id = coordinator_project
    join_code = codes.new_join_code(project_id)
    db.session.commit()

    secrets = []
    joined = client.post("/api/join", json={"code": join_code})
    assert joined.status_code == 201, joined.get_json()
    secrets.append(joined.get_json()["token"])
    staff = client.post(
        "/api/devices", json={"email": coordinator.email, "password": "correct horse battery", "label": "t"}
    )
    assert staff.status_code == 201, staff.get_json()
    staff_token = staff.get_json()["token"]
    secrets.append(staff_token)

    # A coordinator's device records a participant, then hands it over with a claim code.
    from tests.api.conftest import Phone

    phone = Phone(client, staff_token)
    participant_id = str(uuid.uuid4())
    pushed = phone.push(
        [phone.record("participant", participant_id, project_id=project_id, role="young_person", age_band="13_to_17")]
    )
    assert pushed.get_json()["results"][0]["status"] == "applied", pushed.get_json()
    claim = client.post(
        "/api/claims", json={"participant_id": participant_id}, headers={"Authorization": f"Bearer {staff_token}"}
    )
    assert claim.status_code == 201, claim.get_json()
    claim_code = claim.get_json()["code"]
    stored = _all_stored_text(db)
    for secret in secrets:
        assert secret not in stored
        assert secret.removeprefix("wu_") not in stored
        assert hash_token(secret) in stored  # what is kept instead
    compact = re.sub(r"[^A-Za-z0-9]", "", claim_code)
    assert claim_code not in stored and compact not in stored
    assert "correct horse battery" not in stored
    redeemed = client.post("/api/claims/redeem", json={"code": claim_code})
    assert redeemed.status_code == 201, redeemed.get_json()
    assert redeemed.get_json()["token"] not in _all_stored_text(db)
