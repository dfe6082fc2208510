"""device_holdings' indexes hold only the rows they are read for; feedback loses a duplicate index.

- ``ix_device_holdings_device_id_tag`` finds the holdings a pull settles (tagged above
  its cursor's ack, never 0). A push writes a holding tagged 0 for each record it
  sends, so the index now skips those: ``WHERE tag > 0``.
- ``ix_device_holdings_gone`` (new) finds the removals and deletions a device has
  acknowledged. They were found through the index above, which meant reading every
  record the device had pulled: about 70 entries a pull in ``bench.push_cost``.
- ``ix_feedback_participant_id``: ``ix_feedback_participant_stage`` begins with the
  same column, so it serves every lookup the smaller one did.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_SENT = sa.text("tag > 0")
_GONE = sa.text("change_no = -2")


def upgrade():
    with op.batch_alter_table("device_holdings") as batch_op:
        batch_op.drop_index("ix_device_holdings_device_id_tag")
        batch_op.create_index(
            "ix_device_holdings_device_id_tag", ["device_id", "tag"], postgresql_where=_SENT, sqlite_where=_SENT
        )
        batch_op.create_index(
            "ix_device_holdings_gone", ["device_id", "tag"], postgresql_where=_GONE, sqlite_where=_GONE
        )
    with op.batch_alter_table("feedback") as batch_op:
        batch_op.drop_index("ix_feedback_participant_id")


def downgrade():
    with op.batch_alter_table("feedback") as batch_op:
        batch_op.create_index("ix_feedback_participant_id", ["participant_id"], unique=False)
    with op.batch_alter_table("device_holdings") as batch_op:
        batch_op.drop_index("ix_device_holdings_gone")
        batch_op.drop_index("ix_device_holdings_device_id_tag")
        batch_op.create_index("ix_device_holdings_device_id_tag", ["device_id", "tag"], unique=False)
