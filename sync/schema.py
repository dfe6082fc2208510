"""The tables the merge engine stores through (SQLAlchemy Core).

The server builds its ORM models on this same ``metadata`` so that one set of
migrations creates everything.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    Sequence,
    String,
    Table,
    Text,
    text,
)

# Stable constraint names let Alembic migrate SQLite and PostgreSQL alike.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# One row per record: the merged state of every field register, as canonical JSON.
records = Table(
    "sync_records",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("type", String(40), nullable=False),
    # {"name": {"v": value, "t": hlc}, ...}, canonical JSON (sorted keys, no spaces)
    Column("fields", Text, nullable=False),
    Column("deleted", String(35), nullable=True),
    # The version of the record, unique: from the counter in commit order (global feed),
    # or from ``change_numbers`` (parallel feed, PostgreSQL), where ``txid`` orders first.
    Column("change_no", BigInteger, nullable=False),
    # The writing transaction's id (PostgreSQL's xid8) in the parallel feed; 0 otherwise.
    Column("txid", BigInteger, nullable=False, server_default=text("0")),
    # Scope keys the server derives from the merged state, so pulls filter in SQL.
    Column("project_id", String(36), nullable=True),
    Column("subject_id", String(36), nullable=True),
    Column("author_id", String(64), nullable=True),
    # Stored but not yet complete (an edit or deletion arrived before the creation):
    # kept, merged, and left out of pulls until its required fields are there.
    Column("pending", Boolean, nullable=False, server_default=text("false")),
    # The global feed reads by change number; its rows are the only ones with txid 0, so
    # the index holds only them (a partial index): every update in the parallel feed
    # writes a new entry in each index of the table, and this one it can skip.
    Index(
        "ix_sync_records_change_no",
        "change_no",
        unique=True,
        postgresql_where=text("txid = 0"),
        sqlite_where=text("txid = 0"),
    ),
    Index("ix_sync_records_txid_change_no", "txid", "change_no"),
    # A pull reads a project's records, and a participant's own, past its cursor from
    # these, in feed order (not all the project or the family ever wrote).
    Index("ix_sync_records_project_feed", "project_id", "type", "txid", "change_no"),
    Index("ix_sync_records_subject_feed", "subject_id", "txid", "change_no"),
    # Who recorded a participant (a staff member sees the people they recorded); only
    # participant records are looked up by author, so only they are indexed.
    Index(
        "ix_sync_records_participant_author",
        "author_id",
        postgresql_where=text("type = 'participant'"),
        sqlite_where=text("type = 'participant'"),
    ),
)

# A single-row counter: taking its row lock orders change numbers by commit.
counter = Table(
    "sync_counter",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("value", BigInteger, nullable=False),
    # Change numbers at or below this were purged (tombstones past the horizon);
    # in the parallel feed, positions at or below (purged_txid, purged_through).
    Column("purged_through", BigInteger, nullable=False, server_default="0"),
    Column("purged_txid", BigInteger, nullable=False, server_default="0"),
)

# The parallel feed's change numbers (PostgreSQL): no lock, not in commit order.
change_numbers = Sequence("sync_change_numbers", metadata=metadata, start=2**40)

# Ids of tombstones purged past the horizon: a stale device's late write to one of
# them is merged against this remembered tombstone, so it can never bring the record back.
purged = Table(
    "sync_purged",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("type", String(40), nullable=False),
    Column("deleted", String(35), nullable=False),
)
