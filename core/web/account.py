"""My account: the e-mail address (changed once confirmed from the new address) and the password."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from core.access import public, roles_required
from core.models import ALL_ROLES
from core.services import email_change, second_factor, user_sessions
from core.services.errors import NotFound, ValidationFailed
from core.web.forms import EmailChangeForm, PasswordChangeForm, SecondFactorCodeForm, attach_errors
from core.web.rendering import render

bp = Blueprint("account", __name__, url_prefix="/account")

REFUSALS = {
    "invalid": (404, _l("This link is not valid.")),
    "expired": (410, _l("This link has expired. Ask for the change again on your account page.")),
    "used": (410, _l("This link was already used.")),
    "taken": (409, _l("Another account uses this address now. Ask your administrator.")),
}


def _page(email_form=None, password_form=None, second_factor_form=None, status: int = 200):
    return render("account/index.html", email_form=email_form or EmailChangeForm(formdata=None),
                  password_form=password_form or PasswordChangeForm(formdata=None),
                  second_factor_form=second_factor_form or SecondFactorCodeForm(formdata=None),
                  second_factor=second_factor,
                  pending=email_change.pending(current_user), hours=email_change.hours(),
                  sessions=user_sessions.active_for(current_user), current_session=g.user_session,
                  status=status)


@bp.route("/")
@roles_required(*ALL_ROLES)
def index():
    return _page()


@bp.route("/email", methods=["POST"])
@roles_required(*ALL_ROLES)
def change_email():
    form = EmailChangeForm()
    if not form.validate_on_submit():
        return _page(email_form=form, status=422)
    try:
        change = email_change.request_change(current_user, new_email=form.new_email.data,
                                             current_password=form.current_password.data)
    except ValidationFailed as failed:
        attach_errors(form, failed.errors)
        return _page(email_form=form, status=422)
    flash(_("We sent a link to %(email)s. Your address changes when you open it.", email=change.new_email),
          "success")
    return redirect(url_for("account.index"), 303)


@bp.route("/password", methods=["POST"])
@roles_required(*ALL_ROLES)
def change_password():
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return _page(password_form=form, status=422)
    try:
        email_change.change_password(current_user, current_password=form.current_password.data,
                                     password=form.password.data, keep_session_id=g.user_session.id)
    except ValidationFailed as failed:
        attach_errors(form, failed.errors)
        return _page(password_form=form, status=422)
    flash(_("Your password is changed. We sent you a mail about it. Your other sessions are signed out."),
          "success")
    return redirect(url_for("account.index"), 303)


@bp.route("/sessions/<int:user_session_id>/revoke", methods=["POST"])
@roles_required(*ALL_ROLES)
def revoke_session(user_session_id: int):
    """Sign out one of my sessions (another browser, a lost phone); 404 for anyone else's."""
    try:
        user_sessions.revoke_one(current_user, user_session_id)
    except NotFound:
        abort(404)
    if user_session_id == g.user_session.id:
        return _signed_out(_("You are signed out."))
    flash(_("That session is signed out."), "success")
    return redirect(url_for("account.index"), 303)


@bp.route("/sessions/revoke-all", methods=["POST"])
@roles_required(*ALL_ROLES)
def sign_out_everywhere():
    """Revoke every session of mine, this one included."""
    user_sessions.revoke_all(current_user.id, "everywhere")
    return _signed_out(_("You are signed out on every device."))


def _signed_out(message: str):
    chosen_language = session.get("lang")
    logout_user()
    session.clear()
    if chosen_language:
        session["lang"] = chosen_language
    flash(message, "info")
    return redirect(url_for("auth.login"), 303)


@bp.route("/email/confirm/<token>")
@public
def confirm_email(token: str):
    """The link of the confirmation mail (the token is the credential, signed in or not)."""
    try:
        user = email_change.confirm(token)
    except email_change.ChangeRefused as refused:
        status, message = REFUSALS[refused.reason]
        return render("account/confirm_refused.html", message=message, reason=refused.reason, status=status)
    flash(_("Your email address is now %(email)s.", email=user.email), "success")
    return redirect(url_for("account.index" if current_user.is_authenticated else "auth.login"))


__all__ = ["bp"]
