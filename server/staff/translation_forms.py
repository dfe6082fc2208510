"""Forms for the project's consent details and the translations of statements and projects."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField, URLField
from wtforms.validators import URL, Length, Optional

from server.languages import LANGUAGES, PROJECT_TEXTS, STATEMENT_TEXTS
from server.staff.forms import text_area, text_field


def _up_to(limit: int) -> Length:
    """The length limit these forms share, said the same way for each field."""
    return Length(max=limit, message=f"Use {limit} characters or fewer.")


class ProjectDetailsForm(FlaskForm):
    organisation = text_field("Organisation", _up_to(200), description="Who runs the project, as families know it.")
    contact = text_field(
        "Contact", _up_to(200), description="A phone number or email address families can use with questions."
    )
    privacy_url = text_field(
        "Privacy notice link",
        Optional(),
        URL(message="Enter a full web address, like https://example.org/privacy."),
        _up_to(500),
        kind=URLField,
        description="The web address of your privacy notice, starting with https://",
    )
    consent_text = text_area(
        "Consent text",
        _up_to(4000),
        description="What families agree to, in plain words. Leave empty to use the app's own words.",
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
            attrs[f"{code}_{name}"] = text_field(
                f"{LABELS[name]} in {language}",
                _up_to(longest),
                kind=TextAreaField if longest > 200 else StringField,
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
