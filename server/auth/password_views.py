"""Passwords: "Forgot your password?", one-time links to set one, and changing it."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash

from server.auth import bp, links, two_step
from server.auth.audit_trail import audit
from server.auth.forms import ChangePasswordForm, ForgotPasswordForm, NewPasswordForm
from server.auth.models import User
from server.auth.sessions import end_sessions_and_devices
from server.extensions import db, limiter
from server.mail import send_mail

RESET_SENT = (
    "If that address belongs to a staff account, we have sent it a link to set a new password. "
    "The link works once, for 1 hour."
)


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit("5 per minute; 20 per hour", methods=["POST"])
def forgot_password():
    """Send a reset link; say the same thing whether or not the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = db.session.execute(
            select(User).where(User.email == User.normalise_email(form.email.data))
        ).scalar_one_or_none()
        if user is not None and user.active:
            token = links.issue_link(user, links.RESET)
            db.session.commit()
            send_mail(
                user.email,
                "Set a new WithUs password",
                f"Hello {user.name},\n\nSomeone asked to set a new password for your WithUs account.\n"
                f"To choose one, open this link within 1 hour (it works once):\n\n{links.link_url(token)}\n\n"
                "If this was not you, you can ignore this message: your password has not changed.\n",
            )
        flash(RESET_SENT)
        return redirect(url_for("auth.sign_in"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/forgot_password.html", form=form), status


@bp.route("/set-password", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def set_password():
    """Choose a password through a one-time link (an invitation or a reset)."""
    link, problem = links.find_link(request.args.get("token", ""))
    if link is None:
        return render_template("auth/link_problem.html", problem=problem), 410 if problem != links.UNKNOWN else 404
    user = db.session.get(User, link.user_id)
    form = NewPasswordForm()
    if form.validate_on_submit():
        links.use_link(link)
        user.set_password(form.password.data)
        end_sessions_and_devices(user)
        audit("password_set", "user", user.id, by=link.purpose)
        db.session.commit()
        logout_user()
        flash("Your password is set. Sign in with it now.")
        return redirect(url_for("auth.sign_in"))
    status = 400 if request.method == "POST" else 200
    invited = link.purpose == links.INVITE
    return render_template("auth/set_password.html", form=form, user=user, invited=invited), status


@bp.get("/account")
@login_required
def account():
    """Show your own account: your password and two-step sign-in."""
    return _render_account(ChangePasswordForm())


def _render_account(form, status=200):
    user = current_user._get_current_object()
    return render_template(
        "auth/account.html",
        form=form,
        two_step_on=bool(user.totp_secret),
        two_step_required=two_step.required_for(user),
        idle_hours=int(current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() // 3600),
    ), status


@bp.post("/account/password")
@login_required
@limiter.limit("10 per minute")
def change_password():
    """Change your password; every session and device of yours then signs in again."""
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        if check_password_hash(user.password_hash, form.current.data or ""):
            user.set_password(form.password.data)
            end_sessions_and_devices(user)
            audit("password_set", "user", user.id, by="self")
            db.session.commit()
            logout_user()
            flash("Your password has changed. Sign in with the new one.")
            return redirect(url_for("auth.sign_in"))
        form.current.errors.append("That is not your password now.")
    return _render_account(form, 400)
