"""Signing in and out, and accepting an invitation."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from core.extensions import db
from core.services import accounts, user_sessions
from core.services.errors import NotFound, ValidationFailed
from core.access import public
from core.web import SESSION_KEY
from core.web.forms import SetPasswordForm, SignInForm
from core.web.rendering import render

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only redirect to a path on this site (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = SignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data,
                                         request.remote_addr or "unknown", finish=False)
        except accounts.SignInRefused as refused:
            status = 429 if refused.reason == "throttled" else 401
            if refused.reason == "throttled":
                form.form_errors.append(ngettext("Too many failed attempts. Try again in %(num)d minute.",
                                                 "Too many failed attempts. Try again in %(num)d minutes.",
                                                 refused.retry_minutes))
            else:
                form.form_errors.append(_("That email and password do not match an active account."))
        else:
            from core.web import second_factor as second_factor_web

            if second_factor_web.wanted(user):
                return second_factor_web.start(user, _safe_next(form.next.data))
            accounts.finish_sign_in(user)
            db.session.commit()
            return complete_sign_in(user, _safe_next(form.next.data))
    elif request.method == "POST":
        status = 422
    return render("auth/login.html", form=form, status=status)


def _fresh_session() -> None:
    """A new session (nothing of the one before sign-in survives but the chosen language)."""
    chosen_language = session.get("lang")
    session.clear()
    if chosen_language:
        session["lang"] = chosen_language


def sign_in_session(user) -> None:
    """Sign ``user`` in with Flask-Login in a fresh session, backed by a new server-side session
    record (the one this browser had before is revoked)."""
    user_sessions.revoke_token(session.get(SESSION_KEY), "replaced")
    _fresh_session()
    session.permanent = True
    session[SESSION_KEY] = user_sessions.start(user, ip=request.remote_addr,
                                               user_agent=request.headers.get("User-Agent"))
    login_user(user)


def complete_sign_in(user, target: str):
    """Sign ``user`` in (a fresh session) and send them to ``target``."""
    sign_in_session(user)
    return redirect(target)


@bp.route("/logout", methods=["POST"])
@public
def logout():
    user_sessions.revoke_token(session.get(SESSION_KEY))  # a copy of the cookie stops working too
    logout_user()
    _fresh_session()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


def set_password_from(form: SetPasswordForm, apply) -> int | None:
    """Validate ``form`` and call ``apply(password)``: None once the password is set, else the
    status to answer with the form (200 at first sight, 422 with the field's error and what was
    typed). ``apply``'s own refusals other than ``ValidationFailed`` reach the caller."""
    if not form.validate_on_submit():
        return 422 if request.method == "POST" else 200
    try:
        apply(form.password.data)
    except ValidationFailed as failed:
        form.password.errors = [*form.password.errors, failed.errors.get("password", "")]
        return 422
    return None


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
def invitation(token: str):
    user = accounts.find_invitation(token)
    if user is None:
        abort(404)
    form = SetPasswordForm()
    try:
        status = set_password_from(form, lambda password: accounts.accept_invitation(token, password))
    except NotFound:
        abort(404)
    if status is None:
        flash(_("Your password is set. You can sign in now."), "success")
        return redirect(url_for("auth.login"))
    return render("auth/invitation.html", form=form, invited=user, status=status)


__all__ = ["bp", "current_user"]
