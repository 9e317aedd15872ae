"""The institution admin's settings page: the figures and switches its plugin declares."""
from __future__ import annotations

from flask import Blueprint, flash
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from core.models import ROLE_ADMIN
from core.services import plugin_settings
from core.services.errors import ValidationFailed
from core.web.access import roles_required
from core.web.rendering import render

bp = Blueprint("settings", __name__, url_prefix="/admin/settings")


def settings_form(values: dict | None = None, formdata=None) -> FlaskForm:
    """A form with one field per declared setting, labelled in the current language.

    Numbers are text fields so that what was typed is kept and parsed by the declaration.
    """
    language = str(get_locale() or "en")

    class SettingsForm(FlaskForm):
        pass

    for setting in plugin_settings.declared():
        label, help_text = setting.label(language), setting.help_text(language)
        if setting.type == "bool":
            field = BooleanField(label, description=help_text)
        elif setting.type == "choice":
            field = SelectField(label, description=help_text, validate_choice=False, choices=[
                SelectChoice(choice, setting.choice_label(choice, language)) for choice in setting.choices])
        else:
            field = StringField(label, description=help_text)
        setattr(SettingsForm, setting.key, field)
    if formdata is not None:
        return SettingsForm(formdata=formdata)
    shown = {key: (str(value) if not isinstance(value, bool) else value) for key, value in (values or {}).items()}
    return SettingsForm(formdata=None, data=shown)


@bp.route("", methods=["GET"])
@roles_required(ROLE_ADMIN)
def edit():
    return render("admin/settings.html", form=settings_form(plugin_settings.effective()),
                  products=plugin_settings.products(), language=str(get_locale() or "en"))


@bp.route("", methods=["POST"])
@roles_required(ROLE_ADMIN)
def save():
    from flask import request

    form = settings_form(formdata=request.form)
    status = 422
    if form.validate_on_submit():
        raw = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
        try:
            plugin_settings.save(raw)
        except ValidationFailed as failed:
            for key, message in failed.errors.items():
                field = form._fields.get(key) if key else None
                if field is not None:
                    field.errors = [*field.errors, message]
                else:
                    form.form_errors.append(message)
        else:
            flash(_("Settings saved."), "success")
            form, status = settings_form(plugin_settings.effective()), 200
    return render("admin/settings.html", form=form, products=plugin_settings.products(), status=status,
                  language=str(get_locale() or "en"))
