"""Forgotten passwords: ask for a link, open it, choose a new password."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import DataRequired

from core.access import public
from core.services import password_reset
from core.web.auth import set_password_from
from core.web.forms import SetPasswordForm
from core.web.rendering import render

bp = Blueprint("password", __name__, url_prefix="/password")


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email address."))])


REFUSALS = {
    "invalid": (404, _l("This link is not valid. Ask for a new one.")),
    "expired": (410, _l("This link has expired. Ask for a new one.")),
    "used": (410, _l("This link was already used. Ask for a new one if you still need it.")),
    "disabled": (403, _l("This account is disabled. Ask your administrator.")),
}


@bp.route("/forgot", methods=["GET", "POST"])
@public
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        password_reset.request_reset(form.email.data, request.remote_addr or "unknown")
        return render("auth/forgot_sent.html")
    return render("auth/forgot.html", form=form, status=422 if request.method == "POST" else 200)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    try:
        user = password_reset.check_token(token)
        form = SetPasswordForm()
        status = set_password_from(form, lambda password: password_reset.reset_password(token, password))
    except password_reset.ResetRefused as refused:
        status, message = REFUSALS[refused.reason]
        return render("auth/reset_refused.html", message=message, reason=refused.reason, status=status)
    if status is None:
        flash(_("Your new password is set. You can sign in now."), "success")
        return redirect(url_for("auth.login"))
    return render("auth/reset.html", form=form, user=user, status=status)
