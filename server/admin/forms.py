"""Admins' forms. Every message names the field in plain words."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, SelectMultipleField
from wtforms.validators import Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from server.auth.models import Role
from server.staff.forms import Choice, Day, text_field

ROLE_CHOICES = [
    (Role.WORKER.value, "Outreach worker: records answers with families in the app"),
    (Role.COORDINATOR.value, "Coordinator: runs projects and sees their results"),
    (Role.ADMIN.value, "Admin: everything, on every project, and staff accounts"),
]


class Checkboxes(SelectMultipleField):
    """A list of checkboxes (one per project)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        """Refuse any project that is not in the list."""
        valid = {value for value, _ in self.choices}
        if any(value not in valid for value in self.data or ()):
            raise ValidationError("Choose projects from the list.")


class AccountForm(FlaskForm):
    role = Choice("Role", choices=ROLE_CHOICES, invalid="Choose a role from the list.")
    projects = Checkboxes("Projects", description="Admins see every project whatever you tick.")

    def __init__(self, *args, project_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.projects.choices = list(project_choices)


class InviteForm(AccountForm):
    name = text_field(
        "Name", Length(max=120, message="Use 120 characters or fewer."), required="Enter the person's name."
    )
    email = text_field(
        "Email address",
        Length(max=254, message="That is too long for an email address."),
        kind=EmailField,
        required="Enter the person's email address.",
        description="We send the invitation here. The link works once, for 72 hours.",
    )


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    who = SelectField("Who", choices=[], validate_choice=False, validators=[Optional()])
    what = SelectField("What", choices=[], validate_choice=False, validators=[Optional()])
    project = SelectField("Project", choices=[], validate_choice=False, validators=[Optional()])
    since = Day("From", invalid="Enter the first day as a date, for example 2026-11-30.", validators=[Optional()])
    until = Day("To", invalid="Enter the last day as a date, for example 2026-11-30.", validators=[Optional()])
