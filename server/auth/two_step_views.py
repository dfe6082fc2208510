"""The second step of signing in, and setting up an authenticator app."""

from __future__ import annotations

import time

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from server.auth import bp, two_step
from server.auth.audit_trail import audit
from server.auth.forms import CodeForm
from server.auth.models import User
from server.auth.sessions import start_session
from server.extensions import db, limiter

PENDING = "_pending_sign_in"
PENDING_SECONDS = 600  # time allowed between the password and the code


def begin_sign_in(user: User, next_url: str):
    """After a correct password: sign in, or ask for the code, or ask to set two-step up."""
    if not user.totp_secret and not two_step.required_for(user):
        start_session(user)
        return redirect(next_url)
    session[PENDING] = {"user": user.id, "version": user.session_version, "at": int(time.time()), "next": next_url}
    if user.totp_secret:
        return redirect(url_for("auth.two_step_code"))
    session[PENDING]["secret"] = two_step.new_secret()
    return redirect(url_for("auth.two_step_setup"))


def _pending_user() -> User | None:
    pending = session.get(PENDING)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    user = db.session.get(User, pending["user"])
    if user is None or not user.active or user.session_version != pending.get("version"):
        return None
    return user


def _restart():
    session.pop(PENDING, None)
    flash("Please sign in again: that took too long, or the sign-in was not finished.")
    return redirect(url_for("auth.sign_in"))


def _pending_account() -> str:
    # Per account as well as per address: guessing one person's code from many addresses is slow too.
    return "two-step:" + str((session.get(PENDING) or {}).get("user", "none"))


@bp.route("/sign-in/code", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@limiter.limit("10 per 10 minutes", key_func=_pending_account, methods=["POST"])
def two_step_code():
    """Ask for the code from the authenticator app, then sign in."""
    user = _pending_user()
    if user is None or not user.totp_secret:
        return _restart()
    form = CodeForm()
    if form.validate_on_submit():
        if two_step.check_code(user, form.code.data):
            next_url = session[PENDING]["next"]
            start_session(user)
            db.session.commit()
            return redirect(next_url)
        db.session.rollback()
        form.code.errors.append("That code is not right. Use the code your app shows now, or a recovery code.")
    status = 400 if request.method == "POST" else 200
    return render_template("auth/two_step_code.html", form=form), status


@bp.route("/sign-in/code/setup", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def two_step_setup():
    """Set up an authenticator app during sign-in (accounts that must use two steps)."""
    user = _pending_user()
    secret = (session.get(PENDING) or {}).get("secret")
    if user is None or not secret:
        return _restart()
    form = CodeForm()
    if form.validate_on_submit():
        step = two_step.code_step(secret, form.code.data)
        if step is not None:
            codes = _enable(user, secret, step)
            start_session(user)
            db.session.commit()
            return render_template("auth/recovery_codes.html", codes=codes, next_url=url_for("staff.index"))
        form.code.errors.append("That code is not right. Check the app shows WithUs and try the code it shows now.")
    return _render_setup(user, secret, form, "auth.two_step_setup")


def _enable(user: User, secret: str, step: int) -> list[str]:
    user.totp_secret = secret
    user.totp_last_step = step
    codes = two_step.new_recovery_codes(user)
    audit("two_step_on", "user", user.id)
    return codes


def _render_setup(user: User, secret: str, form: CodeForm, endpoint: str):
    uri = two_step.setup_uri(user, secret)
    status = 400 if request.method == "POST" else 200
    return render_template(
        "auth/two_step_setup.html",
        form=form,
        qr=two_step.qr_svg(uri),
        secret=secret,
        endpoint=endpoint,
        required=two_step.required_for(user),
    ), status


@bp.route("/account/two-step", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per minute", methods=["POST"])
def account_two_step():
    """Set up two-step sign-in from the account page (a choice for most staff)."""
    user = current_user._get_current_object()
    if user.totp_secret:
        return redirect(url_for("auth.account"))
    secret = session.get("_new_totp_secret") or two_step.new_secret()
    session["_new_totp_secret"] = secret
    form = CodeForm()
    if form.validate_on_submit():
        step = two_step.code_step(secret, form.code.data)
        if step is not None:
            codes = _enable(user, secret, step)
            session.pop("_new_totp_secret", None)
            db.session.commit()
            return render_template("auth/recovery_codes.html", codes=codes, next_url=url_for("auth.account"))
        form.code.errors.append("That code is not right. Check the app shows WithUs and try the code it shows now.")
    return _render_setup(user, secret, form, "auth.account_two_step")


@bp.post("/account/two-step/off")
@login_required
def account_two_step_off():
    """Turn two-step sign-in off (not for roles that must use it)."""
    user = current_user._get_current_object()
    if two_step.required_for(user):
        abort(403)
    two_step.turn_off(user)
    audit("two_step_off", "user", user.id)
    db.session.commit()
    flash("Two-step sign-in is off. You sign in with your password only.")
    return redirect(url_for("auth.account"))
