"""Push subscriptions, the notification outbox and quiet hours.

Times are naive UTC, as everywhere in the server (``server.auth.models.utcnow``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db

NOTIFY_ALL = "all"
NOTIFY_DONE_ONLY = "done_only"
NOTIFY_CHOICES = (NOTIFY_ALL, NOTIFY_DONE_ONLY)

EVENT_LINKED = "linked"  # feedback was linked to an action
EVENT_STATUS = "status"  # a linked action's status changed
EVENT_PROGRESS = "progress"  # a linked action has a new progress update on its timeline
EVENTS = (EVENT_LINKED, EVENT_STATUS, EVENT_PROGRESS)

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
SKIPPED = "skipped"  # the subscription asked for "done_only" and this was not "done"
STATES = (PENDING, SENDING, SENT, FAILED, SKIPPED)

DEFAULT_QUIET_START = "21:00"
DEFAULT_QUIET_END = "08:00"
DEFAULT_TIMEZONE = "Europe/London"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class PushSubscription(db.Model):
    """One browser's push subscription, held by one device."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(36), ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1024), unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    notify: Mapped[str] = mapped_column(String(10), default=NOTIFY_ALL)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(db.Model):
    """An outbox row: one notification for one subscription of one participant.

    Written by :func:`server.push.outbox.enqueue` in the transaction that links
    feedback or changes an action's status; sent by the push worker.
    """

    __tablename__ = "push_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[str] = mapped_column(String(36), index=True)
    # SET NULL: the history stays when a subscription goes; the worker fails such rows.
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("push_subscriptions.id", ondelete="SET NULL"), index=True
    )
    action_id: Mapped[str] = mapped_column(String(36))
    # The contribution the tap opens: the participant's linked feedback, else the action.
    contribution_id: Mapped[str] = mapped_column(String(36))
    event: Mapped[str] = mapped_column(String(10))
    status_value: Mapped[str | None] = mapped_column(String(20))
    # Quiet hours: not sent before this (UTC). Delays, never drops.
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    # A code such as "http_500" or "endpoint_private_address": never personal data.
    last_error: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        # The worker's claim: due pending rows, and expired leases, in id order.
        Index("ix_push_notifications_state_next_attempt_at", "state", "next_attempt_at"),
    )


class QuietHours(db.Model):
    """A participant's quiet hours. No row means the defaults (21:00-08:00 Europe/London)."""

    __tablename__ = "push_quiet_hours"

    participant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    start: Mapped[str] = mapped_column(String(5), default=DEFAULT_QUIET_START)  # "HH:MM" local
    end: Mapped[str] = mapped_column(String(5), default=DEFAULT_QUIET_END)
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    # start == end means no quiet hours.
