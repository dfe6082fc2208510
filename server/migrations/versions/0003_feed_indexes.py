"""Indexes for reads that grew with history: a pull's and a person's counts

A participant's records and a project's in feed order: two indexes end in (txid, change_no).

``ix_sync_records_subject_feed`` replaces the index on ``subject_id`` alone, and
``ix_sync_records_project_feed`` the one on (project_id, type); each serves the same
lookups as before, and a pull now reads only the rows past its cursor, not all a
family or a project ever wrote (server/domain/pulls.py, ``_participant_page``).

``ix_feedback_participant_stage``: the stages a person gave feedback in, found one
index probe per stage rather than by reading all their feedback (stage_counts).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sync_records") as batch_op:
        batch_op.create_index("ix_sync_records_subject_feed", ["subject_id", "txid", "change_no"], unique=False)
        batch_op.create_index("ix_sync_records_project_feed", ["project_id", "type", "txid", "change_no"], unique=False)
        batch_op.drop_index("ix_sync_records_subject_id")
        batch_op.drop_index("ix_sync_records_project_id_type")
    with op.batch_alter_table("feedback") as batch_op:
        batch_op.create_index("ix_feedback_participant_stage", ["participant_id", "project_id", "stage"], unique=False)


def downgrade():
    with op.batch_alter_table("feedback") as batch_op:
        batch_op.drop_index("ix_feedback_participant_stage")
    with op.batch_alter_table("sync_records") as batch_op:
        batch_op.create_index("ix_sync_records_project_id_type", ["project_id", "type"], unique=False)
        batch_op.create_index("ix_sync_records_subject_id", ["subject_id"], unique=False)
        batch_op.drop_index("ix_sync_records_project_feed")
        batch_op.drop_index("ix_sync_records_subject_feed")
