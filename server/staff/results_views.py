"""The results of a stage, on screen and as a printable report."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from flask import render_template
from sqlalchemy import select

from server.domain.models import ChecklistAnswer, LadderRating, Participant, Statement
from server.extensions import db
from server.staff.access import project_page, stage_or_404
from server.staff.models import audit
from server.staff.results import StageResults, consent_not_withdrawn, stage_results
from sync.store import head

_CACHE_SIZE = 64
COMMENTS_LIMIT = 1000
_cache: OrderedDict[tuple, StageResults] = OrderedDict()
_cache_lock = threading.Lock()


@contextmanager
def read_snapshot() -> Iterator:
    """A read-only connection that sees one consistent state of the database.

    On SQLite a deferred transaction (the server otherwise begins IMMEDIATE,
    which would hold the write lock and stall device pushes while results are
    worked out); on PostgreSQL REPEATABLE READ, so every query sees one snapshot.
    """
    engine = db.engine
    if engine.dialect.name == "sqlite":
        options = {"sqlite_begin": "DEFERRED"}
    else:
        options = {"isolation_level": "REPEATABLE READ"}
    with engine.connect() as conn:
        conn = conn.execution_options(**options)
        with conn.begin():
            yield conn


def cached_stage_results(project, stage: str) -> StageResults:
    """Return the stage's results, reusing them while no sync record has changed.

    Every projection the results read changes only through a merge, and every
    merge moves the change feed's head, so (database, project, stage, target,
    head) names one exact state. Each process keeps its own small cache.
    """
    with read_snapshot() as conn:
        key = (str(db.engine.url), project.id, stage, project.target_rung, head(conn))
        with _cache_lock:
            hit = _cache.get(key)
            if hit is not None:
                _cache.move_to_end(key)
                return hit
        results = stage_results(conn, project.id, stage, project.target_rung)
    with _cache_lock:
        _cache[key] = results
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return results


def clear_cache() -> None:
    """Forget every cached result (the benchmark times cold pages)."""
    with _cache_lock:
        _cache.clear()


def _show_results(project, stage: str | None, template: str):
    """Render a stage's results (``stage`` None: the project's current stage) with a template."""
    stage = project.current_stage if stage is None else stage_or_404(stage)
    return render_template(template, project=project, stage=stage, r=cached_stage_results(project, stage))


@project_page("/projects/<project_id>/results")
def results_current(project):
    """Show the results of the project's current stage (no redirect: one round trip less)."""
    return _show_results(project, None, "staff/results.html")


@project_page("/projects/<project_id>/stages/<stage>/results")
def results(project, stage):
    """Show whether co-production was achieved in a stage, and why."""
    return _show_results(project, stage, "staff/results.html")


@project_page("/projects/<project_id>/stages/<stage>/report")
def report(project, stage):
    """Show the stage's results as a page to print or save as PDF."""
    return _show_results(project, stage, "staff/report.html")


def _commented(model, project_id: str, stage: str) -> tuple:
    """Conditions for a stage's answers or ratings that carry a comment, from partners still in."""
    return (
        model.project_id == project_id,
        model.stage == stage,
        model.comment.is_not(None),
        model.comment != "",
        consent_not_withdrawn(project_id, model.participant_id),
    )


@project_page("/projects/<project_id>/stages/<stage>/comments")
def comments(project, stage):
    """List the comments partners left with their checklist answers and ladder ratings."""
    stage = stage_or_404(stage)
    answers = db.session.execute(
        select(ChecklistAnswer, Statement.text, Statement.principle, Participant.role)
        .outerjoin(Statement, Statement.id == ChecklistAnswer.statement_id)
        .outerjoin(Participant, Participant.id == ChecklistAnswer.participant_id)
        .where(*_commented(ChecklistAnswer, project.id, stage))
        .order_by(Statement.principle, Statement.order, ChecklistAnswer.value, ChecklistAnswer.id)
        .limit(COMMENTS_LIMIT)
    ).all()
    ratings = db.session.execute(
        select(LadderRating, Participant.role)
        .outerjoin(Participant, Participant.id == LadderRating.participant_id)
        .where(*_commented(LadderRating, project.id, stage))
        .order_by(LadderRating.rung, LadderRating.id)
        .limit(COMMENTS_LIMIT)
    ).all()
    audit("view", "answers", project.id, stage=stage, rows=len(answers) + len(ratings))
    db.session.commit()
    return render_template(
        "staff/comments.html",
        project=project,
        stage=stage,
        answers=answers,
        ratings=ratings,
        limit=COMMENTS_LIMIT,
    )
