"""The settings an institution's plugin declares: effective values, and saving an admin's edit."""
from __future__ import annotations

from typing import Any, Mapping

from flask_babel import gettext as _
from sqlalchemy import select

from core.extensions import db
from core.models import PluginSetting
from core.plugin_api import Event, Institution, LoanProduct, Setting
from core.plugins import emit, state
from core.services.errors import ValidationFailed
from core.tenancy import current_institution_id


def current_profile() -> Institution | None:
    """The plugin profile of the institution acted for (None for federation staff, or no tenant)."""
    from core.plugins import slug_for_id

    institution_id = current_institution_id()
    if not isinstance(institution_id, int) or institution_id < 0:
        return None
    return state().institution(slug_for_id(institution_id))


def declared() -> list[Setting]:
    """The settings the current institution's plugin declares."""
    profile = current_profile()
    return profile.settings() if profile else []


def _stored() -> dict[str, PluginSetting]:
    return {row.key: row for row in db.session.scalars(select(PluginSetting))}


def effective() -> dict[str, Any]:
    """Every declared setting of the current institution: the stored value, else the default.

    A stored value the declaration no longer accepts (the plugin changed) falls back to the default.
    """
    stored = _stored()
    values = {}
    for setting in declared():
        row = stored.get(setting.key)
        try:
            values[setting.key] = setting.parse(row.value) if row is not None else setting.default
        except ValueError:
            values[setting.key] = setting.default
    return values


def products() -> list[LoanProduct]:
    """The current institution's products under its effective settings."""
    profile = current_profile()
    return profile.products(effective()) if profile else []


def save(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Parse and store the admin's values for every declared setting, in one transaction.

    ``raw`` maps keys to what was typed (a missing bool is False). Raises ``ValidationFailed``
    with a message per bad field, or under "" when the products these values give are invalid
    (say, a smallest loan above the largest); nothing is written then. Returns the new values.
    """
    profile = current_profile()
    if profile is None:
        raise ValidationFailed({"": _("Only an institution's staff have settings.")})
    values, errors = {}, {}
    for setting in profile.settings():
        try:
            values[setting.key] = setting.parse(raw.get(setting.key))
        except ValueError as exc:
            errors[setting.key] = str(exc.args[0])
    if errors:
        raise ValidationFailed(errors)
    problems = [problem for product in profile.products(values) for problem in product.problems()]
    if problems:
        raise ValidationFailed({"": _("These values give invalid products: %(problems)s",
                                      problems="; ".join(problems))})
    _write(profile.settings(), values)
    emit(Event("settings.changed", current_institution_id(), {"keys": sorted(values)}))
    return values


def _write(settings: list[Setting], values: dict[str, Any]) -> None:
    stored = _stored()
    try:
        for setting in settings:
            value = setting.to_json(values[setting.key])
            row = stored.get(setting.key)
            if row is None:
                db.session.add(PluginSetting(key=setting.key, value=value))
            elif row.value != value:
                row.value = value
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
