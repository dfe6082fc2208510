"""Pages where coordinators enter a project's consent details and translations.

Translations ride on the project and statement records, so they reach phones with
the next pull; a translation is no new version of a statement.
"""

from __future__ import annotations

from flask import abort, request
from flask_login import current_user

from server.domain import projects
from server.domain.projects import read_record
from server.languages import LANGUAGES, PROJECT_TEXTS, STATEMENT_TEXTS
from server.staff.access import project_page
from server.staff.checklist_views import _statement_or_404
from server.staff.pages import form_page, saved
from server.staff.translation_forms import (
    ProjectDetailsForm,
    ProjectTranslationForm,
    StatementTranslationForm,
    fill,
    translations_from,
)

DETAILS = ("organisation", "contact", "privacy_url", "consent_text")


def _values(record_id: str) -> dict:
    record = read_record(record_id)
    if record is None or record.deleted is not None:
        abort(404)
    return record.values()


def _set_translations(kind: str, record_id: str, form, texts: dict[str, int]) -> None:
    me = current_user._get_current_object()
    projects.set_translations(kind, record_id, translations_from(form, texts), me)


@project_page("/projects/<project_id>/details", methods=["GET", "POST"])
def project_details(project):
    """Edit what the app's consent screen shows, and the project's texts in other languages."""
    stored = _values(project.id)
    details = ProjectDetailsForm(prefix="d", data={k: stored.get(k, "") for k in DETAILS})
    words = ProjectTranslationForm(prefix="t", meta={"csrf": False})  # one token: the details form's
    if request.method == "GET":
        fill(words, stored.get("translations"), PROJECT_TEXTS)
    elif details.validate_on_submit() & words.validate():
        values = {k: getattr(details, k).data or "" for k in DETAILS}
        projects.update_project(project.id, current_user._get_current_object(), **values)
        _set_translations("project", project.id, words, PROJECT_TEXTS)
        return saved(
            "Saved. Phones get the change the next time they sync.", "staff.project_details", project_id=project.id
        )
    return form_page("staff/project_details.html", project=project, details=details, words=words, languages=LANGUAGES)


@project_page(
    "/projects/<project_id>/statements/<statement_id>/translations", methods=["GET", "POST"], find=_statement_or_404
)
def statement_translations(project, statement):
    """Enter a statement's text and easy-read text in other languages."""
    form = StatementTranslationForm()
    if request.method == "GET":
        fill(form, _values(statement.id).get("translations"), STATEMENT_TEXTS)
    elif form.validate_on_submit():
        _set_translations("statement", statement.id, form, STATEMENT_TEXTS)
        return saved(
            "Translations saved. Phones get them the next time they sync.", "staff.statements", project_id=project.id
        )
    return form_page(
        "staff/statement_translations.html", project=project, statement=statement, form=form, languages=LANGUAGES
    )
