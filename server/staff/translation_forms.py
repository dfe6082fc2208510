"""Forms for the project's consent details and the translations of statements and projects."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField, URLField
from wtforms.validators import URL, Length, Optional

from server.languages import LANGUAGES, PROJECT_TEXTS, STATEMENT_TEXTS
from server.staff.forms import _stripped


class ProjectDetailsForm(FlaskForm):
    organisation = StringField(
        "Organisation",
        filters=[_stripped],
        description="Who runs the project, as families know it.",
        validators=[Length(max=200, message="Use 200 characters or fewer.")],
    )
    contact = StringField(
        "Contact",
        filters=[_stripped],
        description="A phone number or email address families can use with questions.",
        validators=[Length(max=200, message="Use 200 characters or fewer.")],
    )
    privacy_url = URLField(
        "Privacy notice link",
        filters=[_stripped],
        description="The web address of your privacy notice, starting with https://",
        validators=[
            Optional(),
            URL(message="Enter a full web address, like https://example.org/privacy."),
            Length(max=500, message="Use 500 characters or fewer."),
        ],
    )
    consent_text = TextAreaField(
        "Consent text",
        filters=[_stripped],
        description="What families agree to, in plain words. Leave empty to use the app's own words.",
        validators=[Length(max=4000, message="Use 4000 characters or fewer.")],
    )


LABELS = {
    "text": "Statement",
    "easy_read": "Easy-read version",
    "title": "Title",
    "summary": "Summary",
    "consent_text": "Consent text",
}


def translation_form(texts: dict[str, int]) -> type[FlaskForm]:
    """A form class with one field per language and translated text, named `<lang>_<field>`."""
    attrs = {}
    for code, language in LANGUAGES.items():
        for name, longest in texts.items():
            kind = TextAreaField if longest > 200 else StringField
            attrs[f"{code}_{name}"] = kind(
                f"{LABELS[name]} in {language}",
                filters=[_stripped],
                validators=[Length(max=longest, message=f"Use {longest} characters or fewer.")],
                render_kw={"lang": code, "dir": "auto"},
            )
    return type(f"Translation{'_'.join(texts)}Form", (FlaskForm,), attrs)


StatementTranslationForm = translation_form(STATEMENT_TEXTS)
ProjectTranslationForm = translation_form(PROJECT_TEXTS)


def translations_from(form: FlaskForm, texts: dict[str, int]) -> dict[str, dict[str, str]]:
    """{lang: {field: text}} from a submitted translation form."""
    return {code: {name: getattr(form, f"{code}_{name}").data or "" for name in texts} for code in LANGUAGES}


def fill(form: FlaskForm, translations: dict | None, texts: dict[str, int]) -> None:
    """Show stored translations in a fresh form."""
    for code in LANGUAGES:
        for name in texts:
            getattr(form, f"{code}_{name}").data = ((translations or {}).get(code) or {}).get(name, "")
