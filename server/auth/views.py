"""Sign-in and sign-out pages for staff."""

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user

from server.auth import bp
from server.auth.forms import SignInForm
from server.auth.models import User
from server.auth.sessions import end_sessions, session_is_current
from server.auth.two_step_views import begin_sign_in
from server.extensions import db, limiter, login_manager
from server.limits import account_key, failed_sign_in


@login_manager.user_loader
def load_user(user_id: str):
    # A deactivated account, or one signed out elsewhere, loses its live sessions at once.
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or not session_is_current(user):
        return None
    return user


def _safe_next(target: str | None) -> str:
    # Only follow local paths, so a crafted link cannot bounce people elsewhere.
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("staff.index")


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
@limiter.limit("5 per minute; 20 per hour", methods=["POST"], key_func=account_key, deduct_when=failed_sign_in)
def sign_in():
    """Show the sign-in form and sign staff in."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        user = User.authenticate(form.email.data, form.password.data)
        if user is not None:
            return begin_sign_in(user, _safe_next(request.args.get("next")))
        error = "That email and password do not match an account. Check them and try again."
    status = 200 if request.method == "GET" or form.errors == {} and error is None else 400
    if error:
        status = 401
    return render_template("auth/sign_in.html", form=form, error=error), status


@bp.post("/sign-out")
@login_required
def sign_out():
    """Sign the current staff member out, here and on every other browser."""
    end_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    flash("You have signed out.")
    return redirect(url_for("home.index"))
