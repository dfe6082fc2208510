"""The public home page: what WithUs is, and the ways in."""

from flask import Blueprint, render_template

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """Show what WithUs is and where families and staff go next."""
    return render_template("home.html")
