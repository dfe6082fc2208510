"""The staff area's own table: an audit log of every look at personal data and every export."""

from __future__ import annotations

import json
from datetime import datetime

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.auth.models import utcnow
from server.extensions import db


class AuditLog(db.Model):
    """Who looked at or exported personal data, and when. Holds ids, never the data itself."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # SET NULL: the trail outlives a deleted account.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64))
    # The project the row concerns, when there is one, so the log can be read per project.
    project_id: Mapped[str | None] = mapped_column(String(36), index=True, default=None)
    # JSON of non-personal context, e.g. {"stage": "design", "format": "csv", "rows": 12}.
    detail: Mapped[str] = mapped_column(Text, default="{}")


def _request_project() -> str | None:
    # Staff pages name their project in the URL; that is the project a row concerns.
    if has_request_context() and request.view_args:
        value = request.view_args.get("project_id")
        return str(value) if value else None
    return None


def audit(
    action: str,
    subject_type: str,
    subject_id: str,
    *,
    user_id: int | None = None,
    project_id: str | None = None,
    **detail,
) -> AuditLog:
    """Add an audit row to the current transaction: by ``user_id``, else the signed-in staff member."""
    if user_id is None and has_request_context() and current_user and current_user.is_authenticated:
        user_id = current_user.id
    entry = AuditLog(
        at=utcnow(),
        user_id=user_id,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        project_id=project_id or _request_project(),
        detail=json.dumps(detail, sort_keys=True, separators=(",", ":")),
    )
    db.session.add(entry)
    return entry
