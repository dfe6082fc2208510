"""Impact notifications over Web Push: "your feedback was heard", "you said, we did".

Wiring (in the app factory)::

    from server import push
    push.init_app(app)   # the CLI commands (its routes are in server/api/push.py)

Domain code calls :func:`server.push.outbox.enqueue` inside the transaction that
links feedback to an action or changes an action's status. ``flask push-worker``
sends the rows. See worker.py for the claim protocol and vapid.py for keys.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from server.push.cli import push_keys_command, push_worker_command

    app.cli.add_command(push_keys_command)
    app.cli.add_command(push_worker_command)
