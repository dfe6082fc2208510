"""Feedback and "You said, we did": list feedback, record actions, link them, move them on."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import abort, redirect, render_template, request, url_for
from sqlalchemy import func, select

from server.domain.models import Action, ActionFeedback, Feedback, Participant
from server.domain.types import is_uuid
from server.extensions import db
from server.paging import Paging
from server.staff.access import project_page, stage_or_404
from server.staff.feedback_choice import linked_message, offer_feedback
from server.staff.forms import STATUS_NAMES, ActionForm, LinkForm, ProgressForm, StatusForm, options
from server.staff.models import audit
from server.staff.pages import form_page, saved
from server.staff.results import consent_not_withdrawn
from server.staff.writes import change_status, create_action, link_feedback

PAGE_SIZE = 50


def _actions(project_id: str, stage: str | None = None) -> list[Action]:
    query = select(Action).where(Action.project_id == project_id)
    if stage:
        query = query.where(Action.stage == stage)
    return list(db.session.execute(query.order_by(Action.created_at.desc(), Action.id)).scalars())


def _link_form(project_id: str, formdata=None) -> LinkForm:
    form = LinkForm(formdata=formdata) if formdata is not None else LinkForm()
    form.action_id.choices = options(
        (a.id, f"{a.heard[:80]} ({STATUS_NAMES.get(a.status, a.status)}, {a.stage})") for a in _actions(project_id)
    )
    return form


@dataclass(frozen=True)
class FeedbackList:
    """One page of a stage's feedback, newest first, and the actions each piece is linked to."""

    rows: list
    links: dict[str, list[str]]
    paging: Paging
    unlinked_only: bool


def _feedback_list(project, stage: str) -> FeedbackList:
    """Read a page of the stage's feedback; looking at it is recorded in the audit log."""
    unlinked_only = request.args.get("show") == "unlinked"
    linked_any = select(ActionFeedback.feedback_id).where(ActionFeedback.feedback_id == Feedback.id)
    query = (
        select(Feedback, Participant.role)
        .outerjoin(Participant, Participant.id == Feedback.participant_id)
        .where(
            Feedback.project_id == project.id,
            Feedback.stage == stage,
            # Someone who withdrew their consent is no longer shown.
            consent_not_withdrawn(project.id, Feedback.participant_id),
        )
    )
    if unlinked_only:
        query = query.where(~linked_any.exists())
    total = db.session.execute(
        select(func.count()).select_from(query.with_only_columns(Feedback.id).subquery())
    ).scalar()
    paging = Paging.of(total, PAGE_SIZE, request.args.get("page"))
    rows = db.session.execute(
        query.order_by(Feedback.received_at.desc(), Feedback.id).limit(PAGE_SIZE).offset(paging.offset)
    ).all()
    links: dict[str, list[str]] = {}
    if rows:
        for feedback_id, action_id in db.session.execute(
            select(ActionFeedback.feedback_id, ActionFeedback.action_id).where(
                ActionFeedback.feedback_id.in_([f.id for f, _ in rows])
            )
        ):
            links.setdefault(feedback_id, []).append(action_id)
    audit("view", "feedback", project.id, stage=stage, page=paging.page, rows=len(rows))
    db.session.commit()
    return FeedbackList(rows, links, paging, unlinked_only)


def _render_feedback(project, stage, form, chosen=(), feedback_error=None, status=200):
    """The feedback page with the link form as it stands: fresh, or sent back with its errors."""
    return render_template(
        "staff/feedback.html",
        project=project,
        stage=stage,
        form=form,
        chosen=set(chosen),
        feedback_error=feedback_error,
        feedback=_feedback_list(project, stage),
    ), status


@project_page("/projects/<project_id>/feedback")
def feedback_current(project):
    """Go to the feedback of the project's current stage."""
    return redirect(url_for("staff.feedback", project_id=project.id, stage=project.current_stage))


@project_page("/projects/<project_id>/stages/<stage>/feedback")
def feedback(project, stage):
    """List the stage's feedback, newest first, to link it to actions."""
    return _render_feedback(project, stage_or_404(stage), _link_form(project.id))


@project_page("/projects/<project_id>/stages/<stage>/feedback/link", methods=["POST"])
def link(project, stage):
    """Link the chosen feedback to an action; the people who gave it are notified."""
    stage = stage_or_404(stage)
    form = _link_form(project.id, request.form)
    chosen = [fid for fid in request.form.getlist("feedback_ids") if is_uuid(fid)]
    valid = form.validate()
    feedback_error = None
    if not chosen:
        feedback_error = "Choose at least one piece of feedback to link."
    if not valid or feedback_error:
        return _render_feedback(project, stage, form, chosen, feedback_error, status=400)
    added = link_feedback(project.id, form.action_id.data, chosen)
    done = (
        f"Linked {added} piece{'s' if added != 1 else ''} of feedback to the action."
        if added
        else "That feedback was already linked to the action."
    )
    return saved(done, "staff.feedback", project_id=project.id, stage=stage, page=request.args.get("page", 1))


@project_page("/projects/<project_id>/actions")
def actions(project):
    """List the project's "You said, we did" actions."""
    stage = request.args.get("stage")
    if stage:
        stage_or_404(stage)
    counts = dict(
        db.session.execute(
            select(ActionFeedback.action_id, func.count())
            .join(Action, Action.id == ActionFeedback.action_id)
            .where(Action.project_id == project.id)
            .group_by(ActionFeedback.action_id)
        ).all()
    )
    return render_template(
        "staff/actions.html",
        project=project,
        actions=_actions(project.id, stage),
        counts=counts,
        stage=stage,
    )


@project_page("/projects/<project_id>/actions/new", methods=["GET", "POST"])
def new_action(project):
    """Record what was heard and what is done about it."""
    reply_to = _reply_to(project.id, request.values.get("feedback"))
    stage = reply_to.stage if reply_to else request.args.get("stage", project.current_stage)
    form = ActionForm(stage=stage)
    offer_feedback(form, project.id, stage, None)
    if reply_to:  # it is linked anyway, so it is not offered again
        form.feedback_ids.choices = [c for c in form.feedback_ids.choices if c[0] != reply_to.id]
    if form.validate_on_submit():
        action_id = create_action(
            project.id,
            form.stage.data,
            form.heard.data,
            form.done.data,
            form.status.data,
            form.reason.data or None,
        )
        chosen = ([reply_to.id] if reply_to else []) + list(form.feedback_ids.data or [])
        linked = link_feedback(project.id, action_id, chosen)
        done = (
            f"Action recorded. {linked_message(linked)}"
            if linked
            else "Action recorded. Now link the feedback it answers."
        )
        return saved(done, "staff.action", project_id=project.id, action_id=action_id)
    return form_page("staff/action_new.html", project=project, form=form, reply_to=reply_to)


def _reply_to(project_id: str, feedback_id: str | None) -> Feedback | None:
    """The feedback an action is replying to, if it is this project's and still shown."""
    if not feedback_id or not is_uuid(feedback_id):
        return None
    return db.session.execute(
        select(Feedback).where(
            Feedback.id == feedback_id,
            Feedback.project_id == project_id,
            consent_not_withdrawn(project_id, Feedback.participant_id),
        )
    ).scalar_one_or_none()


def _progress_form():
    return ProgressForm(formdata=None)


def _action_or_404(project_id: str, action_id: str) -> Action:
    action = db.session.get(Action, action_id)
    if action is None or action.project_id != project_id:
        abort(404)
    return action


def _linked_feedback(project, action) -> list:
    """The feedback an action answers, first linked first; looking at it is recorded in the audit log."""
    linked = db.session.execute(
        select(Feedback, Participant.role, ActionFeedback.linked_at)
        .join(ActionFeedback, ActionFeedback.feedback_id == Feedback.id)
        .outerjoin(Participant, Participant.id == Feedback.participant_id)
        .where(ActionFeedback.action_id == action.id)
        .order_by(ActionFeedback.linked_at, Feedback.id)
    ).all()
    if linked:
        audit("view", "action_feedback", action.id, project_id=project.id, rows=len(linked))
        db.session.commit()
    return linked


def _render_action(project, action, form, status=200, progress_form=None):
    return render_template(
        "staff/action.html",
        project=project,
        action=action,
        form=form,
        progress_form=progress_form or _progress_form(),
        linked=_linked_feedback(project, action),
        timeline=json.loads(action.timeline or "[]"),
    ), status


@project_page("/projects/<project_id>/actions/<action_id>", find=_action_or_404)
def action(project, act):
    """Show an action, its dated timeline and the feedback it answers."""
    return _render_action(project, act, StatusForm(status=act.status))


@project_page("/projects/<project_id>/actions/<action_id>/status", methods=["POST"], find=_action_or_404)
def action_status(project, act):
    """Move an action to a new status; the people whose feedback it answers are notified."""
    form = StatusForm()
    valid = form.validate_on_submit()
    if valid and form.status.data == act.status:
        form.status.errors.append(f"The action is already “{STATUS_NAMES[act.status]}”. Choose a different status.")
    elif valid:
        change_status(project.id, act.id, form.status.data, form.note.data or "", form.reason.data or None)
        done = f"Status changed to “{STATUS_NAMES[form.status.data]}”."
        return saved(done, "staff.action", project_id=project.id, action_id=act.id)
    return _render_action(project, act, form, status=400)
