"""The checklist editor: statements per principle; an edit makes a new version."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from server.domain import projects
from server.domain.checklist import PRINCIPLES
from server.domain.models import Statement
from server.extensions import db
from server.staff.access import project_page
from server.staff.forms import StatementForm
from server.staff.pages import form_page, saved


def _statements(project_id: str) -> dict[str, list[Statement]]:
    rows = db.session.execute(
        select(Statement)
        .where(Statement.project_id == project_id, Statement.active.is_(True))
        .order_by(Statement.order, Statement.id)
    ).scalars()
    grouped: dict[str, list[Statement]] = {p: [] for p in PRINCIPLES}
    for statement in rows:
        grouped.setdefault(statement.principle, []).append(statement)
    return grouped


def _statement_or_404(project_id: str, statement_id: str) -> Statement:
    statement = db.session.get(Statement, statement_id)
    if statement is None or statement.project_id != project_id or not statement.active:
        abort(404)
    return statement


@project_page("/projects/<project_id>/statements")
def statements(project):
    """Show the project's checklist, statement by statement, per principle."""
    retired = (
        db.session.execute(
            select(Statement)
            .where(Statement.project_id == project.id, Statement.active.is_(False))
            .order_by(Statement.principle, Statement.order)
        )
        .scalars()
        .all()
    )
    return render_template("staff/statements.html", project=project, grouped=_statements(project.id), retired=retired)


@project_page("/projects/<project_id>/statements/new", methods=["GET", "POST"])
def new_statement(project):
    """Add a statement to the checklist."""
    form = StatementForm(principle=request.args.get("principle", PRINCIPLES[0]))
    if form.validate_on_submit():
        projects.add_statement(
            project.id,
            form.text.data,
            form.principle.data,
            easy_read=form.easy_read.data,
            symbol=form.symbol.data,
            order=form.order.data,
            actor=current_user._get_current_object(),
        )
        return saved("Statement added.", "staff.statements", project_id=project.id)
    return form_page("staff/statement_form.html", project=project, form=form, statement=None)


@project_page("/projects/<project_id>/statements/<statement_id>/edit", methods=["GET", "POST"], find=_statement_or_404)
def edit_statement(project, statement):
    """Change a statement: a new version replaces it; answers to the old one are kept."""
    form = StatementForm(obj=statement)
    if form.validate_on_submit():
        changes = {
            name: getattr(form, name).data
            for name in ("text", "easy_read", "symbol", "principle", "order")
            if getattr(form, name).data != getattr(statement, name)
        }
        if not changes:
            return saved("Nothing changed.", "staff.statements", project_id=project.id)
        projects.edit_statement(statement.id, current_user._get_current_object(), **changes)
        return saved(f"Statement saved as version {statement.version + 1}.", "staff.statements", project_id=project.id)
    return form_page("staff/statement_form.html", project=project, form=form, statement=statement)


@project_page("/projects/<project_id>/statements/<statement_id>/deactivate", methods=["POST"], find=_statement_or_404)
def deactivate_statement(project, statement):
    """Stop asking a statement; its answers are kept."""
    projects.retire_statement(statement.id, current_user._get_current_object())
    return saved("Statement taken off the checklist. Its answers are kept.", "staff.statements", project_id=project.id)
