"""A project's public "You said, we did" page: server state, never synced to devices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.auth.models import utcnow
from server.extensions import db


class PublicPage(db.Model):
    """Whether a project's public page is on, at which address, and its staff-written intro."""

    __tablename__ = "public_pages"

    project_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    intro: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
