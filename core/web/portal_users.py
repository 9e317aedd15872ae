"""The operator's portal users: advisers of referrer organisations (list, invite, disable)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.access import roles_required
from core.models import ROLE_OPERATOR
from core.services import accounts, referrers
from core.services.errors import NotFound, ValidationFailed
from core.web.forms import attach_errors
from core.web.forms_portal import PortalInviteForm
from core.web.rendering import render

bp = Blueprint("portal_users", __name__, url_prefix="/operator/portal-users")


def _form(formdata=None) -> PortalInviteForm:
    form = PortalInviteForm(formdata=formdata) if formdata is not None else PortalInviteForm()
    form.referrer_id.choices = [("", "—")] + [(str(r.id), r.name) for r in referrers.all_referrers()
                                              if r.active and r.kind != "self"]
    return form


def _page(form, *, link=None, status=200):
    return render("operator/portal_users.html", users=accounts.portal_users(), form=form,
                  invitation_link=link, status=status)


@bp.route("/")
@roles_required(ROLE_OPERATOR)
def index():
    return _page(_form())


@bp.route("/invite", methods=["POST"])
@roles_required(ROLE_OPERATOR)
def invite():
    """Invite an adviser: the invitation mail goes out, the link is shown once."""
    form = _form()
    if form.validate_on_submit():
        raw = form.referrer_id.data or ""
        try:
            invitation = accounts.invite_portal_user(
                operator=current_user, referrer_id=int(raw) if raw.isdigit() else None,
                email=form.email.data or "", name=form.name.data or "",
                preferred_language=form.preferred_language.data)
        except ValidationFailed as failed:
            attach_errors(form, {("referrer_id" if k == "referrer" else k): v for k, v in failed.errors.items()})
        else:
            flash(_("Invitation created for %(email)s.", email=invitation.user.email), "success")
            return _page(_form(formdata={}), link=url_for("auth.invitation", token=invitation.token,
                                                          _external=True), status=201)
    return _page(form, status=422)


@bp.route("/<int(max=2147483647):user_id>/active", methods=["POST"])
@roles_required(ROLE_OPERATOR)
def set_active(user_id: int):
    active = request.form.get("active") == "1"
    try:
        user = accounts.set_portal_user_active(user_id=user_id, active=active)
    except NotFound:
        abort(404)
    flash(_("%(name)s can sign in again.", name=user.name) if active
          else _("%(name)s can no longer sign in.", name=user.name), "success")
    return redirect(url_for("portal_users.index"))
