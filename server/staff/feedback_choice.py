"""Choosing, on the action form, the feedback an action answers.

The form lists the stage's feedback this action does not answer yet: first what
still waits for any response, newest first, at most ``CHOICES_LIMIT`` (older
feedback is linked from the Feedback page, which pages through all of it).
"""

from __future__ import annotations

from sqlalchemy import exists, select

from server.domain.models import ActionFeedback, Feedback
from server.extensions import db
from server.staff.results import consent_not_withdrawn

CHOICES_LIMIT = 50


def feedback_choices(project_id: str, stage: str, action_id: str | None = None) -> list[tuple[str, str]]:
    """(feedback id, label) pairs to tick: the text and the day it came, waiting ones first."""
    answered = exists().where(ActionFeedback.feedback_id == Feedback.id)
    this_action = exists().where(ActionFeedback.feedback_id == Feedback.id, ActionFeedback.action_id == action_id)
    query = (
        select(Feedback.id, Feedback.text, Feedback.received_at)
        .where(
            Feedback.project_id == project_id,
            Feedback.stage == stage,
            consent_not_withdrawn(project_id, Feedback.participant_id),
        )
        .order_by(answered, Feedback.received_at.desc(), Feedback.id)
        .limit(CHOICES_LIMIT)
    )
    if action_id is not None:
        query = query.where(~this_action)
    return [(fid, f"{_short(text)} ({received:%-d %b %Y})") for fid, text, received in db.session.execute(query)]


def _short(text: str, limit: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def offer_feedback(form, project_id: str, stage: str, action_id: str | None = None) -> None:
    """Fill the form's feedback choices (before validating: only listed feedback may be ticked)."""
    form.feedback_ids.choices = feedback_choices(project_id, stage, action_id)


def linked_message(linked: int) -> str:
    """What the coordinator is told after linking: who hears about it."""
    if linked == 1:
        return "1 piece of feedback is linked; the person who gave it is told it was heard."
    return f"{linked} pieces of feedback are linked; the people who gave them are told they were heard."
