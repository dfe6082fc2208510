"""Two indexes of sync_records hold only the rows they are read for (partial indexes).

Every update of a record in the parallel feed gives it a new transaction id and
change number, so PostgreSQL writes a new entry in every index of the table. Two
indexes served only some rows:

- ``ix_sync_records_change_no`` (unique) orders the global feed, whose rows all have
  txid 0: it now holds only those, and the global feed's reads say ``txid = 0``.
- ``ix_sync_records_author_id`` found who recorded a participant: it becomes
  ``ix_sync_records_participant_author``, over participant records only.

Measured with ``bench.push_cost`` (200 phones, 600 pushes of 50 records): PostgreSQL's
CPU per push and its pull fell by about 0.75 ms, from 6.3-6.6 to 5.6-5.9 ms.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_GLOBAL_ROWS = sa.text("txid = 0")
_PARTICIPANTS = sa.text("type = 'participant'")


def upgrade():
    with op.batch_alter_table("sync_records") as batch_op:
        batch_op.drop_index("ix_sync_records_change_no")
        batch_op.drop_index("ix_sync_records_author_id")
        batch_op.create_index(
            "ix_sync_records_change_no",
            ["change_no"],
            unique=True,
            postgresql_where=_GLOBAL_ROWS,
            sqlite_where=_GLOBAL_ROWS,
        )
        batch_op.create_index(
            "ix_sync_records_participant_author",
            ["author_id"],
            unique=False,
            postgresql_where=_PARTICIPANTS,
            sqlite_where=_PARTICIPANTS,
        )


def downgrade():
    with op.batch_alter_table("sync_records") as batch_op:
        batch_op.drop_index("ix_sync_records_participant_author")
        batch_op.drop_index("ix_sync_records_change_no")
        batch_op.create_index("ix_sync_records_author_id", ["author_id"], unique=False)
        batch_op.create_index("ix_sync_records_change_no", ["change_no"], unique=True)
