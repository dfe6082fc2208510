"""Command-line tasks: staff accounts and demo data."""

import click

from server.auth.models import Role, User
from server.extensions import db


@click.group("users")
def users_cli():
    """Manage staff accounts."""


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.password_option()
def create_user(email, name, role, password):
    """Create a staff account."""
    email = User.normalise_email(email)
    if db.session.execute(db.select(User).where(User.email == email)).scalar_one_or_none():
        raise click.ClickException(f"An account for {email} already exists.")
    from server.auth.passwords import password_problem

    problem = password_problem(password)
    if problem:
        raise click.ClickException(problem)
    user = User(email=email, name=name, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created {role} account {email}.")


@users_cli.command("reset-two-step")
@click.option("--email", required=True)
def reset_two_step(email):
    """Clear someone's two-step sign-in (lost phone and codes); they set it up again at sign-in."""
    from server.auth import two_step
    from server.auth.sessions import end_sessions_and_devices

    user = db.session.execute(db.select(User).where(User.email == User.normalise_email(email))).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"There is no account for {email}.")
    two_step.turn_off(user)
    end_sessions_and_devices(user)
    db.session.commit()
    click.echo(f"Two-step sign-in cleared for {user.email}; their sessions and devices were signed out.")


@click.command("seed-demo")
def seed_demo():
    """Add demo staff, a demo project with the default checklist and a join code (safe to run twice)."""
    from flask import current_app

    from server.config import PRODUCTION
    from server.demo import seed

    if current_app.config.get("WITHUS_ENV", PRODUCTION) == PRODUCTION:
        # The demo admin's password is published in the README, and its join code never expires.
        raise click.ClickException(
            "seed-demo is refused in production: its accounts have published passwords. "
            "Create real accounts with 'flask users create'."
        )

    summary = seed()
    click.echo("Demo data ready.")
    for line in summary:
        click.echo(line)


@click.command("purge-tombstones")
@click.option("--days", type=click.IntRange(min=1), default=None, help="Horizon; default SYNC_TOMBSTONE_HORIZON_DAYS.")
def purge_tombstones(days):
    """Delete tombstones older than the horizon (a phone whose cursor is older must resync)."""
    import time

    from flask import current_app

    from sync import store
    from sync.hlc import format as format_hlc

    days = days or current_app.config["SYNC_TOMBSTONE_HORIZON_DAYS"]
    before = format_hlc(int(time.time() * 1000) - days * 86_400_000, 0, "0" * 16)
    count = store.purge_tombstones(db.session.connection(), before)
    db.session.commit()
    click.echo(f"Purged {count} tombstones older than {days} days.")


@click.command("purge-retention")
def purge_retention():
    """Erase the participants of projects closed longer than RETENTION_DAYS (run daily)."""
    from flask import current_app

    from server.staff.retention import purge_due

    done = purge_due()
    days = current_app.config["RETENTION_DAYS"]
    if not done:
        click.echo(f"Nothing to erase: no project has been closed for more than {days} days.")
    for due, people, records in done:
        click.echo(
            f"Erased {people} participant{'' if people == 1 else 's'} ({records} entries) of project {due.project_id} "
            f"(closed {due.closed_at:%Y-%m-%d}, kept {days} days)."
        )


def init_app(app):
    app.cli.add_command(users_cli)
    app.cli.add_command(purge_retention)
    app.cli.add_command(seed_demo)
    app.cli.add_command(purge_tombstones)
