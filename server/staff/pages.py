"""How every staff form page ends: saved (commit, say so, go on) or shown again.

One place for post/redirect/get, so each view says only what it saves and where to next.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from server.extensions import db


def saved(message: str, endpoint: str, **values):
    """Commit the change, tell the person what happened, and send them to the next page."""
    db.session.commit()
    flash(message)
    return redirect(url_for(endpoint, **values))


def form_page(template: str, **context):
    """A form page: 200 when it is asked for, 400 when a post comes back with its errors."""
    return render_template(template, **context), 400 if request.method == "POST" else 200
