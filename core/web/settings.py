"""The institution admin's settings page: the figures and switches its plugin declares."""
from __future__ import annotations

from flask import Blueprint, flash, request
from flask_babel import gettext as _

from core.models import ROLE_ADMIN
from core.services import plugin_settings
from core.services.errors import ValidationFailed
from core.access import roles_required
from core.web.rendering import render
from core.web.forms import attach_errors
from core.web.typed_forms import current_language, form_for, raw_values

bp = Blueprint("settings", __name__, url_prefix="/admin/settings")


def _page(form, status: int = 200):
    return render("admin/settings.html", form=form, products=plugin_settings.products(), status=status,
                  language=current_language())


@bp.route("", methods=["GET"])
@roles_required(ROLE_ADMIN)
def edit():
    return _page(form_for(plugin_settings.declared(), plugin_settings.effective()))


@bp.route("", methods=["POST"])
@roles_required(ROLE_ADMIN)
def save():
    """Save every setting at once; on any error nothing is saved and the page shows why (422)."""
    form = form_for(plugin_settings.declared(), formdata=request.form)
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        plugin_settings.save(raw_values(form))
    except ValidationFailed as failed:
        attach_errors(form, failed.errors)
        return _page(form, 422)
    flash(_("Settings saved."), "success")
    return _page(form_for(plugin_settings.declared(), plugin_settings.effective()))
