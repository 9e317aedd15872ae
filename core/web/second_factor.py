"""The second factor's pages: the code after the password, enrolment, and My account's changes.

After a correct password a user with a second factor (or who must set one up) is *half signed
in*: ``session["mfa"]`` holds their id, where to go next and since when; Flask-Login knows
nothing of them yet. Every page but these (and signing out, the language switch, static files,
health checks) then leads back to the code or the enrolment page, for at most ``HALF_MINUTES``.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from markupsafe import Markup

from core.access import public, roles_required
from core.extensions import db
from core.models import ALL_ROLES, User
from core.services import accounts, second_factor
from core.services.errors import NotFound, ValidationFailed
from core.tenancy import all_institutions
from core.web.forms import SecondFactorCodeForm, attach_errors
from core.web.rendering import render

bp = Blueprint("second_factor", __name__)

HALF_MINUTES = 10
SESSION_KEY = "mfa"
# What a half signed-in user may still open.
ALLOWED_ENDPOINTS = frozenset({"static", "second_factor.code", "second_factor.enrol", "auth.logout",
                               "home.set_language", "operability.healthz", "operability.readyz"})


def wanted(user: User) -> bool:
    """True when ``user``'s sign-in needs a code or an enrolment after the password."""
    return second_factor.enrolled(user) or second_factor.must_enrol(user)


def start(user: User, target: str, *, flash_message: bool = False):
    """Make the session half signed in for ``user`` and send them to the code or enrolment page."""
    chosen_language = session.get("lang")
    session.clear()
    if chosen_language:
        session["lang"] = chosen_language
    mode = "code" if second_factor.enrolled(user) else "enrol"
    session[SESSION_KEY] = {"user": user.id, "next": target, "mode": mode,
                            "at": datetime.now(timezone.utc).timestamp()}
    if flash_message and mode == "enrol":
        flash(_("Your account needs a second factor. Set it up to continue."), "warning")
    return redirect(url_for("second_factor.code" if mode == "code" else "second_factor.enrol"))


def _pending() -> dict | None:
    state = session.get(SESSION_KEY)
    if not isinstance(state, dict):
        return None
    if datetime.now(timezone.utc).timestamp() - state.get("at", 0) > HALF_MINUTES * 60:
        session.pop(SESSION_KEY, None)
        return None
    return state


def _pending_user(state: dict) -> User | None:
    with all_institutions("the half signed-in user is loaded before the tenant is known"):
        user = db.session.get(User, state["user"])
    return user if user is not None and user.active else None


def guard():
    """``before_request``: a half signed-in session only reaches the second factor's pages; a
    signed-in user who must now set one up (an admin's reset, a new rule) is sent to enrolment."""
    if request.endpoint in ALLOWED_ENDPOINTS or (request.blueprint or "") == "api":
        return None
    if current_user.is_authenticated:
        if second_factor.must_enrol(current_user):
            user = current_user._get_current_object()
            logout_user()
            return start(user, request.full_path if request.method == "GET" else url_for("home.index"),
                         flash_message=True)
        return None
    state = session.get(SESSION_KEY)
    if state is None:
        return None
    if _pending() is None:
        flash(_("Signing in took too long. Please sign in again."), "warning")
        return redirect(url_for("auth.login"))
    return redirect(url_for("second_factor.code" if state.get("mode") == "code" else "second_factor.enrol"))


def _expired():
    flash(_("Signing in took too long. Please sign in again."), "warning")
    return redirect(url_for("auth.login"))


def _pending_in(mode: str):
    """(sign-in state, user) of a half signed-in session at ``mode`` ("code" or "enrol"), or None."""
    state = _pending()
    user = _pending_user(state) if state else None
    return (state, user) if user is not None and state.get("mode") == mode else None


def reset_for(user_id: int, back: str):
    """An admin's or the operator's reset of a user's second factor, then back to ``back`` (an
    endpoint) with what happened; another tenant's or a refused user is a 404 or a message."""
    try:
        user = second_factor.reset(user_id=user_id, by=current_user)
    except NotFound:
        abort(404)
    except ValidationFailed as failed:
        flash(" ".join(str(m) for m in failed.errors.values()), "error")
        return redirect(url_for(back))
    flash(_("The second factor of %(name)s is reset: they set it up again at their next sign-in. We sent them a mail.",
            name=user.name), "success")
    return redirect(url_for(back))


@bp.route("/login/code", methods=["GET", "POST"])
@public
def code():
    """The second step of signing in: the 6-digit code of the app, or a recovery code."""
    from core.web.auth import sign_in_session

    pending = _pending_in("code")
    if pending is None:
        return _expired()
    state, user = pending
    form = SecondFactorCodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            kind = second_factor.verify(user, form.code.data, request.remote_addr or "unknown")
        except second_factor.CodeRefused as refused:
            status = 429 if refused.reason == "throttled" else 401
            form.code.errors = [*form.code.errors, second_factor.refusal_message(refused)]
        else:
            accounts.finish_sign_in(user, {"second_factor": kind})
            db.session.commit()
            sign_in_session(user)  # a fresh session: flash only after it
            if kind == "recovery":
                flash(_("You used a recovery code; %(n)d are left. Make new ones on My account if you run short.",
                        n=second_factor.recovery_codes_left(user)), "warning")
            return redirect(state["next"])
    elif request.method == "POST":
        status = 422
    return render("auth/second_factor_code.html", form=form, status=status)


def _enrolment_secret(state: dict) -> str:
    """The secret being set up, kept encrypted in the session until a code confirms it."""
    if not state.get("secret"):
        state["secret"] = second_factor.seal(second_factor.new_secret())
        session[SESSION_KEY] = state
    return second_factor.unseal(state["secret"])


def _enrolment_page(user: User, secret: str, form, action: str, status: int = 200):
    uri = second_factor.provisioning_uri(user, secret)
    return render("auth/second_factor_enrol.html", form=form, secret=secret, action=action,
                  qr=Markup(second_factor.qr_svg(uri)), uri=uri, status=status)


def _codes_page(codes: list[str], target: str, status: int = 200):
    return render("auth/recovery_codes.html", codes=codes, target=target, status=status)


@bp.route("/login/enrol", methods=["GET", "POST"])
@public
def enrol():
    """Setting up the second factor during sign-in (required roles, or after an admin's reset)."""
    from core.web.auth import sign_in_session

    pending = _pending_in("enrol")
    if pending is None:
        return _expired()
    state, user = pending
    secret = _enrolment_secret(state)
    form = SecondFactorCodeForm()
    if form.validate_on_submit():
        try:
            codes = second_factor.confirm_enrolment(user, secret, form.code.data)
        except ValidationFailed as failed:
            attach_errors(form, failed.errors)
            return _enrolment_page(user, secret, form, url_for("second_factor.enrol"), 422)
        accounts.finish_sign_in(user, {"second_factor": "enrolled"})
        db.session.commit()
        sign_in_session(user)
        return _codes_page(codes, state["next"])
    return _enrolment_page(user, secret, form, url_for("second_factor.enrol"),
                           422 if request.method == "POST" else 200)


# --- My account ----------------------------------------------------------------------------

ACCOUNT_SECRET_KEY = "mfa_setup"


@bp.route("/account/second-factor", methods=["GET", "POST"])
@roles_required(*ALL_ROLES)
def account_enrol():
    """Setting up (optional roles) the second factor from My account."""
    if second_factor.enrolled(current_user):
        return redirect(url_for("account.index"))
    if not session.get(ACCOUNT_SECRET_KEY):
        session[ACCOUNT_SECRET_KEY] = second_factor.seal(second_factor.new_secret())
    secret = second_factor.unseal(session[ACCOUNT_SECRET_KEY])
    form = SecondFactorCodeForm()
    if form.validate_on_submit():
        try:
            codes = second_factor.confirm_enrolment(current_user, secret, form.code.data)
        except ValidationFailed as failed:
            attach_errors(form, failed.errors)
            return _enrolment_page(current_user, secret, form, url_for("second_factor.account_enrol"), 422)
        session.pop(ACCOUNT_SECRET_KEY, None)
        return _codes_page(codes, url_for("account.index"))
    return _enrolment_page(current_user, secret, form, url_for("second_factor.account_enrol"),
                           422 if request.method == "POST" else 200)


def _account_change(apply):
    """Check the current code typed on My account, then ``apply()``; the account page with the
    error otherwise (nothing changed)."""
    from core.web.account import _page

    form = SecondFactorCodeForm()
    if not second_factor.enrolled(current_user):
        abort(404)
    if not form.validate_on_submit():
        return None, _page(second_factor_form=form, status=422)
    try:
        second_factor.check_current_code(current_user, form.code.data, request.remote_addr or "unknown")
        return apply(), None
    except ValidationFailed as failed:
        attach_errors(form, failed.errors)
        return None, _page(second_factor_form=form, status=422)


@bp.route("/account/second-factor/recovery-codes", methods=["POST"])
@roles_required(*ALL_ROLES)
def new_recovery_codes():
    codes, refused = _account_change(lambda: second_factor.regenerate_recovery_codes(current_user))
    if refused is not None:
        return refused
    return _codes_page(codes, url_for("account.index"))


@bp.route("/account/second-factor/disable", methods=["POST"])
@roles_required(*ALL_ROLES)
def disable():
    if not second_factor.may_disable(current_user):
        abort(403)
    _done, refused = _account_change(lambda: second_factor.disable(current_user))
    if refused is not None:
        return refused
    flash(_("The second factor is switched off. We sent you a mail about it."), "success")
    return redirect(url_for("account.index"), 303)


__all__ = ["bp", "guard", "start", "wanted"]
