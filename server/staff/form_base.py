"""The base of every coordinator form: what no field may hold, checked once for all of them."""

from __future__ import annotations

from flask_wtf import FlaskForm

NUL_MESSAGE = "This has a hidden character we cannot save. Please type it again."


class StaffForm(FlaskForm):
    """A FlaskForm that also refuses NUL characters in any field.

    PostgreSQL text cannot hold NUL, and the record types refuse it on every backend; caught
    here, the form comes back with the message next to the field instead of a server error.
    """

    def validate(self, extra_validators=None) -> bool:
        """Validate as usual, then mark every field whose submitted text holds a NUL."""
        valid = super().validate(extra_validators)
        for field in self:
            if any(isinstance(v, str) and "\x00" in v for v in field.raw_data or ()):
                field.errors = [*field.errors, NUL_MESSAGE]
                valid = False
        return valid
