"""The parallel feed's sequence, and triggers that count access changes per project

Written by hand (autogenerate knows neither sequences on SQLite nor triggers).

- ``sync_change_numbers`` (PostgreSQL): the parallel feed numbers rows from it
  (sync/feed.py). It starts far above any number the global feed's counter can
  have reached, so the two never hand out the same number.
- ``access_epochs``: every change to a table the access rule reads bumps the
  project's row, so a pull knows when to compare all a device holds with what it
  may see (server/domain/pulls.py), whatever code made the change.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PARALLEL_START = 2**40

# (trigger name, table, event, condition or None, project id expression)
TRIGGERS = [
    ("projects_status", "projects", "UPDATE OF status", "OLD.status IS DISTINCT FROM NEW.status", "NEW.id"),
    ("staff_added", "project_staff", "INSERT", None, "NEW.project_id"),
    ("staff_removed", "project_staff", "DELETE", None, "OLD.project_id"),
    ("own_phone", "devices", "INSERT", "NEW.kind = 'participant'", "NEW.project_id"),
    ("own_phone_gone", "devices", "DELETE", "OLD.kind = 'participant'", "OLD.project_id"),
    ("consent_new", "consents", "INSERT", "NEW.withdrawn_at IS NOT NULL", "NEW.project_id"),
    (
        "consent_changed",
        "consents",
        "UPDATE OF withdrawn_at",
        "OLD.withdrawn_at IS DISTINCT FROM NEW.withdrawn_at",
        "NEW.project_id",
    ),
    ("consent_gone", "consents", "DELETE", "OLD.withdrawn_at IS NOT NULL", "OLD.project_id"),
    (
        "link_added",
        "action_feedback",
        "INSERT",
        None,
        "(SELECT project_id FROM sync_records WHERE id = NEW.action_id)",
    ),
    (
        "link_removed",
        "action_feedback",
        "DELETE",
        None,
        "(SELECT project_id FROM sync_records WHERE id = OLD.action_id)",
    ),
    ("record_gone", "sync_records", "DELETE", None, "OLD.project_id"),
    (
        "staff_role",
        "users",
        "UPDATE OF role, active",
        "OLD.role IS DISTINCT FROM NEW.role OR OLD.active IS DISTINCT FROM NEW.active",
        "NULL",
    ),
]

_BUMP = (
    "INSERT INTO access_epochs (project_id, epoch) VALUES (COALESCE({project}, '*'), 1) "
    "ON CONFLICT (project_id) DO UPDATE SET epoch = access_epochs.epoch + 1"
)


def _postgresql_upgrade() -> None:
    op.execute(f"CREATE SEQUENCE IF NOT EXISTS sync_change_numbers START WITH {PARALLEL_START}")
    for name, table, event, condition, project in TRIGGERS:
        function = f"withus_access_{name}"
        op.execute(
            f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"{_BUMP.format(project=project)}; RETURN NULL; END $$"
        )
        when = f" WHEN ({condition})" if condition else ""
        op.execute(
            f"CREATE TRIGGER {function} AFTER {event} ON {table} FOR EACH ROW{when} "
            f"EXECUTE FUNCTION {function}()"
        )


def _sqlite_upgrade() -> None:
    for name, table, event, condition, project in TRIGGERS:
        # SQLite spells IS DISTINCT FROM as IS NOT.
        when = f" WHEN {condition.replace('IS DISTINCT FROM', 'IS NOT')}" if condition else ""
        op.execute(
            f"CREATE TRIGGER withus_access_{name} AFTER {event} ON {table} FOR EACH ROW{when} "
            f"BEGIN {_BUMP.format(project=project)}; END"
        )


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()
    else:
        _sqlite_upgrade()


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, table, *_ in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS withus_access_{name}" + (f" ON {table}" if postgresql else ""))
        if postgresql:
            op.execute(f"DROP FUNCTION IF EXISTS withus_access_{name}()")
    if postgresql:
        op.execute("DROP SEQUENCE IF EXISTS sync_change_numbers")
