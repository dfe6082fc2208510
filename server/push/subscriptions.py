"""A device's push subscriptions and a participant's quiet hours, as stored.

The routes in server/api/push.py validate the request and call these; these
commit, because storing a subscription may take a second try after a concurrent
request stored the same endpoint.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from server.auth.devices import Device
from server.extensions import db
from server.push.models import Notification, PushSubscription, QuietHours, utcnow
from server.push.quiet import reschedule_held


class EndpointTaken(Exception):
    """Another live device already gets notifications through this endpoint."""


class StillContended(Exception):
    """Concurrent requests kept storing the same endpoint: the caller may try again."""


def subscribe(device: Device, endpoint: str, p256dh: str, auth: str, notify: str) -> None:
    """Store (or update) the device's subscription for an endpoint, and commit."""
    values = {"device_id": device.id, "p256dh": p256dh, "auth": auth, "notify": notify}
    for _ in range(2):
        existing = db.session.execute(
            select(PushSubscription).where(PushSubscription.endpoint == endpoint)
        ).scalar_one_or_none()
        try:
            if existing is not None and existing.device_id != device.id:
                if _held_by_live_device(existing):
                    raise EndpointTaken
                drop(existing)  # its device was revoked: the row is free
                db.session.flush()
                existing = None
            if existing is None:
                db.session.add(PushSubscription(endpoint=endpoint, **values))
            else:
                # The same browser on the same device again (new keys or preference): update.
                for name, value in values.items():
                    setattr(existing, name, value)
            db.session.commit()
            return
        except IntegrityError:
            db.session.rollback()  # a concurrent request stored the same endpoint: look again
    raise StillContended


def unsubscribe(device: Device, endpoint: str) -> None:
    """Forget the device's subscription for an endpoint; another device's is left alone."""
    subscription = db.session.execute(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint, PushSubscription.device_id == device.id)
    ).scalar_one_or_none()
    if subscription is not None:
        drop(subscription)
        db.session.commit()


def drop(subscription: PushSubscription) -> None:
    """Delete a subscription; notifications queued for it are not the next holder's to get."""
    db.session.execute(
        update(Notification).where(Notification.subscription_id == subscription.id).values(subscription_id=None)
    )
    db.session.delete(subscription)


def _held_by_live_device(subscription: PushSubscription) -> bool:
    holder = db.session.get(Device, subscription.device_id)
    return holder is not None and holder.revoked_at is None


def set_quiet_hours(participant_id: str, start: str, end: str, timezone: str) -> int:
    """Store a participant's quiet hours and commit; returns how many held notifications go sooner."""
    row = db.session.get(QuietHours, participant_id)
    if row is None:
        row = QuietHours(participant_id=participant_id)
        db.session.add(row)
    row.start, row.end, row.timezone = start, end, timezone
    released = reschedule_held(db.session, participant_id, start, end, timezone, utcnow())
    db.session.commit()
    return released
