"""SSRF guard: only known push services, only public addresses, no redirects."""

from __future__ import annotations

import re
import uuid

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from server.extensions import db
from server.push.guard import (
    EndpointRefused,
    NoRedirectSession,
    address_allowed,
    check_endpoint_for_send,
    check_endpoint_url,
    resolve_and_check,
)
from server.push.models import FAILED, Notification, PushSubscription
from server.push.outbox import enqueue
from server.push.worker import Worker
from tests.push.loopback import QuietHandler, serving

ALLOWED = [
    "https://fcm.googleapis.com/fcm/send/abc:def",
    "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
    "https://web.push.apple.com/QGx",
    "https://wns2-par02p.notify.windows.com/w/?token=AwY",
    "https://FCM.googleapis.com./fcm/send/x",  # case and a trailing dot
    "https://fcm.googleapis.com:443/fcm/send/x",
]

REFUSED = [
    ("http://fcm.googleapis.com/fcm/send/x", "endpoint_not_https"),
    ("https://fcm.googleapis.com:8443/x", "endpoint_port"),
    ("https://fcm.googleapis.com.evil.example/x", "endpoint_unknown_service"),
    ("https://evil.example/fcm.googleapis.com/x", "endpoint_unknown_service"),
    ("https://evil.example/?u=https://fcm.googleapis.com", "endpoint_unknown_service"),
    ("https://evilpush.apple.com/x", "endpoint_unknown_service"),
    ("https://push.apple.com/x", "endpoint_unknown_service"),  # sub-domains only
    ("https://fcm.googleapis.com@evil.example/x", "endpoint_invalid"),
    ("https://user:pw@fcm.googleapis.com/x", "endpoint_invalid"),
    ("https://10.0.0.5/push", "endpoint_unknown_service"),
    ("https://192.168.1.1/push", "endpoint_unknown_service"),
    ("https://169.254.169.254/latest/meta-data", "endpoint_unknown_service"),
    ("https://[::1]/push", "endpoint_unknown_service"),
    ("http://localhost:8090/notify/x", "endpoint_not_https"),  # test service: tests only
    ("ftp://fcm.googleapis.com/x", "endpoint_not_https"),
    ("https://fcm.googleapis.com/\nx", "endpoint_invalid"),
    # urlsplit reads the host as "evil.example\.push.apple.com"; urllib3 connects to evil.example.
    ("https://evil.example\\.push.apple.com/x", "endpoint_invalid"),
    ("https://evil.example\\@x.push.apple.com/x", "endpoint_invalid"),
    ("https://fcm.googleapis.com/a b", "endpoint_invalid"),
    ("https://fcm.googleapis.com/x%zz", "endpoint_invalid"),
    ("https://fcm.googleapis.com/x^y", "endpoint_invalid"),
    ('https://fcm.googleapis.com/"x"', "endpoint_invalid"),
    ("https://fcm.googleapis.com/{x}", "endpoint_invalid"),
    ("https://fcm.googleapis.com/caf\u00e9", "endpoint_invalid"),
    ("fcm.googleapis.com/x", "endpoint_invalid"),  # no host without a scheme
    ("", "endpoint_invalid"),
    ("https://fcm.googleapis.com/" + "a" * 1100, "endpoint_invalid"),
]


@pytest.mark.parametrize("url", ALLOWED)
def test_known_push_services_are_allowed(url):
    check_endpoint_url(url)


@pytest.mark.parametrize(("url", "code"), REFUSED)
def test_other_endpoints_are_refused(url, code):
    with pytest.raises(EndpointRefused) as caught:
        check_endpoint_url(url)
    assert caught.value.code == code


def test_test_service_only_when_allowed():
    check_endpoint_url("http://localhost:8090/notify/x", allow_test_service=True)
    check_endpoint_url("http://127.0.0.1:8090/notify/x", allow_test_service=True)
    with pytest.raises(EndpointRefused):
        check_endpoint_url("http://127.0.0.2:8090/notify/x", allow_test_service=True)


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "127.0.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
        "not an ip",
    ],
)
def test_non_public_addresses_are_refused(address):
    assert not address_allowed(address, "fcm.googleapis.com")


def test_public_addresses_are_allowed():
    assert address_allowed("142.250.180.10", "fcm.googleapis.com")
    assert address_allowed("2a00:1450:4009:81f::200a", "fcm.googleapis.com")
    # Loopback only for the test service's own names, and only when allowed.
    assert address_allowed("127.0.0.1", "localhost", allow_test_service=True)
    assert not address_allowed("127.0.0.1", "fcm.googleapis.com", allow_test_service=True)
    assert not address_allowed("10.0.0.1", "localhost", allow_test_service=True)


def test_resolution_to_a_private_address_is_refused():
    # The real resolver: "localhost" is loopback.
    with pytest.raises(EndpointRefused) as caught:
        resolve_and_check("localhost", 443)
    assert caught.value.code == "endpoint_private_address"
    assert resolve_and_check("localhost", 443, allow_test_service=True)


def test_unresolvable_host_is_refused():
    with pytest.raises(EndpointRefused) as caught:
        resolve_and_check("no-such-host.invalid", 443)
    assert caught.value.code == "endpoint_unresolvable"


def test_connected_peer_is_checked(push_service):
    """Even if a name passed the checks and then resolved to a private address
    (DNS rebinding), the connection itself is refused."""
    with pytest.raises(EndpointRefused) as caught:
        NoRedirectSession(allow_test_service=False).post(push_service.base + "/status", timeout=5)
    assert caught.value.code == "endpoint_private_address"
    response = NoRedirectSession(allow_test_service=True).post(push_service.base + "/status", timeout=5)
    assert response.status_code == 200


class _Redirector(QuietHandler):
    hits: list = []

    def do_POST(self):  # noqa: N802
        self.hits.append(self.path)
        self.read_body()
        if self.path.startswith("/notify"):
            self.reply(307, {"Location": "/elsewhere"})
        else:
            self.reply(201)


@pytest.fixture
def redirector():
    _Redirector.hits = []
    with serving(_Redirector) as server:
        yield server


def test_redirects_are_not_followed(redirector):
    url = f"http://127.0.0.1:{redirector.server_address[1]}/notify/x"
    response = NoRedirectSession(allow_test_service=True).post(url, data=b"x", timeout=5)
    assert response.status_code == 307
    assert _Redirector.hits == ["/notify/x"]
    # Even a caller asking for redirects gets none.
    session = NoRedirectSession(allow_test_service=True)
    prepared = requests.Request("POST", url, data=b"x").prepare()
    assert session.send(prepared, allow_redirects=True, timeout=5).status_code == 307
    assert _Redirector.hits == ["/notify/x", "/notify/x"]


def _store_subscription(device, endpoint):
    keys = {"p256dh": "B" + "A" * 86, "auth": "A" * 22}
    db.session.add(PushSubscription(device_id=device.id, endpoint=endpoint, **keys))
    db.session.commit()


def test_worker_refuses_stored_endpoints_it_must_not_reach(push_app, make_participant, redirector):
    """Rows stored before a rule changed (or written around the API) are refused at send time,
    without a connection: a private address, an unknown host, and the test service once
    PUSH_ALLOW_TEST_SERVICE is off."""
    endpoints = [
        "https://10.0.0.5/push",
        "https://push.example.com/push",
        f"http://127.0.0.1:{redirector.server_address[1]}/ok",
    ]
    people = []
    for endpoint in endpoints:
        participant_id, _, device = make_participant()
        _store_subscription(device, endpoint)
        people.append(participant_id)
    push_app.config["PUSH_ALLOW_TEST_SERVICE"] = False
    # Quiet hours would only delay; take them out of this test.
    from server.push.models import QuietHours

    for participant_id in people:
        db.session.add(QuietHours(participant_id=participant_id, start="00:00", end="00:00"))
    enqueue(db.session, people, str(uuid.uuid4()), "status", "done")
    db.session.commit()

    worker = Worker(push_app)
    try:
        stats = worker.drain()
    finally:
        worker.close()
    assert stats.failed == 3 and stats.sent == 0
    errors = (
        db.session.execute(
            select(Notification.last_error).where(Notification.state == FAILED).order_by(Notification.id)
        )
        .scalars()
        .all()
    )
    assert errors == ["endpoint_unknown_service", "endpoint_unknown_service", "endpoint_not_https"]
    assert _Redirector.hits == []  # nothing was contacted


def test_send_time_check_uses_url_rules_then_addresses():
    with pytest.raises(EndpointRefused) as caught:
        check_endpoint_for_send("https://127.0.0.1/x")
    assert caught.value.code == "endpoint_unknown_service"
    with pytest.raises(EndpointRefused) as caught:
        check_endpoint_for_send("http://localhost:1/x", allow_test_service=False)
    assert caught.value.code == "endpoint_not_https"


_PIECES = [
    "fcm.googleapis.com",
    "web.push.apple.com",
    "push.apple.com",
    "evil.example",
    "web.",
    "\\",
    "/",
    ".",
    "@",
    ":",
    ":443",
    "?",
    "#",
    "%",
    "%2e",
    "%5c",
    "x",
    " ",
    "[",
    "]",
    "\t",
]


@settings(max_examples=300, deadline=None)
@given(
    scheme=st.sampled_from(["https://", "http://", "https:/", ""]),
    pieces=st.lists(st.sampled_from(_PIECES), min_size=1, max_size=6),
)
def test_an_accepted_endpoint_names_the_host_the_sender_reaches(scheme, pieces):
    url = scheme + "".join(pieces)
    try:
        host = check_endpoint_url(url)
    except EndpointRefused:
        return
    # An independent reading of RFC 3986: the authority runs to the first "/", "?" or "#",
    # and for an accepted endpoint it is a plain host name, perhaps with ":443".
    assert url.startswith("https://")
    authority = re.split(r"[/?#]", url[len("https://") :], maxsplit=1)[0]
    assert re.fullmatch(r"[A-Za-z0-9.-]+(:443)?", authority), url
    assert authority.split(":")[0].rstrip(".").lower() == host
    # And requests, which the worker sends with, prepares a request to that same host.
    prepared = requests.Request("POST", url).prepare()
    assert prepared.url.split("/")[2].split(":")[0].rstrip(".").lower() == host
