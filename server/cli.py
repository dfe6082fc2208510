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
    if len(password) < 10:
        raise click.ClickException("Choose a password of at least 10 characters.")
    user = User(email=email, name=name, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created {role} account {email}.")


@click.command("seed-demo")
def seed_demo():
    """Add demo staff, a demo project with the default checklist and a join code (safe to run twice)."""
    from server.demo import seed

    summary = seed()
    click.echo("Demo data ready.")
    for line in summary:
        click.echo(line)


def init_app(app):
    app.cli.add_command(users_cli)
    app.cli.add_command(seed_demo)
