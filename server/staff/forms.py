"""Coordinator forms (Flask-WTF adds the CSRF token). Messages name the field in plain words."""

from __future__ import annotations

from wtforms import (
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from server.domain.checklist import LADDER, PRINCIPLE_NAMES, PRINCIPLES, STAGES
from server.domain.words import (
    EASY_READ_MAX,
    NOTE_MAX,
    REFLECTION_MAX,
    ROLE_NAMES,
    ROLES,
    STATEMENT_MAX,
    SUMMARY_MAX,
    SYMBOL_MAX,
    TITLE_MAX,
    YOU_SAID_MAX,
)
from server.staff.form_base import StaffForm

EASY_READ_MAX_WORDS = 15
STAGE_CHOICES = [(s, s.title()) for s in STAGES]
STATUS_NAMES = {
    "planned": "Planned",
    "in_progress": "In progress",
    "done": "Done",
    "not_possible": "Not possible",
}
STATUS_CHOICES = list(STATUS_NAMES.items())
RUNG_CHOICES = [(n, f"{n}: {name} ({says})") for n, name, says in LADDER]


def at_most(limit: int, what: str) -> Length:
    """A length limit shared with the record schemas (server/domain/words.py), said plainly."""
    return Length(max=limit, message=f"{what} must be {limit:,} characters or fewer.")


def options(pairs) -> list[SelectChoice]:
    """Turn (value, label) pairs into select options."""
    return [SelectChoice(value, label) for value, label in pairs]


class Choice(SelectField):
    """A select whose wrong answer names the field."""

    def __init__(self, label, *, invalid: str, choices=(), **kwargs):
        super().__init__(
            label,
            choices=options(choices),
            invalid_choice_message=invalid,
            invalid_value_message=invalid,
            **kwargs,
        )


class _NamesItsError:
    """A field whose wrong answer gives our own message, which names the field."""

    def __init__(self, label, *, invalid: str, **kwargs):
        super().__init__(label, **kwargs)
        self.invalid = invalid

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as err:
            raise ValueError(self.invalid) from err


class WholeNumber(_NamesItsError, IntegerField):
    """A whole number."""


class Day(_NamesItsError, DateField):
    """A date."""


def stripped(value):
    """Trim the space around what was typed (a filter for text fields)."""
    return value.strip() if isinstance(value, str) else value


def text_field(label: str, *checks, required: str = "", kind=StringField, description: str = "", **options):
    """A text field that trims what was typed; `required` is the message when it is left empty.

    The checks (a length limit, at least) run after the required check, in the order given.
    """
    needed = [DataRequired(required)] if required else []
    return kind(label, filters=[stripped], description=description, validators=[*needed, *checks], **options)


def text_area(label: str, *checks, **options) -> TextAreaField:
    """A text_field written in a box of several lines."""
    return text_field(label, *checks, kind=TextAreaField, **options)


class ProjectForm(StaffForm):
    title = text_field("Title", at_most(TITLE_MAX, "The title"), required="Enter a title for the project.")
    summary = text_area(
        "Summary", at_most(SUMMARY_MAX, "The summary"), description="What the project is for, in a sentence or two."
    )
    target_rung = Choice(
        "Rung of the ladder you aim for",
        choices=RUNG_CHOICES,
        coerce=int,
        default=4,
        invalid="Choose the rung of the ladder you aim for, from 0 to 4.",
    )


class StageForm(StaffForm):
    stage = Choice("Current stage", choices=STAGE_CHOICES, invalid="Choose the current stage.")


class AddStaffForm(StaffForm):
    email = text_field(
        "Staff member's email address",
        Length(max=254, message="The email address must be 254 characters or fewer."),
        kind=EmailField,
        required="Enter the email address of a staff member.",
    )


def easy_read_words(text: str) -> int:
    """Count the words of an easy-read text."""
    return len((text or "").split())


class StatementForm(StaffForm):
    principle = Choice(
        "Principle",
        choices=[(p, PRINCIPLE_NAMES[p]) for p in PRINCIPLES],
        invalid="Choose the principle the statement belongs to.",
    )
    text = text_area(
        "Statement",
        at_most(STATEMENT_MAX, "The statement"),
        required="Enter the statement.",
        description="An “I” statement, for example “I felt listened to.”",
    )
    easy_read = text_field(
        "Easy-read version",
        at_most(EASY_READ_MAX, "The easy-read version"),
        required="Enter the easy-read version.",
        description=f"Short and simple: {EASY_READ_MAX_WORDS} words or fewer.",
    )
    symbol = text_field(
        "Symbol",
        at_most(SYMBOL_MAX, "The symbol"),
        required="Enter a symbol, such as an emoji.",
        description="An emoji or a short icon name shown beside the easy-read text.",
    )
    order = WholeNumber(
        "Position in the list",
        invalid="Enter the position as a whole number, such as 1.",
        default=0,
        validators=[
            InputRequired("Enter the position as a whole number, such as 1."),
            NumberRange(min=0, max=100_000, message="The position must be a whole number from 0 to 100000."),
        ],
    )

    def validate_easy_read(self, field):
        words = easy_read_words(field.data)
        if words > EASY_READ_MAX_WORDS:
            raise ValidationError(
                f"The easy-read version must be {EASY_READ_MAX_WORDS} words or fewer (it has {words})."
            )


def _reason_needed(form, field):
    if form.status.data == "not_possible" and not field.data:
        raise ValidationError("Enter the reason it is not possible.")


def _reason_field() -> TextAreaField:
    """The reason an action is not possible: asked when an action is made and when it moves on."""
    return text_area("Reason (needed when it is not possible)", at_most(NOTE_MAX, "The reason"), _reason_needed)


class ActionForm(StaffForm):
    stage = Choice("Stage", choices=STAGE_CHOICES, invalid="Choose the stage.")
    heard = text_area("You said (what we heard)", at_most(YOU_SAID_MAX, "“You said”"), required="Enter what you heard.")
    done = text_area("We did (what we did or will do)", at_most(YOU_SAID_MAX, "“We did”"))
    status = Choice("Status", choices=STATUS_CHOICES, default="planned", invalid="Choose a status.")
    reason = _reason_field()
    # Choices are the stage's feedback, filled by server.staff.feedback_choice.offer_feedback.
    feedback_ids = SelectMultipleField("Feedback this action answers (optional)", choices=[], validate_choice=False)

    def validate_feedback_ids(self, field):
        listed = {value for value, _ in field.choices}
        if any(value not in listed for value in field.data or []):
            raise ValidationError("Choose feedback from the list; the page may be out of date, so look again.")


class StatusForm(StaffForm):
    status = Choice("New status", choices=STATUS_CHOICES, invalid="Choose the new status.")
    note = text_area("Note for the timeline", at_most(NOTE_MAX, "The note"))
    reason = _reason_field()


class ProgressForm(StaffForm):
    note = text_area("What happened", at_most(NOTE_MAX, "The update"), required="Write what happened.")


class LinkForm(StaffForm):
    action_id = Choice(
        "Action to link the chosen feedback to",
        choices=[],
        invalid="Choose the action to link the feedback to.",
    )


_REVIEW_TEXT = (
    ("set_out", "What we set out to do"),
    ("happened", "What happened"),
    ("together", "How we worked together"),
    ("worked", "What worked"),
    ("barriers", "Barriers"),
    ("learned", "What we learned"),
    ("next_steps", "Next steps"),
)
REVIEW_TEXT_FIELDS = tuple(name for name, _ in _REVIEW_TEXT)
ROLE_FIELDS = tuple(f"role_{role}" for role in ROLES)


class ReviewForm(StaffForm):
    stage = Choice("Stage", choices=STAGE_CHOICES, invalid="Choose the stage.")
    date = Day(
        "Date of the review",
        invalid="Enter the date of the review as year-month-day, for example 2026-11-26.",
        validators=[InputRequired("Enter the date of the review, for example 2026-11-26.")],
        format="%Y-%m-%d",
    )
    set_out = text_area(
        "What we set out to do",
        at_most(REFLECTION_MAX, "“What we set out to do”"),
        required="Enter what you set out to do.",
    )


for _name, _label in _REVIEW_TEXT[1:]:
    setattr(ReviewForm, _name, text_area(_label, at_most(REFLECTION_MAX, f"“{_label}”")))
for _role in ROLES:
    setattr(
        ReviewForm,
        f"role_{_role}",
        WholeNumber(
            ROLE_NAMES[_role],
            default=0,
            invalid=f"{ROLE_NAMES[_role]}: enter a whole number, 0 or more.",
            validators=[
                Optional(),
                NumberRange(
                    min=0,
                    max=100_000,
                    message=f"{ROLE_NAMES[_role]}: enter a whole number, 0 or more.",
                ),
            ],
        ),
    )
