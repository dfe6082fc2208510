"""Rate limits behind a load balancer: the client's own address (ProxyFix), per account for
sign-in, per code for join and claim codes, and one count shared by every web process (Redis)."""

from __future__ import annotations

import uuid

import pytest
import redis

LIMITS_ON = pytest.mark.app_config(RATELIMIT_ENABLED=True, TRUSTED_PROXIES=1)
ATTACKER, COORDINATOR_HOME = "203.0.113.5", "198.51.100.7"
PASSWORD = "correct horse battery"


def _sign_in(client, email, password, address):
    return client.post(
        "/staff/sign-in",
        data={"email": email, "password": password},
        headers={"X-Forwarded-For": address},
    )


@LIMITS_ON
def test_one_address_that_guesses_is_limited_alone(app, make_user):
    coordinator = make_user("coordinator")
    attacker = app.test_client()
    statuses = [_sign_in(attacker, f"guess{n}@example.org", "wrong", ATTACKER).status_code for n in range(12)]
    # 10 a minute per address; different accounts, so no account limit is reached.
    assert statuses == [401] * 10 + [429] * 2

    response = _sign_in(app.test_client(), coordinator.email, PASSWORD, COORDINATOR_HOME)

    assert response.status_code == 302


@pytest.mark.app_config(RATELIMIT_ENABLED=True, TRUSTED_PROXIES=0)
def test_without_trusted_proxies_a_forged_header_changes_nothing(app, make_user):
    attacker = app.test_client()
    statuses = [_sign_in(attacker, f"guess{n}@example.org", "wrong", f"192.0.2.{n}").status_code for n in range(11)]
    assert statuses == [401] * 10 + [429]


@LIMITS_ON
def test_guesses_at_one_account_from_many_addresses_are_limited(app, make_user):
    coordinator = make_user("coordinator")
    other = make_user("coordinator")
    statuses = [_sign_in(app.test_client(), coordinator.email, "wrong", f"192.0.2.{n}").status_code for n in range(5)]
    assert statuses == [401] * 5

    # The sixth try at that account waits, even from a new address with the right password...
    assert _sign_in(app.test_client(), coordinator.email, PASSWORD, "192.0.2.50").status_code == 429
    # ...while other accounts sign in as usual.
    assert _sign_in(app.test_client(), other.email, PASSWORD, "192.0.2.51").status_code == 302


@LIMITS_ON
def test_successful_sign_ins_do_not_count_against_the_account(app, make_user):
    coordinator = make_user("coordinator")
    statuses = [_sign_in(app.test_client(), coordinator.email, PASSWORD, f"192.0.2.{n}").status_code for n in range(7)]
    assert statuses == [302] * 7


@LIMITS_ON
def test_one_join_code_from_many_addresses_is_limited(app):
    statuses = [
        app.test_client()
        .post(
            "/api/join",
            json={"code": "ABCD-EFGH" if n % 2 else "abcd efgh"},
            headers={"X-Forwarded-For": f"192.0.2.{n}"},
        )
        .status_code
        for n in range(31)
    ]
    # 30 a minute per code, however it is typed; each address stays under its own 10.
    assert statuses == [404] * 30 + [429]


@LIMITS_ON
def test_one_claim_code_from_many_addresses_is_limited(app):
    statuses = [
        app.test_client()
        .post("/api/claims/redeem", json={"code": "WXYZ-2345"}, headers={"X-Forwarded-For": f"192.0.2.{n}"})
        .status_code
        for n in range(6)
    ]
    assert statuses == [404] * 5 + [429]


# ---------------------------------------------------------------- two processes, one count


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own in the real Redis, removed afterwards."""
    prefix = f"withus-test-{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        client.ping()
    except redis.ConnectionError as err:
        raise RuntimeError("Redis is not reachable at 127.0.0.1:6379: these tests need it.") from err
    yield prefix, client
    for key in client.scan_iter(match=f"*{prefix}*"):
        client.delete(key)
    client.close()


def test_two_web_processes_share_one_count_in_redis(tmp_path, redis_prefix):
    from tests.reliability.harness import AppServer, request

    prefix, store = redis_prefix
    server = AppServer(
        tmp_path,
        f"sqlite:///{tmp_path / 'withus.sqlite'}",
        workers=2,
        threads=1,
        extra_env={"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0", "RATELIMIT_KEY_PREFIX": prefix},
    )
    server.prepare()
    server.start()
    try:
        statuses = [request("POST", server.url + "/api/join", body={"code": "QQQQ-RRRR"})[0] for _ in range(20)]
    finally:
        server.stop()

    # 10 a minute from one address, however the two workers shared the requests.
    assert sorted(statuses) == [404] * 10 + [429] * 10
    keys = [key.decode() for key in store.scan_iter(match=f"*{prefix}*")]
    assert keys
    # The shared store holds hashes, never the code as typed.
    assert not any("QQQQ" in key for key in keys)


@LIMITS_ON
def test_device_sign_in_is_limited_per_account_too(app, make_user):
    coordinator = make_user("coordinator")
    statuses = [
        app.test_client()
        .post(
            "/api/devices",
            json={"email": coordinator.email, "password": "wrong"},
            headers={"X-Forwarded-For": f"192.0.2.{n}"},
        )
        .status_code
        for n in range(6)
    ]
    assert statuses == [401] * 5 + [429]
