"""Forms built from a plugin's declarations (``Setting``, ``ClientField``): one field each.

Numbers and text are text inputs, so what was typed is kept and the declaration parses it (its
error then goes next to the field); booleans are checkboxes; choices are selects.
"""
from __future__ import annotations

from typing import Any, Iterable

from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice


def current_language() -> str:
    return str(get_locale() or "en")


def _field(declaration, language: str):
    label = declaration.label(language)
    help_text = getattr(declaration, "help_text", lambda _language: "")(language)
    if declaration.type == "bool":
        return BooleanField(label, description=help_text)
    if declaration.type == "choice":
        return SelectField(label, description=help_text, validate_choice=False, choices=[
            SelectChoice(choice, declaration.choice_label(choice, language)) for choice in declaration.choices])
    return StringField(label, description=help_text)


def form_for(declarations: Iterable, values: dict[str, Any] | None = None, formdata=None,
             prefix: str = "") -> FlaskForm:
    """A Flask-WTF form (with CSRF) for ``declarations``: filled from ``formdata`` when given
    (a POST), else showing ``values`` (typed values, e.g. the effective settings)."""
    language = current_language()

    class DeclaredForm(FlaskForm):
        pass

    for declaration in declarations:
        setattr(DeclaredForm, declaration.key, _field(declaration, language))
    if formdata is not None:
        return DeclaredForm(formdata=formdata, prefix=prefix)
    shown = {key: value if isinstance(value, bool) or value is None else str(value)
             for key, value in (values or {}).items()}
    return DeclaredForm(formdata=None, data=shown, prefix=prefix)


def raw_values(form: FlaskForm) -> dict[str, Any]:
    """What the user entered, by declaration key (without the CSRF token)."""
    return {name: field.data for name, field in form._fields.items() if name != "csrf_token"}


def declared_fields(form: FlaskForm) -> list:
    """The fields of a declared form, without its CSRF token (for templates)."""
    return [field for name, field in form._fields.items() if name != "csrf_token"]

