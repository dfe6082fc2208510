"""Closing, archiving and purging projects: how long personal data is kept.

A closed project's pages become read-only and families can no longer add to it.
``RETENTION_DAYS`` after closing (default 2 years), ``flask purge-retention``
erases every participant of the project, exactly as a family's own erasure does;
what the project learned in aggregate (its statements, actions, learning log) stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from server.auth.models import utcnow
from server.domain.models import Participant, Project
from server.extensions import db


class ProjectRetention(db.Model):
    """When a project was closed, archived and purged. Server state, not synced."""

    __tablename__ = "project_retention"

    project_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    archived_at: Mapped[datetime | None] = mapped_column(default=None)
    purged_at: Mapped[datetime | None] = mapped_column(default=None)


def retention_of(project_id: str) -> ProjectRetention | None:
    """The project's closing and purging dates, or None if it was never closed."""
    return db.session.get(ProjectRetention, project_id)


def is_closed(project_id: str) -> bool:
    """Tell whether a project is closed (its pages are then read-only)."""
    row = retention_of(project_id)
    return row is not None and row.closed_at is not None


def archived_ids() -> set[str]:
    """The archived projects (they leave the project lists; Keeping data still shows them)."""
    return set(
        db.session.execute(
            select(ProjectRetention.project_id).where(ProjectRetention.archived_at.is_not(None))
        ).scalars()
    )


def close_project(project_id: str, user) -> None:
    """Close a project: status "closed" for every device, pages read-only (the caller commits)."""
    from server.domain import projects

    row = retention_of(project_id) or ProjectRetention(project_id=project_id)
    row.closed_at, row.closed_by, row.archived_at = utcnow(), user.id, None
    db.session.add(row)
    projects.update_project(project_id, user, status="closed")


def reopen_project(project_id: str, user) -> None:
    """Open a closed project again, unless its personal data was already purged."""
    from server.domain import projects

    row = retention_of(project_id)
    if row is None or row.purged_at is not None:
        raise ValueError("A purged project cannot be opened again.")
    row.closed_at = row.archived_at = row.closed_by = None
    projects.update_project(project_id, user, status="active")


def archive_project(project_id: str) -> None:
    """Archive a closed project: it leaves the project lists (the caller commits)."""
    row = retention_of(project_id)
    if row is None or row.closed_at is None:
        raise ValueError("Close the project before archiving it.")
    row.archived_at = utcnow()


def purge_date(row: ProjectRetention) -> datetime:
    """The day a closed project's personal data is due to be erased."""
    return row.closed_at + timedelta(days=current_app.config["RETENTION_DAYS"])


@dataclass
class Due:
    project_id: str
    title: str
    closed_at: datetime
    purge_on: datetime
    archived: bool
    purged_at: datetime | None
    participants: int

    @property
    def overdue(self) -> bool:
        """Whether the next purge-retention run erases this project's people."""
        return self.purged_at is None and self.purge_on <= utcnow()


def closed_projects() -> list[Due]:
    """Every closed project with its purge date and how many participants it still holds."""
    counts = select(Participant.project_id, func.count().label("n")).group_by(Participant.project_id).subquery()
    rows = db.session.execute(
        select(ProjectRetention, Project.title, func.coalesce(counts.c.n, 0))
        .join(Project, Project.id == ProjectRetention.project_id)
        .outerjoin(counts, counts.c.project_id == ProjectRetention.project_id)
        .where(ProjectRetention.closed_at.is_not(None))
        .order_by(ProjectRetention.closed_at)
    ).all()
    return [
        Due(r.project_id, title, r.closed_at, purge_date(r), r.archived_at is not None, r.purged_at, n)
        for r, title, n in rows
    ]


def purge_due(now: datetime | None = None) -> list[tuple[Due, int, int]]:
    """Erase the participants of every project past its retention; return (project, participants, records)."""
    from server.domain.erasure import erase_participant
    from server.staff.models import audit

    now = now or utcnow()
    done = []
    for due in closed_projects():
        if due.purge_on > now or due.purged_at is not None:
            continue
        people = (
            db.session.execute(select(Participant.id).where(Participant.project_id == due.project_id)).scalars().all()
        )
        erased = sum(erase_participant(pid) for pid in people)
        retention_of(due.project_id).purged_at = now
        audit(
            "retention_purge",
            "project",
            due.project_id,
            project_id=due.project_id,
            participants=len(people),
            records=erased,
        )
        db.session.commit()
        done.append((due, len(people), erased))
    return done
