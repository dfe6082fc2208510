"""Changing an action after it is recorded: edit, unlink feedback, delete, progress updates."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from server.extensions import db
from server.staff import bp
from server.staff.access import project_page
from server.staff.action_writes import add_progress, delete_action, edit_action, unlink_feedback
from server.staff.feedback_choice import linked_message, offer_feedback
from server.staff.feedback_views import _action_or_404, _render_action
from server.staff.forms import ActionForm, ProgressForm, StatusForm
from server.staff.models import audit
from server.staff.writes import link_feedback


@bp.app_template_filter("staff_when")
def when(iso: str) -> str:
    """A stored time as people read it: 2026-11-29T22:46:27+00:00 -> 29 November 2026 at 22:46 UTC."""
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    if moment.tzinfo is not None:  # stored times are UTC; a naive one already is
        moment = moment.astimezone(UTC)
    return moment.strftime("%-d %B %Y at %H:%M UTC")


def _to_action(project_id: str, action_id: str):
    return redirect(url_for("staff.action", project_id=project_id, action_id=action_id))


@project_page("/projects/<project_id>/actions/<action_id>/edit", methods=["GET", "POST"], find=_action_or_404)
def edit_action_page(project, act):
    """Change what an action says was heard and done."""
    form = ActionForm(obj=act)
    # The words and the linked feedback change here: the status has its own form with a timeline entry.
    del form.stage, form.status, form.reason
    offer_feedback(form, project.id, act.stage, act.id)
    if form.validate_on_submit():
        edit_action(project.id, act.id, form.heard.data, form.done.data or "")
        linked = link_feedback(project.id, act.id, form.feedback_ids.data or [])
        audit("edit", "action", act.id, project_id=project.id, linked=linked)
        db.session.commit()
        flash(f"Action changed. {linked_message(linked)}" if linked else "Action changed.")
        return _to_action(project.id, act.id)
    status = 400 if request.method == "POST" else 200
    return render_template("staff/action_edit.html", project=project, action=act, form=form), status


@project_page("/projects/<project_id>/actions/<action_id>/unlink/<feedback_id>", methods=["POST"], find=_action_or_404)
def unlink_action_feedback(project, act, feedback_id):
    """Take a piece of feedback off an action; the family's phone stops showing the action."""
    if unlink_feedback(project.id, act.id, feedback_id):
        audit("unlink", "action", act.id, project_id=project.id, feedback_id=feedback_id)
        db.session.commit()
        flash("The feedback is no longer linked to this action.")
    else:
        flash("That feedback was not linked to this action.")
    return _to_action(project.id, act.id)


@project_page("/projects/<project_id>/actions/<action_id>/delete", methods=["GET", "POST"], find=_action_or_404)
def delete_action_page(project, act):
    """Ask, then delete an action for everyone."""
    if request.method == "POST" and FlaskForm().validate_on_submit():
        delete_action(project.id, act.id)
        audit("delete", "action", act.id, project_id=project.id)
        db.session.commit()
        flash("Action deleted.")
        return redirect(url_for("staff.actions", project_id=project.id))
    return render_template("staff/action_delete.html", project=project, action=act)


@project_page("/projects/<project_id>/actions/<action_id>/progress", methods=["POST"], find=_action_or_404)
def action_progress(project, act):
    """Add a dated progress update; the people whose feedback it answers are told."""
    form = ProgressForm()
    if form.validate_on_submit():
        add_progress(project.id, act.id, form.note.data)
        db.session.commit()
        flash("Update added to the timeline.")
        return _to_action(project.id, act.id)
    return _render_action(project, act, StatusForm(status=act.status), status=400, progress_form=form)
