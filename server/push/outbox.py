"""The transactional outbox: notification rows written with the change that causes them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from server.auth.devices import PARTICIPANT, Device
from server.domain.words import ACTION_STATUSES
from server.push.models import (
    EVENTS,
    PENDING,
    Notification,
    PushSubscription,
    utcnow,
)
from server.push.quiet import quiet_until, settings_for


def enqueue(
    session: Session,
    participant_ids: Iterable[str],
    action_id: str,
    event: str,
    status_value: str | None,
    *,
    feedback_ids: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> int:
    """Write one pending notification per subscription of each participant's live devices.

    Call it INSIDE the transaction that links feedback to an action
    (``event="linked"``) or changes a linked action's status
    (``event="status"``); it adds rows and flushes, it never commits, so the
    rows exist exactly when the change does.

    ``status_value`` is the action's status after the change. ``feedback_ids``
    maps a participant to their linked feedback id, which the notification
    opens; without it the action id is used. Quiet hours set ``not_before``.
    The ``done_only`` preference is applied when sending, so a change of mind
    in between counts. Returns the number of rows written.
    """
    if event not in EVENTS:
        raise ValueError(f"event must be one of {EVENTS}")
    if status_value is not None and status_value not in ACTION_STATUSES:
        raise ValueError(f"status_value must be one of {ACTION_STATUSES}")
    ids = [pid for pid in dict.fromkeys(participant_ids) if pid]
    rows = _subscriptions(session, ids)
    if not rows:
        return 0
    now = now or utcnow()
    feedback_ids = feedback_ids or {}
    quiet = settings_for(session, {pid for pid, _ in rows})
    values = []
    for participant_id, subscription_id in rows:
        not_before = quiet_until(now, *quiet[participant_id]) or now
        values.append(
            {
                "participant_id": participant_id,
                "subscription_id": subscription_id,
                "action_id": action_id,
                "contribution_id": feedback_ids.get(participant_id, action_id),
                "event": event,
                "status_value": status_value,
                "not_before": not_before,
                "next_attempt_at": not_before,
                "state": PENDING,
                "attempts": 0,
                "created_at": now,
            }
        )
    session.execute(insert(Notification), values)
    return len(values)


def _subscriptions(session: Session, participant_ids: list[str]) -> list[tuple[str, int]]:
    """(participant id, subscription id) of every live family device of these participants."""
    rows = []
    for start in range(0, len(participant_ids), 500):
        chunk = participant_ids[start : start + 500]
        rows.extend(
            session.execute(
                select(Device.participant_id, PushSubscription.id)
                .join(PushSubscription, PushSubscription.device_id == Device.id)
                .where(
                    Device.participant_id.in_(chunk),
                    Device.kind == PARTICIPANT,
                    Device.revoked_at.is_(None),
                )
                .order_by(PushSubscription.id)
            ).all()
        )
    return rows
