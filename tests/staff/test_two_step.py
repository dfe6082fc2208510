"""Two-step sign-in with a time-based code, on a frozen clock; recovery codes work once."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pyotp
import pytest
import time_machine

# A fixed instant and a fixed secret, so the expected codes are those of RFC 6238's algorithm
# computed by pyotp independently of the server's own step arithmetic.
FROZEN = datetime(2026, 11, 30, 9, 0, 5, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _password(client, user):
    return client.post("/staff/sign-in", data={"email": user.email, "password": "correct horse battery"})


def _code(at: datetime) -> str:
    return pyotp.TOTP(SECRET).at(at)


def _give_secret(user):
    from server.extensions import db

    user.totp_secret, user.totp_last_step = SECRET, None
    db.session.commit()


def test_an_admin_needs_the_code_and_each_code_works_once(app, two_projects):
    _give_secret(two_projects["admin"])
    with time_machine.travel(FROZEN, tick=False):
        client = app.test_client()
        response = _password(client, two_projects["admin"])
        assert response.headers["Location"].endswith("/staff/sign-in/code")
        assert client.get("/staff/admin/accounts").status_code == 302  # not signed in yet
        wrong = client.post("/staff/sign-in/code", data={"code": "000000" if _code(FROZEN) != "000000" else "111111"})
        assert wrong.status_code == 400 and 'id="code-error"' in wrong.get_data(as_text=True)
        assert client.post("/staff/sign-in/code", data={"code": _code(FROZEN)}).status_code == 302
        assert client.get("/staff/admin/accounts").status_code == 200

        # The same code again, on another browser within the same 30 seconds: refused.
        other = app.test_client()
        _password(other, two_projects["admin"])
        assert other.post("/staff/sign-in/code", data={"code": _code(FROZEN)}).status_code == 400


def test_codes_from_30_seconds_either_side_work_but_not_older(app, two_projects):
    _give_secret(two_projects["admin"])
    with time_machine.travel(FROZEN, tick=False):
        stale = pyotp.TOTP(SECRET).at(FROZEN.timestamp() - 60)
        client = app.test_client()
        _password(client, two_projects["admin"])
        assert client.post("/staff/sign-in/code", data={"code": stale}).status_code == 400
        previous = pyotp.TOTP(SECRET).at(FROZEN.timestamp() - 30)
        assert client.post("/staff/sign-in/code", data={"code": previous}).status_code == 302


def test_an_admin_without_an_app_must_set_one_up_then_gets_recovery_codes(app, two_projects):
    from server.extensions import db

    admin = two_projects["admin"]
    admin.totp_secret = None
    db.session.commit()
    with time_machine.travel(FROZEN, tick=False):
        client = app.test_client()
        assert _password(client, admin).headers["Location"].endswith("/staff/sign-in/code/setup")
        page = client.get("/staff/sign-in/code/setup").get_data(as_text=True)
        assert "<svg" in page
        secret = re.search(r'<code class="join-code">([A-Z2-7]+)</code>', page).group(1)
        done = client.post("/staff/sign-in/code/setup", data={"code": pyotp.TOTP(secret).at(FROZEN)})
        assert done.status_code == 200
        codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", done.get_data(as_text=True))
        assert len(codes) == 10 and len(set(codes)) == 10
        assert client.get("/staff/admin/accounts").status_code == 200

    db.session.expire_all()
    assert admin.totp_secret == secret
    # A recovery code signs in once; the second time it is spent.
    first = app.test_client()
    _password(first, admin)
    assert first.post("/staff/sign-in/code", data={"code": codes[0].upper()}).status_code == 302
    second = app.test_client()
    _password(second, admin)
    assert second.post("/staff/sign-in/code", data={"code": codes[0]}).status_code == 400


def test_two_step_is_a_choice_for_a_coordinator(app, web, two_projects):
    coordinator = two_projects["coordinator"]
    plain = app.test_client()
    assert _password(plain, coordinator).headers["Location"].endswith("/staff/")
    with time_machine.travel(FROZEN, tick=False):
        page = web.get("/staff/account/two-step", coordinator).get_data(as_text=True)
        secret = re.search(r'<code class="join-code">([A-Z2-7]+)</code>', page).group(1)
        done = web.post("/staff/account/two-step", coordinator, data={"code": pyotp.TOTP(secret).at(FROZEN)})
        assert done.status_code == 200 and "Two-step sign-in is on" in done.get_data(as_text=True)
        client = app.test_client()
        assert _password(client, coordinator).headers["Location"].endswith("/staff/sign-in/code")
        # (Still on the frozen clock: the session cookie was signed then.)
        off = web.post("/staff/account/two-step/off", coordinator)
        assert off.status_code == 302 and off.headers["Location"].endswith("/staff/account")
        assert _password(app.test_client(), coordinator).headers["Location"].endswith("/staff/")


def test_an_admin_cannot_turn_two_step_off(app, web, two_projects):
    assert web.post("/staff/account/two-step/off", two_projects["admin"]).status_code == 403


def test_the_code_page_without_a_password_first_sends_you_to_sign_in(app):
    response = app.test_client().get("/staff/sign-in/code")
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/sign-in")


def test_an_app_sign_in_needs_the_code_too(app, two_projects, client):
    _give_secret(two_projects["admin"])
    body = {"email": two_projects["admin"].email, "password": "correct horse battery"}
    with time_machine.travel(FROZEN, tick=False):
        missing = client.post("/api/devices", json=body)
        assert missing.status_code == 401 and missing.get_json()["error"]["code"] == "two_step_code_required"
        wrong = client.post("/api/devices", json={**body, "code": "12345x"})
        assert wrong.status_code == 401
        ok = client.post("/api/devices", json={**body, "code": _code(FROZEN)})
        assert ok.status_code == 201 and ok.get_json()["token"]


def test_an_admin_without_an_app_is_told_to_set_it_up_before_using_the_app(app, two_projects, client):
    from server.extensions import db

    two_projects["admin"].totp_secret = None
    db.session.commit()
    email = two_projects["admin"].email
    response = client.post("/api/devices", json={"email": email, "password": "correct horse battery"})
    assert response.status_code == 401
    assert "Set up two-step sign-in on the staff pages first" in response.get_json()["error"]["message"]


def test_reset_two_step_from_the_command_line(app, two_projects):
    from server.extensions import db

    _give_secret(two_projects["admin"])
    result = app.test_cli_runner().invoke(args=["users", "reset-two-step", "--email", two_projects["admin"].email])
    assert result.exit_code == 0 and "Two-step sign-in cleared" in result.output
    db.session.expire_all()
    assert two_projects["admin"].totp_secret is None
    # Still an admin: the next sign-in asks them to set up a new app.
    response = _password(app.test_client(), two_projects["admin"])
    assert response.headers["Location"].endswith("/staff/sign-in/code/setup")
    unknown = app.test_cli_runner().invoke(args=["users", "reset-two-step", "--email", "nobody@example.org"])
    assert unknown.exit_code != 0 and "There is no account" in unknown.output


@pytest.mark.app_config(RATELIMIT_ENABLED=True)
def test_guessing_codes_is_limited_per_account(app, two_projects):
    _give_secret(two_projects["admin"])
    refused = []
    # Each guess from a different address, as a botnet would: the account's own limit still holds.
    for n in range(12):
        client = app.test_client()
        address = {"REMOTE_ADDR": f"10.0.0.{n + 1}"}
        client.post(
            "/staff/sign-in",
            data={"email": two_projects["admin"].email, "password": "correct horse battery"},
            environ_base=address,
        )
        response = client.post("/staff/sign-in/code", data={"code": "00000x"}, environ_base=address)
        refused.append(response.status_code)
    assert refused == [400] * 10 + [429, 429]
