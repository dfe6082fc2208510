"""Sending one notification with pywebpush, and what its answer means."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests
from pywebpush import WebPushException, webpush

from server.push.guard import (
    EndpointRefused,
    NoRedirectSession,
    check_endpoint_for_send,
    check_endpoint_url,
)
from server.push.models import EVENT_LINKED, EVENT_PROGRESS
from server.push.vapid import VapidKeys

MAX_PAYLOAD_BYTES = 3 * 1024
HOST_CHECK_SECONDS = 30.0

# Generic lines only: no names, no feedback text, no project. The app fetches the detail.
# These are the English lines. The payload also names its line ("line": "done"), and
# the phone shows that line from its own catalogue (pwa/js/i18n/, keys push.<line>.title
# and .body) in the language the family chose, which the server never learns.
_LINES = {
    ("linked", None): (
        "Your feedback was heard",
        "It is now part of an action. Tap to see what is happening.",
    ),
    ("status", "planned"): (
        "An action is planned",
        "Something you told us about is planned. Tap to see.",
    ),
    ("status", "in_progress"): (
        "Work has started",
        "Something you told us about is now under way. Tap to see.",
    ),
    ("status", "done"): (
        "Your contribution made a difference",
        "What you told us led to a change. Tap to see what we did.",
    ),
    ("status", "not_possible"): (
        "An update on your feedback",
        "An action could not go ahead. Tap to see why.",
    ),
}
# A progress update says only that there is news: the action's status may be anything.
_LINES[("progress", None)] = (
    "News about your feedback",
    "There is an update on something you told us about. Tap to see.",
)
_DEFAULT_LINES = ("An update on your feedback", "Tap to see what changed.")


def line_name(key: tuple[str, str | None]) -> str:
    """The name of a line, as the phone's catalogue knows it: "linked", "done", "progress"..."""
    event, status_value = key
    return status_value if event == "status" and status_value else event


def payload_for(event: str, status_value: str | None, contribution_id: str, action_id: str) -> bytes:
    """The JSON the phone decrypts: a generic line and ids, nothing personal, at most 3 KB."""
    # "linked" and "progress" never speak of the status: a link made to an action
    # that is already done says only that the feedback was heard.
    key = (event, None) if event in (EVENT_LINKED, EVENT_PROGRESS) else (event, status_value)
    title, body = _LINES.get(key, _DEFAULT_LINES)
    line = line_name(key) if key in _LINES else "update"
    data = json.dumps(
        {"title": title, "body": body, "line": line, "contribution": contribution_id, "action_id": action_id},
        separators=(",", ":"),
    ).encode()
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ValueError("push payload over 3 KB")
    return data


def topic_for(action_id: str) -> str:
    """A Topic header value (at most 32 URL-safe characters) per action: a newer
    notification about the same action replaces one the phone has not yet fetched."""
    try:
        return uuid.UUID(action_id).hex
    except ValueError:
        return hashlib.sha256(action_id.encode()).hexdigest()[:32]


@dataclass
class Outcome:
    kind: str  # "sent" | "gone" | "retry" | "failed"
    code: str | None = None  # error code, never personal data
    retry_after: float | None = None  # seconds, from Retry-After


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = (now or datetime.now(UTC).replace(tzinfo=None)).replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass
class SendSettings:
    keys: VapidKeys
    timeout: float = 10.0
    ttl: int = 4 * 24 * 3600
    urgency: str = "normal"
    allow_test_service: bool = False


class Sender:
    """Sends notifications over one guarded, redirect-free HTTP session."""

    def __init__(self, settings: SendSettings):
        self.settings = settings
        self.session = NoRedirectSession(allow_test_service=settings.allow_test_service)
        self._checked: dict[str, float] = {}  # host -> monotonic time its check expires

    def close(self) -> None:
        self.session.close()

    def _check(self, endpoint: str) -> None:
        """The URL rules every time; the host's addresses at most every HOST_CHECK_SECONDS
        (the connection is checked again on every new socket, see guard.GuardedAdapter)."""
        host = check_endpoint_url(endpoint, self.settings.allow_test_service)
        now = time.monotonic()
        if self._checked.get(host, 0.0) > now:
            return
        check_endpoint_for_send(endpoint, self.settings.allow_test_service)
        self._checked[host] = now + HOST_CHECK_SECONDS

    def send(self, endpoint: str, p256dh: str, auth: str, payload: bytes, topic: str) -> Outcome:
        settings = self.settings
        try:
            self._check(endpoint)
        except EndpointRefused as err:
            # A lookup that failed may work later; a refused address or URL will not.
            return Outcome("retry" if err.code == "endpoint_unresolvable" else "failed", err.code)
        try:
            response = webpush(
                subscription_info={"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
                data=payload,
                vapid_private_key=settings.keys.vapid,
                # A fresh dict every call: pywebpush writes "aud" and "exp" into it.
                vapid_claims={"sub": settings.keys.subject},
                timeout=settings.timeout,
                ttl=settings.ttl,
                headers={
                    "Urgency": settings.urgency,
                    "Topic": topic,
                    "Content-Type": "application/octet-stream",
                },
                requests_session=self.session,
            )
        except EndpointRefused as err:  # the connected peer was not public
            return Outcome("failed", err.code)
        except WebPushException as err:
            return classify(
                err.response.status_code if err.response is not None else None,
                err.retry_after if err.response is not None else None,
            )
        except (requests.Timeout, requests.ConnectionError):
            return Outcome("retry", "network")
        except requests.RequestException:
            return Outcome("retry", "network")
        return classify(response.status_code, None)


def classify(status: int | None, retry_after: str | None) -> Outcome:
    if status is None:
        return Outcome("retry", "network")
    if 200 <= status <= 202:
        return Outcome("sent")
    if status in (404, 410):
        return Outcome("gone", f"http_{status}")
    if status == 429 or status >= 500:
        return Outcome("retry", f"http_{status}", parse_retry_after(retry_after))
    if 300 <= status < 400:
        return Outcome("failed", "redirect_refused")
    return Outcome("failed", f"http_{status}")
