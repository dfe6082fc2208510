"""Staff accounts: invite by e-mail, roles, projects, deactivate and reactivate."""

from __future__ import annotations

import smtplib

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select

from server.admin import bp
from server.admin.forms import AccountForm, InviteForm
from server.auth import links
from server.auth.models import User
from server.auth.sessions import end_sessions_and_devices
from server.domain import projects
from server.domain.models import Project, ProjectStaff
from server.extensions import db
from server.mail import send_mail
from server.staff.access import roles_required
from server.staff.models import audit
from server.staff.pages import form_page, saved

admin_required = roles_required("admin")


def _project_choices() -> list[tuple[str, str]]:
    return [(p.id, p.title) for p in db.session.execute(select(Project).order_by(Project.title)).scalars()]


def _projects_of(user_id: int) -> set[str]:
    return set(db.session.execute(select(ProjectStaff.project_id).where(ProjectStaff.user_id == user_id)).scalars())


@bp.get("/accounts")
@admin_required
def accounts():
    """List every staff account."""
    users = db.session.execute(select(User).order_by(User.active.desc(), User.name)).scalars().all()
    counts = dict(db.session.execute(select(ProjectStaff.user_id, func.count()).group_by(ProjectStaff.user_id)).all())
    return render_template("admin/accounts.html", users=users, counts=counts)


def send_invitation(user: User) -> bool:
    """Make a new 72-hour invitation link for ``user`` and e-mail it; say whether the mail went."""
    token = links.issue_link(user, links.INVITE)
    db.session.commit()
    try:
        send_mail(
            user.email,
            "You are invited to WithUs",
            f"Hello {user.name},\n\n{current_user.name} has made you a WithUs staff account.\n"
            f"To choose your password, open this link within 72 hours (it works once):\n\n{links.link_url(token)}\n",
        )
    except (smtplib.SMTPException, OSError):
        current_app.logger.exception("invitation e-mail for account %s failed", user.id)
        return False
    return True


def _say_sent(user: User, sent: bool) -> None:
    if sent:
        flash(f"We have sent {user.name} an invitation to {user.email}.")
    else:
        flash(f"The account is made, but the e-mail to {user.email} did not go. Try “Send a new invitation”.")


@bp.route("/accounts/invite", methods=["GET", "POST"])
@admin_required
def invite():
    """Invite a new staff member by e-mail, with a role and projects."""
    form = InviteForm(project_choices=_project_choices())
    if form.validate_on_submit():
        email = User.normalise_email(form.email.data)
        if db.session.execute(select(User.id).where(User.email == email)).first():
            form.email.errors.append("There is already an account with that email address.")
        else:
            user = User(email=email, name=form.name.data, role=form.role.data)
            db.session.add(user)
            db.session.flush()
            _set_projects(user, set(form.projects.data or ()))
            audit("invite", "user", user.id, role=user.role)
            db.session.commit()
            _say_sent(user, send_invitation(user))
            return redirect(url_for("admin.accounts"))
    return form_page("admin/invite.html", form=form)


def _set_projects(user: User, wanted: set[str]) -> None:
    have = _projects_of(user.id)
    for project_id in sorted(wanted - have):
        projects.add_staff(project_id, [user])
        audit("assign", "user", user.id, project_id=project_id)
    for project_id in sorted(have - wanted):
        projects.remove_staff(project_id, user)
        audit("unassign", "user", user.id, project_id=project_id)


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/accounts/<int:user_id>", methods=["GET", "POST"])
@admin_required
def account(user_id):
    """Change someone's role and projects."""
    user = _user_or_404(user_id)
    form = AccountForm(project_choices=_project_choices(), data={"role": user.role, "projects": _projects_of(user.id)})
    if form.validate_on_submit():
        if user.id == current_user.id and form.role.data != user.role:
            form.role.errors.append("You cannot change your own role. Ask another admin.")
        else:
            if form.role.data != user.role:
                audit("role_change", "user", user.id, old=user.role, new=form.role.data)
                user.role = form.role.data
            _set_projects(user, set(form.projects.data or ()))
            return saved(f"{user.name}'s account is saved.", "admin.accounts")
    return form_page("admin/account.html", form=form, user=user)


@bp.post("/accounts/<int:user_id>/deactivate")
@admin_required
def deactivate(user_id):
    """Stop an account: its sessions and device tokens end at once."""
    user = _user_or_404(user_id)
    if user.id == current_user.id:
        abort(400, "You cannot stop your own account.")
    user.active = False
    devices = end_sessions_and_devices(user)
    audit("deactivate", "user", user.id, devices=devices)
    return saved(f"{user.name} can no longer sign in. Their sessions and devices were signed out.", "admin.accounts")


@bp.post("/accounts/<int:user_id>/reactivate")
@admin_required
def reactivate(user_id):
    """Let a stopped account sign in again."""
    user = _user_or_404(user_id)
    user.active = True
    audit("reactivate", "user", user.id)
    return saved(f"{user.name} can sign in again.", "admin.accounts")


@bp.post("/accounts/<int:user_id>/invite-again")
@admin_required
def invite_again(user_id):
    """Send a fresh invitation to someone who has not set a password yet (older links stop working)."""
    user = _user_or_404(user_id)
    if user.password_hash or not user.active:
        abort(400, "This person already has a password, or their account is stopped.")
    audit("invite", "user", user.id, role=user.role, again=True)
    _say_sent(user, send_invitation(user))
    return redirect(url_for("admin.accounts"))
