"""My account: the e-mail address (changed once confirmed from the new address) and the password."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core.access import public, roles_required
from core.models import ROLES
from core.services import email_change, second_factor
from core.services.errors import ValidationFailed
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
                  pending=email_change.pending(current_user), hours=email_change.hours(), status=status)


@bp.route("/")
@roles_required(*ROLES)
def index():
    return _page()


@bp.route("/email", methods=["POST"])
@roles_required(*ROLES)
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
@roles_required(*ROLES)
def change_password():
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return _page(password_form=form, status=422)
    try:
        email_change.change_password(current_user, current_password=form.current_password.data,
                                     password=form.password.data)
    except ValidationFailed as failed:
        attach_errors(form, failed.errors)
        return _page(password_form=form, status=422)
    flash(_("Your password is changed. We sent you a mail about it."), "success")
    return redirect(url_for("account.index"), 303)


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
