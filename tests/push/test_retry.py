"""What the worker does with a push service's answers: back off, honour Retry-After,
give up after a limit, refuse redirects. The local web-push-testing service does not
answer 429/5xx on demand, so a small HTTP server on loopback plays that part."""

from __future__ import annotations

import base64
import os
import uuid
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select, update

from server.extensions import db
from server.push.models import FAILED, PENDING, Notification, PushSubscription, QuietHours, utcnow
from server.push.outbox import enqueue
from server.push.sender import classify, parse_retry_after, payload_for, topic_for
from tests.push.loopback import QuietHandler, serving


class _Answer(QuietHandler):
    status = 503
    headers_out: dict = {}
    seen: list = []

    def do_POST(self):  # noqa: N802
        self.read_body()
        self.seen.append({k.lower(): v for k, v in self.headers.items()})
        self.reply(self.status, self.headers_out)


@pytest.fixture
def answering():
    _Answer.seen = []
    with serving(_Answer) as server:

        def set_answer(status, headers=None):
            _Answer.status, _Answer.headers_out = status, headers or {}
            return f"http://127.0.0.1:{server.server_address[1]}/notify/{uuid.uuid4().hex}"

        yield set_answer


def _key() -> str:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


@pytest.fixture
def queued(push_app, make_participant):
    """queued(endpoint) -> one pending row for a fresh subscription at ``endpoint``."""

    def make(endpoint):
        participant_id, _, device = make_participant()
        auth = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
        db.session.add(PushSubscription(device_id=device.id, endpoint=endpoint, p256dh=_key(), auth=auth))
        db.session.add(QuietHours(participant_id=participant_id, start="00:00", end="00:00"))
        enqueue(db.session, [participant_id], str(uuid.uuid4()), "status", "done")
        db.session.commit()

    return make


def _row():
    db.session.expire_all()
    return db.session.execute(select(Notification)).scalar_one()


def test_503_with_retry_after_is_retried_later(push_app, drain, answering, queued):
    queued(answering(503, {"Retry-After": "120"}))
    before = utcnow()
    stats = drain()
    assert stats.retried == 1
    row = _row()
    assert (row.state, row.attempts, row.last_error) == (PENDING, 1, "http_503")
    assert row.next_attempt_at >= before + timedelta(seconds=119)
    # The request carried what the push services want.
    (headers,) = _Answer.seen
    assert headers["content-type"] == "application/octet-stream"
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["urgency"] == "normal" and len(headers["topic"]) == 32
    assert int(headers["ttl"]) > 0 and headers["authorization"].startswith("vapid t=")


def test_429_backs_off_exponentially_then_fails(push_app, drain, answering, queued):
    queued(answering(429))
    push_app.config.update(PUSH_MAX_ATTEMPTS=3, PUSH_BACKOFF_BASE_SECONDS=60)
    delays = []
    for attempt in range(1, 4):
        start = utcnow()
        drain()
        end = utcnow()
        row = _row()
        if attempt < 3:
            assert (row.state, row.attempts) == (PENDING, attempt)
            # (earliest, latest) delay the worker can have chosen, whenever it recorded it
            delays.append(
                (
                    (row.next_attempt_at - end).total_seconds(),
                    (row.next_attempt_at - start).total_seconds(),
                )
            )
            db.session.execute(update(Notification).values(next_attempt_at=utcnow()))
            db.session.commit()
    assert (row.state, row.attempts, row.last_error) == (FAILED, 3, "http_429")
    # 60 s then 120 s, less up to 20 % jitter.
    assert 48 <= delays[0][1] and delays[0][0] <= 60
    assert 96 <= delays[1][1] and delays[1][0] <= 120


def test_retry_after_beyond_the_limit_fails(push_app, drain, answering, queued):
    queued(answering(503, {"Retry-After": str(3 * 24 * 3600)}))
    drain()
    row = _row()
    assert (row.state, row.last_error) == (FAILED, "http_503")


@pytest.mark.parametrize(("status", "code"), [(301, "redirect_refused"), (400, "http_400"), (403, "http_403")])
def test_other_answers_fail_without_retry(push_app, drain, answering, queued, status, code):
    queued(answering(status, {"Location": "http://127.0.0.1:1/elsewhere"}))
    stats = drain()
    assert stats.failed == 1 and len(_Answer.seen) == 1
    row = _row()
    assert (row.state, row.last_error) == (FAILED, code)
    db.session.rollback()
    assert db.session.execute(select(PushSubscription)).scalar_one()  # kept


def test_404_deletes_the_subscription(push_app, drain, answering, queued):
    queued(answering(404))
    assert drain().gone == 1
    assert db.session.execute(select(PushSubscription)).scalars().all() == []


def test_unreachable_service_is_retried(push_app, drain, queued):
    from tests.push.service import free_port

    queued(f"http://127.0.0.1:{free_port()}/notify/x")  # nothing listens there
    assert drain().retried == 1
    row = _row()
    assert (row.state, row.last_error) == (PENDING, "network")


def test_payload_and_topic():
    action_id = str(uuid.uuid4())
    payload = payload_for("status", "done", "f-1", action_id)
    assert len(payload) <= 3 * 1024
    topic = topic_for(action_id)
    assert len(topic) == 32 and topic.isalnum()
    long = topic_for("x" * 100)
    assert len(long) == 32 and set(long) <= set("0123456789abcdef")


def test_classify_and_retry_after():
    assert classify(201, None).kind == "sent"
    assert classify(410, None).kind == "gone"
    assert classify(500, "30").retry_after == 30
    assert classify(502, None).kind == "retry"
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None
