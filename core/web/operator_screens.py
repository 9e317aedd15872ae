"""The operator's screens: institutions (enable, disable), referrer organisations, their API tokens,
webhook and portal users. Every action goes through the same services as ``microfin referrers …``
and is written to the audit trail (Referrer and ApiToken rows are ``Audited``; the rest is recorded).
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import get_locale, gettext as _

from core.access import roles_required
from core.models import ROLE_OPERATOR
from core.services import institutions, referrers, webhooks
from core.models.types import utcnow
from core.services.errors import NotFound, ValidationFailed
from core.web.forms import attach_errors
from core.web.forms_operator import ConfirmForm, ReferrerForm, TokenForm, WebhookForm
from core.web.rendering import render

bp = Blueprint("operator_screens", __name__, url_prefix="/operator")


def _no_store(response):
    """Pages that show a secret once must not be kept by the browser or a proxy."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _institution(institution_id: int):
    try:
        return institutions.by_id(institution_id)
    except NotFound:
        abort(404)


def _referrer(referrer_id: int):
    try:
        return referrers.by_id(referrer_id)
    except NotFound:
        abort(404)


# --- institutions -----------------------------------------------------------------------------

@bp.route("/institutions")
@roles_required(ROLE_OPERATOR)
def institution_list():
    rows = institutions.all_rows()
    return render("operator/institutions.html", rows=rows,
                  plugin={row.id: institutions.plugin_enabled(row) for row in rows})


@bp.route("/institutions/<int:institution_id>/disable", methods=["GET", "POST"])
@roles_required(ROLE_OPERATOR)
def institution_disable(institution_id: int):
    """A confirmation page (GET) that says what disabling does; the POST disables."""
    return _switch(institution_id, "disable")


@bp.route("/institutions/<int:institution_id>/enable", methods=["GET", "POST"])
@roles_required(ROLE_OPERATOR)
def institution_enable(institution_id: int):
    """A confirmation page (GET) that says what enabling does; the POST enables."""
    return _switch(institution_id, "enable")


def _switch(institution_id: int, action: str):
    institution = _institution(institution_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            institutions.set_enabled(institution.id, action == "enable")
        except ValidationFailed as failed:
            attach_errors(form, failed.errors)
        else:
            name = institution.name(str(get_locale()))
            flash(_("%(name)s is enabled again: its staff can sign in and it receives referrals.", name=name)
                  if action == "enable" else
                  _("%(name)s is disabled: its staff cannot sign in and it receives no new referrals. "
                    "Nothing was deleted.", name=name), "success")
            return redirect(url_for("operator_screens.institution_list"))
    return render("operator/institution_confirm.html", institution=institution, action=action, form=form,
                  plugin_enabled=institutions.plugin_enabled(institution),
                  status=422 if form.errors or form.form_errors else 200)


# --- referrer organisations -------------------------------------------------------------------

@bp.route("/referrers", methods=["GET", "POST"])
@roles_required(ROLE_OPERATOR)
def referrer_list():
    form = ReferrerForm()
    if form.validate_on_submit():
        try:
            issued = referrers.add_referrer(name=form.name.data, kind=form.kind.data,
                                            expires_on=form.expires_on.data)
        except ValidationFailed as failed:
            attach_errors(form, failed.errors)
        else:
            return _no_store(render("operator/secret_shown.html", referrer=issued.referrer,
                                    token=issued.token, secret=issued.secret, what="token", status=201))
    return render("operator/referrers.html", referrers=referrers.all_referrers(), form=form,
                  status=422 if form.is_submitted() else 200)


@bp.route("/referrers/<int:referrer_id>")
@roles_required(ROLE_OPERATOR)
def referrer_show(referrer_id: int):
    return _show(_referrer(referrer_id), WebhookForm())


def _show(referrer, webhook_form, status: int = 200, token_form=None):
    return render("operator/referrer.html", referrer=referrer, tokens=referrers.tokens_of(referrer),
                  messages=webhooks.recent_messages(referrer), users=referrers.portal_users(referrer),
                  webhook_form=webhook_form, token_form=token_form or TokenForm(formdata=None),
                  confirm=ConfirmForm(formdata=None), now=utcnow(), status=status)


@bp.route("/referrers/<int:referrer_id>/tokens", methods=["POST"])
@roles_required(ROLE_OPERATOR)
def token_create(referrer_id: int):
    referrer = _referrer(referrer_id)
    form = TokenForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        issued = referrers.issue_token_for(referrer, form.expires_on.data)
    except ValidationFailed as failed:
        attach_errors(form, failed.errors)
        return _show(referrer, WebhookForm(formdata=None), status=422, token_form=form)
    return _no_store(render("operator/secret_shown.html", referrer=referrer, token=issued.token,
                            secret=issued.secret, what="token", status=201))


@bp.route("/referrers/<int:referrer_id>/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@roles_required(ROLE_OPERATOR)
def token_revoke(referrer_id: int, token_id: int):
    referrer = _referrer(referrer_id)
    try:
        token = referrers.token_of(referrer, token_id)
    except NotFound:
        abort(404)
    form = ConfirmForm()
    if token.revoked_at is None and form.validate_on_submit():
        referrers.revoke_token_of(referrer, token.id)
        flash(_("The token %(hint)s… is revoked: API calls with it are refused from now on.", hint=token.hint),
              "success")
        return redirect(url_for("operator_screens.referrer_show", referrer_id=referrer.id))
    return render("operator/token_revoke.html", referrer=referrer, token=token, form=form)


@bp.route("/referrers/<int:referrer_id>/webhook", methods=["POST"])
@roles_required(ROLE_OPERATOR)
def webhook_set(referrer_id: int):
    referrer = _referrer(referrer_id)
    form = WebhookForm()
    if form.validate_on_submit():
        secret = referrers.new_webhook_secret()
        errors = {}
        if not (form.webhook_url.data or "").strip():
            errors["webhook_url"] = _("Enter the webhook's URL.")
        else:
            try:
                referrers.set_webhook_of(referrer, form.webhook_url.data, secret)
            except ValidationFailed as failed:
                errors = failed.errors
        if not errors:
            return _no_store(render("operator/secret_shown.html", referrer=referrer, token=None,
                                    secret=secret, what="webhook", status=201))
        attach_errors(form, errors)
    return _show(referrer, form, status=422)


@bp.route("/referrers/<int:referrer_id>/webhook/remove", methods=["POST"])
@roles_required(ROLE_OPERATOR)
def webhook_remove(referrer_id: int):
    referrer = _referrer(referrer_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if referrer.webhook_url:
        referrers.set_webhook_of(referrer, None, None)
        flash(_("The webhook is removed: this referrer gets no more status messages."), "success")
    return redirect(url_for("operator_screens.referrer_show", referrer_id=referrer.id))


@bp.route("/referrers/<int:referrer_id>/webhook/test", methods=["POST"])
@roles_required(ROLE_OPERATOR)
def webhook_test(referrer_id: int):
    referrer = _referrer(referrer_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        webhooks.enqueue_test(referrer)
    except ValidationFailed as failed:
        flash(" ".join(str(m) for m in failed.errors.values()), "error")
    else:
        flash(_("A test message is queued; the worker delivers it within seconds. "
                "Reload this page to see the result below."), "success")
    return redirect(url_for("operator_screens.referrer_show", referrer_id=referrer.id) + "#deliveries")
