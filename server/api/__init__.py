"""The device API, everything under /api: one module per resource, on one blueprint.

    join.py      POST /api/join
    claims.py    POST /api/claims, POST /api/claims/redeem
    devices.py   POST /api/devices, DELETE /api/devices/current
    me.py        GET /api/me, POST /api/me/another-phone, GET /api/me/export, POST /api/me/erase
    sync.py      POST /api/sync/push, GET /api/sync/pull
    push.py      /api/push/key, /api/push/subscriptions, /api/push/quiet-hours
    openapi.py   GET /api/openapi.json, generated from the routes' schemas

blueprint.py holds the blueprint and its conventions; schemas.py the schemas several
resources share. Route modules parse, call the domain (server/domain/, server/push/)
and answer; the rules live there.
"""

from flask import Flask

# The resource modules attach their routes to bp as they load.
from server.api import claims, devices, join, me, openapi, push, sync  # noqa: F401
from server.api.blueprint import bp


def init_app(app: Flask) -> None:
    from server.extensions import csrf

    # Devices authenticate with bearer tokens, never cookies, so CSRF cannot apply.
    csrf.exempt(bp)
    openapi.init_app(app)
