"""The public home page: what WithUs is, and the ways in."""

from flask import Blueprint, render_template, send_file

from server.pwa import PWA_DIR

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """Show what WithUs is and where families and staff go next."""
    return render_template("home.html")


@bp.get("/favicon.ico")
def favicon():
    """Serve the app's icon where browsers look for a site icon on every page."""
    # Browsers accept a PNG here; the 192 px icon stays sharp on high-density tabs.
    return send_file(PWA_DIR / "icons" / "icon-192.png", mimetype="image/png", max_age=86400)
