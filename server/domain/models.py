"""Projection tables: typed read models of the merged sync records.

The sync records (``sync_records``) are the truth. These tables are kept up to
date from them by ``server.domain.hooks.DomainHooks.after_merge`` in the same
transaction as the merge; a tombstoned record deletes its row. Nothing else
should write the projection tables directly (the server writes records through
``sync.store.write_local`` and lets the hooks project them).

Two tables are not projections: ``project_staff`` (who works on a project) and
the join/claim codes, which are server state, never synced.

Times are naive UTC, as everywhere in the server (``server.auth.models.utcnow``).
JSON-valued fields (timeline, roles, snapshot) are stored as canonical JSON text.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from server.auth.models import utcnow
from server.extensions import db

ID = String(36)


class Project(db.Model):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    current_stage: Mapped[str] = mapped_column(String(20))
    target_rung: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProjectStaff(db.Model):
    """Which staff (coordinators, workers) belong to a project. Server state, not synced."""

    __tablename__ = "project_staff"

    project_id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class Statement(db.Model):
    __tablename__ = "statements"
    __table_args__ = (Index("ix_statements_project_order", "project_id", "active", "order"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(ID)
    text: Mapped[str] = mapped_column(String(500))
    easy_read: Mapped[str] = mapped_column(String(200), default="")
    symbol: Mapped[str] = mapped_column(String(40), default="")
    principle: Mapped[str] = mapped_column(String(20))
    order: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    replaces: Mapped[str | None] = mapped_column(ID, default=None)


class Participant(db.Model):
    __tablename__ = "participants"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(ID, index=True)
    display_name: Mapped[str | None] = mapped_column(String(80), default=None)
    role: Mapped[str | None] = mapped_column(String(20), default=None)
    age_band: Mapped[str | None] = mapped_column(String(20), default=None)


class Consent(db.Model):
    __tablename__ = "consents"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    participant_id: Mapped[str] = mapped_column(ID, index=True)
    project_id: Mapped[str] = mapped_column(ID, index=True)
    notice_version: Mapped[str] = mapped_column(String(40))
    given_by: Mapped[str] = mapped_column(String(20))
    given_at: Mapped[datetime] = mapped_column()
    withdrawn_at: Mapped[datetime | None] = mapped_column(default=None)


class StageEntry:
    """What every record made in one stage of a project has."""

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(ID)
    stage: Mapped[str] = mapped_column(String(20))


class ParticipantEntry(StageEntry):
    """What every entry a participant makes in a project stage has: who, and how it was made
    (by themselves, or recorded by a worker with them)."""

    participant_id: Mapped[str] = mapped_column(ID, index=True)
    mode: Mapped[str] = mapped_column(String(20))
    recorded_by: Mapped[str | None] = mapped_column(String(20), default=None)


class ChecklistAnswer(ParticipantEntry, db.Model):
    __tablename__ = "checklist_answers"
    # Covering indexes: the results page reads a stage's answers per statement and per
    # participant without touching the table (measured: 391 ms -> about 200 ms on SQLite).
    __table_args__ = (
        Index("ix_checklist_answers_by_statement", "project_id", "stage", "statement_id", "value", "participant_id"),
        Index("ix_checklist_answers_by_participant", "project_id", "stage", "participant_id", "value", "statement_id"),
    )

    statement_id: Mapped[str] = mapped_column(ID)
    value: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text, default=None)


class StageCount(db.Model):
    """Counts of people and feedback per stage, by what the results page shows (server.domain.stage_counts).

    Not a projection of one record type: running counts, so the results page reads
    a few rows instead of counting every answer, person and piece of feedback.
    ``measure`` names the count: ``statement`` (answers; ``role`` holds the statement
    id, ``value`` the answer), ``agreed`` (partners by role and how many statements
    they agree with), ``rung`` (ladder ratings by role and rung), ``took_part`` (by
    role), ``equality`` (``role`` holds the question, ``value`` the answer),
    ``gave_none`` (took part, no equality answer), ``feedback`` (no response yet),
    ``answering`` (``role`` an action's status, ``value`` its id: how much of the
    stage's feedback it answers) and ``response`` (``value`` is the time to the first response in seconds,
    rounded as the pages show it). Withdrawn partners count nowhere.
    """

    __tablename__ = "stage_counts"

    project_id: Mapped[str] = mapped_column(ID, primary_key=True)
    stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    measure: Mapped[str] = mapped_column(String(20), primary_key=True)
    role: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(String(80), primary_key=True)
    # Each merge adds to one of a few rows picked at random (readers sum them), so
    # parallel pushes to one project rarely wait on the same row.
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, default=0, server_default="0")
    count: Mapped[int] = mapped_column(Integer, default=0)


class LadderRating(ParticipantEntry, db.Model):
    __tablename__ = "ladder_ratings"
    __table_args__ = (Index("ix_ladder_ratings_project_stage", "project_id", "stage"),)

    rung: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text, default=None)


class Feedback(ParticipantEntry, db.Model):
    __tablename__ = "feedback"
    __table_args__ = (
        Index("ix_feedback_project_stage", "project_id", "stage"),
        # The stages a person gave feedback in, one index probe each (stage_counts); it
        # also finds a person's feedback, so participant_id needs no index of its own.
        Index("ix_feedback_participant_stage", "participant_id", "project_id", "stage"),
    )

    participant_id: Mapped[str] = mapped_column(ID)

    text: Mapped[str] = mapped_column(Text)
    principle: Mapped[str | None] = mapped_column(String(20), default=None)
    # Server time the record was first merged: kept across later edits.
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class EqualityAnswer(db.Model):
    """Optional monitoring answers: kept apart, shown only in aggregate."""

    __tablename__ = "equality_answers"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    participant_id: Mapped[str] = mapped_column(ID, index=True)
    project_id: Mapped[str] = mapped_column(ID, index=True)
    gender: Mapped[str | None] = mapped_column(String(80), default=None)
    ethnicity: Mapped[str | None] = mapped_column(String(80), default=None)
    disability: Mapped[str | None] = mapped_column(String(80), default=None)
    first_language: Mapped[str | None] = mapped_column(String(80), default=None)


class Action(StageEntry, db.Model):
    """ "You said, we did"."""

    __tablename__ = "actions"
    __table_args__ = (Index("ix_actions_project_stage", "project_id", "stage"),)

    heard: Mapped[str] = mapped_column(Text, default="")
    done: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    # JSON list of {"at": ISO, "status": s, "note": str}
    timeline: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionFeedback(db.Model):
    """Which feedback an action answers (from the action record's ``feedback_ids``)."""

    __tablename__ = "action_feedback"

    action_id: Mapped[str] = mapped_column(ID, primary_key=True)
    feedback_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)


class Review(StageEntry, db.Model):
    """One entry of the learning log."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_project_stage", "project_id", "stage"),)

    date: Mapped[dt.date] = mapped_column(Date)
    set_out: Mapped[str] = mapped_column(Text, default="")
    happened: Mapped[str] = mapped_column(Text, default="")
    together: Mapped[str] = mapped_column(Text, default="")
    worked: Mapped[str] = mapped_column(Text, default="")
    barriers: Mapped[str] = mapped_column(Text, default="")
    learned: Mapped[str] = mapped_column(Text, default="")
    next_steps: Mapped[str] = mapped_column(Text, default="")
    roles: Mapped[str] = mapped_column(Text, default="{}")  # JSON {role: count}
    snapshot: Mapped[str] = mapped_column(Text, default="{}")  # JSON


class JoinCode(db.Model):
    """A code a family types (or scans) to join a project. Stored normalised: ``KIND-RIVER``."""

    __tablename__ = "join_codes"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    project_id: Mapped[str] = mapped_column(ID, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class ClaimCode(db.Model):
    """A one-use code: a family's phone takes over a participant in custody, or joins another phone."""

    __tablename__ = "claim_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[str] = mapped_column(ID, index=True)
    project_id: Mapped[str] = mapped_column(ID)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set when a family's own phone made the code ("Add another phone"), not staff.
    made_by_device: Mapped[str | None] = mapped_column(ID, default=None)


# A holding's change_no: the version sent, or one of these.
UNKNOWN = -1  # sent in a response the device may not have received
GONE = -2  # a removal or a deletion was sent
# A holding's tag: the ack of the response that carried it, or this.
PUSHED = 0  # written by the device's own push: nothing to acknowledge
SENT = text(f"tag > {PUSHED}")
GONE_ROWS = text(f"change_no = {GONE}")


class DeviceHolding(db.Model):
    """What one device holds: each record sent to it, at which change, so access changes reach it.

    Server state, never synced. ``change_no`` is the version sent (-1: unknown, the
    response may have been lost; -2: a removal or deletion was sent). ``tag`` is the
    cursor of the response that carried it: the device acknowledges a response by
    pulling with its cursor, so rows tagged above the cursor a device sends were
    never received. ``digest`` fingerprints what an action showed (its cut
    ``feedback_ids``), which changes without the record changing.
    """

    __tablename__ = "device_holdings"
    # Each pull settles the rows tagged above the cursor it is sent with, and forgets the
    # removals and deletions it acknowledges. Partial indexes, each holding only the rows
    # it is read for: a push writes a holding (tag 0) for every record it sends, and the
    # forgetting once read every record the device had pulled to find the few gone ones.
    __table_args__ = (
        Index("ix_device_holdings_device_id_tag", "device_id", "tag", postgresql_where=SENT, sqlite_where=SENT),
        Index("ix_device_holdings_gone", "device_id", "tag", postgresql_where=GONE_ROWS, sqlite_where=GONE_ROWS),
    )

    device_id: Mapped[str] = mapped_column(ID, primary_key=True)
    record_id: Mapped[str] = mapped_column(ID, primary_key=True)
    change_no: Mapped[int] = mapped_column(BigInteger)
    # The ack of the cursor of the response that carried it (0: it came from the
    # device's own push, which needs no acknowledging).
    tag: Mapped[int] = mapped_column(BigInteger)
    digest: Mapped[str | None] = mapped_column(String(32), default=None)


class AccessEpoch(db.Model):
    """How often what someone may see in a project changed (bumped by database triggers).

    Every change to a table the access rule reads (project status, staff on a project,
    a family's own phone, consent withdrawn, action links, records removed outright)
    bumps its project's row, by triggers (migration 0002), so no code that changes
    access has to remember to. A pull compares these with what the device was last
    reconciled against and looks at everything it holds only when they moved.
    ``project_id`` "*" counts changes whose project is not known.
    """

    __tablename__ = "access_epochs"

    project_id: Mapped[str] = mapped_column(ID, primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger, default=0)


class DeviceAccess(db.Model):
    """The access epochs a device was last fully reconciled against, and in which response."""

    __tablename__ = "device_access"

    device_id: Mapped[str] = mapped_column(ID, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    # The response (its cursor's ack) that completed the reconciliation: until the
    # device acknowledges it, the next pull reconciles again.
    ack: Mapped[int] = mapped_column(BigInteger)
