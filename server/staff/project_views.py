"""Projects: the list, creating one, and a project's overview (stage, join code, staff)."""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user
from sqlalchemy import func, select

from server.auth.models import User
from server.domain import codes, projects
from server.domain.models import ProjectStaff
from server.extensions import db
from server.public.languages import project_languages
from server.staff import bp, retention
from server.staff.access import (
    coordinator_required,
    project_page,
    roles_required,
    visible_projects,
)
from server.staff.forms import AddStaffForm, ProjectForm, StageForm
from server.staff.join_qr import join_url, qr_svg
from server.staff.models import audit
from server.staff.pages import form_page, saved


@bp.get("/")
@roles_required("admin", "coordinator", "worker")
def index():
    """List the projects this staff member works on."""
    archived = retention.archived_ids()
    return render_template(
        "staff/index.html",
        projects=[p for p in visible_projects(current_user) if p.id not in archived],
        coordinating=current_user.role in ("admin", "coordinator"),
    )


@bp.route("/projects/new", methods=["GET", "POST"])
@coordinator_required
def new_project():
    """Create a project with the default checklist; its creator joins its staff."""
    form = ProjectForm()
    if form.validate_on_submit():
        project_id = projects.create_project(
            form.title.data,
            form.summary.data or "",
            form.target_rung.data,
            current_user._get_current_object(),
        )
        codes.new_join_code(project_id)
        done = f"Project “{form.title.data}” created with the default checklist."
        return saved(done, "staff.project", project_id=project_id)
    return form_page("staff/project_new.html", form=form)


def _staff_of(project_id: str) -> list[User]:
    return list(
        db.session.execute(
            select(User)
            .join(ProjectStaff, ProjectStaff.user_id == User.id)
            .where(ProjectStaff.project_id == project_id)
            .order_by(User.role, User.name)
        ).scalars()
    )


def _render_project(project, stage_form=None, staff_form=None, status=200):
    stage_form = stage_form or StageForm(stage=project.current_stage)
    join_code = codes.active_join_code(project.id)
    url = join_url(join_code.code) if join_code else None
    return render_template(
        "staff/project.html",
        project=project,
        stage_form=stage_form,
        staff_form=staff_form or AddStaffForm(),
        join_code=join_code,
        join_link=url,
        join_qr=qr_svg(url, label="QR code of the join link") if url else None,
        staff=_staff_of(project.id),
        retention=retention.retention_of(project.id),
    ), status


@project_page("/projects/<project_id>")
def project(project):
    """Show a project: its stages, join code and staff."""
    return _render_project(project)


@project_page("/projects/<project_id>/stage", methods=["POST"])
def set_stage(project):
    """Move the project to another stage."""
    form = StageForm()
    if not form.validate_on_submit():
        return _render_project(project, stage_form=form, status=400)
    projects.set_stage(project.id, form.stage.data, current_user._get_current_object())
    return saved(f"The current stage is now {form.stage.data}.", "staff.project", project_id=project.id)


@project_page("/projects/<project_id>/join-code")
def confirm_new_join_code(project):
    """Ask before making a new join code, saying what stops working."""
    return render_template("staff/join_code_new.html", project=project, join_code=codes.active_join_code(project.id))


@project_page("/projects/<project_id>/poster")
def poster(project):
    """Show an A4 poster with the join code and its QR code, to print."""
    join_code = codes.active_join_code(project.id)
    if join_code is None:
        abort(404)
    url = join_url(join_code.code)
    return render_template(
        "staff/poster.html",
        project=project,
        join_code=join_code,
        url=url,
        qr=qr_svg(url, scale=10, label=f"QR code to join {project.title}"),
        languages=project_languages(project.id, project.title, project.summary)[1:],
    )


@project_page("/projects/<project_id>/join-code", methods=["POST"])
def rotate_join_code(project):
    """Replace the join code: the old one stops working at once."""
    code = codes.new_join_code(project.id)
    return saved(f"New join code: {code}. The old code no longer works.", "staff.project", project_id=project.id)


@project_page("/projects/<project_id>/staff", methods=["POST"])
def add_staff(project):
    """Put a staff member (found by email) on the project."""
    form = AddStaffForm()
    if form.validate_on_submit():
        user = db.session.execute(
            select(User).where(func.lower(User.email) == User.normalise_email(form.email.data))
        ).scalar_one_or_none()
        if user is None or not user.active:
            form.email.errors.append("There is no active staff account with that email address.")
        elif current_user.role != "admin" and user.role != "worker":
            # Coordinators build their own team of workers; other roles are an admin's choice.
            form.email.errors.append("You can add outreach workers only. Ask an admin to add a coordinator.")
        else:
            projects.add_staff(project.id, [user])
            audit("assign", "user", user.id)
            return saved(f"{user.name} now works on this project.", "staff.project", project_id=project.id)
    return _render_project(project, staff_form=form, status=400)


@project_page("/projects/<project_id>/staff/<int:user_id>/remove", methods=["POST"])
def remove_staff(project, user_id):
    """Take a staff member off the project (not yourself, so nobody locks themselves out)."""
    if user_id == current_user.id:
        abort(400, "You cannot take yourself off a project.")
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    projects.remove_staff(project.id, user_id)
    audit("unassign", "user", user_id)
    return saved(f"{user.name} no longer works on this project.", "staff.project", project_id=project.id)
