"""The sync endpoints' rate limit: one hit of the limits' store a request, nothing more.

Every phone pushes and pulls every few seconds, so these two endpoints are where the
service spends its time. Flask-Limiter's decorator resolved, filtered and scoped the
limit on every request around its one call to the store: 0.5-0.7 ms of Python a
request, a tenth of a sync's CPU (``bench.push_cost`` with ``RATELIMIT_ENABLED=0``
against on). Here the limit is parsed once and hit through Flask-Limiter's own strategy
and storage (the ``limits`` library underneath it: the same Redis, the same moving
window, the same key prefix), so every web process still shares one count. Every other
endpoint (sign-in, join codes, claims) keeps Flask-Limiter's decorators.

``init_app`` also takes the sync endpoints out of the app-wide hooks that do nothing
for them: Flask-Limiter's check for decorated limits (they have none now) and its
headers (switched off), and Flask-Login's remember-me cookie (a phone signs in with a
bearer token). Together those were 0.1-0.2 ms of Python a request.
"""

from __future__ import annotations

import functools
import math
import time
from functools import cache

from flask import current_app, request
from limits import RateLimitItem, parse_many

from server.errors import error_response
from server.extensions import limiter, login_manager
from server.limits import device_key

ENDPOINTS = frozenset({"api.push", "api.pull"})

DEFAULT = "600 per minute"


@cache
def _parsed(text: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(text))


def refused(scope: str):
    """Count this request against the device's sync limit (``SYNC_RATE_LIMIT``, per
    endpoint: ``scope``); return a 429 response once it is used up, else None."""
    if not limiter.enabled:
        return None
    strategy = limiter.limiter
    identifiers = (current_app.config.get("RATELIMIT_KEY_PREFIX") or "", device_key(), scope)
    for item in _parsed(current_app.config.get("SYNC_RATE_LIMIT") or DEFAULT):
        if not strategy.hit(item, *identifiers):
            reset_at = strategy.get_window_stats(item, *identifiers).reset_time
            wait = max(1, math.ceil(reset_at - time.time()))
            message = f"This phone has synced too often (at most {item}). It tries again by itself shortly."
            return error_response(429, "rate_limited", message, headers={"Retry-After": str(wait)})
    return None


def init_app(app) -> None:
    """Skip, for the sync endpoints only, the app-wide hooks that do nothing for them."""
    for hooks in (app.before_request_funcs[None], app.after_request_funcs[None]):
        hooks[:] = [_unless_sync(hook) if _not_for_sync(hook) else hook for hook in hooks]


def _not_for_sync(hook) -> bool:
    # Bound methods of the two extensions, and Flask-Limiter's header hook (a partial on it).
    owner = hook.args[0] if isinstance(hook, functools.partial) and hook.args else getattr(hook, "__self__", None)
    return owner is limiter or owner is login_manager


def _unless_sync(hook):
    @functools.wraps(hook)
    def skipped_for_sync(*response):
        if request.endpoint in ENDPOINTS:
            return response[0] if response else None  # after_request hooks hand the response on
        return hook(*response)

    return skipped_for_sync
