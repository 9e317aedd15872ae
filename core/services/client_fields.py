"""Values of the extra client fields the current institution's plugin declares.

Keyed by client id only; the clients feature calls ``values_of`` to show them and ``save`` from
its form (inside or after its own write), and ``clients_where`` to filter its list.
"""
from __future__ import annotations

from typing import Any, Mapping

from flask_babel import gettext as _
from sqlalchemy import select

from core.extensions import db
from core.models import ClientFieldValue
from core.plugin_api import ClientField
from core.services.errors import ValidationFailed
from core.services.plugin_settings import current_profile


def declared() -> list[ClientField]:
    """The client fields of the current institution's plugin."""
    profile = current_profile()
    return profile.client_fields() if profile else []


def values_of(client_id: int) -> dict[str, Any]:
    """The declared fields of one client (unset ones: None)."""
    fields = declared()
    rows = {row.key: row for row in db.session.scalars(
        select(ClientFieldValue).where(ClientFieldValue.client_id == client_id))}
    values = {}
    for field in fields:
        row = rows.get(field.key)
        values[field.key] = field.parse(row.value) if row is not None else None
    return values


def parse(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values of every declared field, or ``ValidationFailed`` naming each bad field."""
    values, errors = {}, {}
    for field in declared():
        text = raw.get(field.key)
        if field.required and field.type != "bool" and (text is None or str(text).strip() == ""):
            errors[field.key] = _("This field is required.")
            continue
        try:
            values[field.key] = field.parse(text)
        except ValueError as exc:
            errors[field.key] = str(exc.args[0])
    if errors:
        raise ValidationFailed(errors)
    return values


def save(client_id: int, raw: Mapping[str, Any], *, commit: bool = True) -> dict[str, Any]:
    """Parse and store the declared fields of ``client_id``; nothing is written on an error.

    With ``commit=False`` the rows join the caller's transaction (the client form's).
    """
    values = parse(raw)
    by_key = {field.key: field for field in declared()}
    rows = {row.key: row for row in db.session.scalars(
        select(ClientFieldValue).where(ClientFieldValue.client_id == client_id))}
    for key, value in values.items():
        stored = by_key[key].to_json(value)
        row = rows.get(key)
        if row is None:
            db.session.add(ClientFieldValue(client_id=client_id, key=key, value=stored))
        elif row.value != stored:
            row.value = stored
    if commit:
        db.session.commit()
    return values


def clients_where(key: str, value: Any) -> list[int]:
    """Ids of the institution's clients whose field ``key`` has ``value`` (a list filter)."""
    field = next((f for f in declared() if f.key == key), None)
    if field is None:
        return []
    stored = field.to_json(field.parse(value))
    rows = db.session.scalars(select(ClientFieldValue).where(ClientFieldValue.key == key))
    return sorted(row.client_id for row in rows if row.value == stored)
