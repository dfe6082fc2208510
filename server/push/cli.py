"""CLI commands: ``flask push-keys`` and ``flask push-worker``."""

from __future__ import annotations

import json
import os
import signal

import click
from flask import current_app
from flask.cli import with_appcontext

from server.push.vapid import forget_keys, generate_pair, get_keys, key_path, write_key_file


@click.command("push-keys")
@click.option("--force", is_flag=True, help="Replace existing keys (rotation; see server/push/vapid.py).")
@with_appcontext
def push_keys_command(force: bool) -> None:
    """Make the VAPID key pair in the instance folder (vapid.json) and print the public key."""
    app = current_app._get_current_object()
    path = key_path(app)
    if os.environ.get("VAPID_PRIVATE_KEY") or app.config.get("VAPID_PRIVATE_KEY"):
        click.echo("VAPID_PRIVATE_KEY is set: the environment's keys are used, not vapid.json.")
    if os.path.exists(path) and not force:
        with open(path) as handle:
            click.echo("Keys exist; public key: " + json.load(handle)["public_key"])
        click.echo("Use --force to rotate: every subscription must then be made again.")
        return
    pair = generate_pair()
    write_key_file(path, pair, replace=True)
    forget_keys(app)
    click.echo(f"Wrote {path}")
    click.echo("Public key: " + pair["public_key"])


@click.command("push-worker")
@click.option("--once", is_flag=True, help="Send everything due now, then exit.")
@click.option("--batch-size", type=int, default=None, help="Rows claimed at a time.")
@with_appcontext
def push_worker_command(once: bool, batch_size: int | None) -> None:
    """Send the notifications waiting in the outbox (runs until stopped)."""
    from server.push.worker import Worker

    app = current_app._get_current_object()
    get_keys(app)  # fail early on bad keys; makes them on first run
    worker = Worker(app)
    if batch_size:
        worker.batch_size = batch_size

    def stop(signum, frame):
        worker.stop.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        stats = worker.drain() if once else worker.run_forever()
    finally:
        worker.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(
        f"push-worker: sent={stats.sent} failed={stats.failed} gone={stats.gone} "
        f"retried={stats.retried} skipped={stats.skipped} delayed={stats.delayed}"
    )
