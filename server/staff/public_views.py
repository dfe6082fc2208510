"""The coordinator's settings for the project's public "You said, we did" page."""

from __future__ import annotations

import re

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from server.auth.models import utcnow
from server.extensions import db
from server.public.models import PublicPage
from server.staff.access import project_page
from server.staff.forms import stripped
from server.staff.models import audit


def _lower(value):
    return value.strip().lower() if isinstance(value, str) else value


class PublicPageForm(FlaskForm):
    slug = StringField(
        "Web address of the page",
        filters=[_lower],
        validators=[
            DataRequired("Enter the web address, for example short-breaks."),
            Length(min=3, max=60, message="The web address must be 3 to 60 characters."),
            Regexp(
                re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$"),
                message="Use only small letters, numbers and single hyphens, for example short-breaks.",
            ),
        ],
    )
    intro = TextAreaField(
        "A few words at the top of the page (optional)",
        filters=[stripped],
        validators=[Length(max=2000, message="The words at the top must be 2,000 characters or fewer.")],
    )
    published = BooleanField("Show this page to the public")

    def __init__(self, *args, project_id: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.project_id = project_id

    def validate_slug(self, field):
        taken = db.session.execute(
            select(PublicPage.project_id).where(PublicPage.slug == field.data, PublicPage.project_id != self.project_id)
        ).first()
        if taken:
            raise ValidationError("Another project uses this web address. Choose another.")


@project_page("/projects/<project_id>/public", methods=["GET", "POST"])
def public_page(project):
    """Set the public page's address and words, and turn it on or off."""
    current = db.session.get(PublicPage, project.id)
    form = PublicPageForm(obj=current, project_id=project.id)
    if form.validate_on_submit():
        if current is None:
            current = PublicPage(project_id=project.id)
            db.session.add(current)
        form.populate_obj(current)
        current.updated_at = utcnow()
        audit("public_page", "project", project.id, published=current.published, slug=current.slug)
        db.session.commit()
        flash("The public page is on." if current.published else "Saved. The public page is off.")
        return redirect(url_for("staff.public_page", project_id=project.id))
    status = 400 if request.method == "POST" else 200
    return render_template("staff/public_page.html", project=project, form=form, page=current), status
