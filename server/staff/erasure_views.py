"""Erasure on request: a coordinator erases a participant of their project, with a reason."""

from __future__ import annotations

from flask import abort, render_template
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField
from wtforms.validators import DataRequired, Length

from server.auth.devices import PARTICIPANT, Device
from server.domain.models import Feedback, Participant
from server.extensions import db
from server.staff.access import project_page
from server.staff.forms import text_area
from server.staff.models import audit
from server.staff.pages import form_page, saved


class EraseForm(FlaskForm):
    reason = text_area(
        "Why are you erasing this person's answers?",
        Length(max=500, message="Use 500 characters or fewer."),
        required="Say why you are erasing this person's answers.",
        description="For example: “The family asked by phone on 3 March.” Do not write their name.",
    )
    confirm = BooleanField(
        "I understand that everything this person said will be erased for good",
        validators=[DataRequired("Tick the box to confirm the erasure.")],
    )


@project_page("/projects/<project_id>/participants")
def participants(project):
    """List the project's participants, so one can be erased on request."""
    own_phone = select(Device.participant_id).where(Device.kind == PARTICIPANT).distinct().subquery()
    feedback = select(Feedback.participant_id, func.count().label("n")).group_by(Feedback.participant_id).subquery()
    rows = db.session.execute(
        select(Participant, own_phone.c.participant_id.is_not(None), func.coalesce(feedback.c.n, 0))
        .outerjoin(own_phone, own_phone.c.participant_id == Participant.id)
        .outerjoin(feedback, feedback.c.participant_id == Participant.id)
        .where(Participant.project_id == project.id)
        .order_by(Participant.id)
    ).all()
    audit("view", "participants", project.id, rows=len(rows))
    db.session.commit()
    return render_template("staff/participants.html", project=project, rows=rows)


def _participant_or_404(project_id: str, participant_id: str) -> Participant:
    participant = db.session.get(Participant, participant_id)
    if participant is None or participant.project_id != project_id:
        abort(404)
    return participant


@project_page(
    "/projects/<project_id>/participants/<participant_id>/erase", methods=["GET", "POST"], find=_participant_or_404
)
def erase_participant(project, participant):
    """Erase everything a participant said, after a typed reason and a confirmation."""
    form = EraseForm()
    if form.validate_on_submit():
        # Imported here: server.domain.erasure imports the staff package (for audit) as it loads.
        from server.domain.erasure import erase_participant

        count = erase_participant(participant.id)
        # The reason is recorded; nothing the person said is.
        audit("erase", "participant", participant.id, reason=form.reason.data, records=count)
        return saved(
            f"Participant {participant.id[:8]} is erased ({count} entries).",
            "staff.participants",
            project_id=project.id,
        )
    return form_page("staff/erase.html", project=project, participant=participant, form=form)
