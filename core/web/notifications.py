"""My notifications: the list behind the bell, opening one (it becomes read), and preferences."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from core.access import roles_required
from core.models import INSTITUTION_ROLES, ROLES
from core.models.notifications import MODE_DIGEST, MODE_IMMEDIATELY, MODE_OFF
from core.services import notifications as service
from core.services.errors import NotFound, ValidationFailed
from core.web.forms import attach_errors
from core.web.rendering import render

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

MODE_CHOICES = [SelectChoice(MODE_IMMEDIATELY, _l("Immediately, by mail")),
                SelectChoice(MODE_DIGEST, _l("In the daily digest mail")),
                SelectChoice(MODE_OFF, _l("Off"))]


@bp.app_context_processor
def bell_context() -> dict:
    """The unread count for the bell in the header (0 for visitors)."""
    if not current_user.is_authenticated:
        return {"unread_notifications": 0}
    return {"unread_notifications": service.unread_count(current_user.id)}


@bp.route("")
@roles_required(*ROLES)
def index():
    return render("notifications/index.html", items=service.for_user(current_user.id), text=service.text)


@bp.route("/<int:notification_id>")
@roles_required(*ROLES)
def open_one(notification_id: int):
    """Open a notification: it becomes read, and the page it is about opens."""
    try:
        found = service.open_notification(notification_id, current_user.id)
    except NotFound:
        abort(404)
    return redirect(found.link, 303)


@bp.route("/read", methods=["POST"])
@roles_required(*ROLES)
def read_all():
    service.mark_all_read(current_user.id)
    flash(_("Every notification is marked as read."), "success")
    return redirect(url_for("notifications.index"), 303)


def _form(formdata=None, values=None):
    kinds = service.kinds_for(current_user.role)

    class PreferencesForm(FlaskForm):
        pass

    for kind in kinds:
        setattr(PreferencesForm, kind, SelectField(service.KINDS[kind].label, choices=MODE_CHOICES,
                                                   validate_choice=False, default=(values or {}).get(kind)))
    return PreferencesForm(formdata=formdata)


@bp.route("/preferences", methods=["GET", "POST"])
@roles_required(*INSTITUTION_ROLES)
def preferences():
    if request.method == "GET":
        return render("notifications/preferences.html", form=_form(values=service.preferences(current_user)))
    form = _form(formdata=request.form)
    if not form.validate_on_submit():
        return render("notifications/preferences.html", form=form, status=422)
    try:
        service.save_preferences(current_user, {kind: form[kind].data for kind in service.kinds_for(current_user.role)})
    except ValidationFailed as failed:
        attach_errors(form, failed.errors)
        return render("notifications/preferences.html", form=form, status=422)
    flash(_("Your notification preferences are saved."), "success")
    return redirect(url_for("notifications.preferences"), 303)
