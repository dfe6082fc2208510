"""Impact notifications over Web Push: "your feedback was heard", "you said, we did".

Wiring (in the app factory)::

    from server import push
    push.init_app(app)   # registers the push_api blueprint and the CLI commands

Domain code calls :func:`server.push.outbox.enqueue` inside the transaction that
links feedback to an action or changes an action's status. ``flask push-worker``
sends the rows. See worker.py for the claim protocol and vapid.py for keys.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from server.api.push import push_api
    from server.push import models  # noqa: F401  (tables on the shared metadata)
    from server.push.cli import push_keys_command, push_worker_command

    app.config.setdefault("PUSH_ALLOW_TEST_SERVICE", False)
    if push_api.name not in app.blueprints:
        app.register_blueprint(push_api)
    app.cli.add_command(push_keys_command)
    app.cli.add_command(push_worker_command)
