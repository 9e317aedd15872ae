"""Values of the extra fields the current institution's plugin declares on clients and loans.

Keyed by record id only. The clients feature uses ``client_fields`` (the loans feature
``loan_fields``): ``declared()`` to build its form (``core.web.typed_forms.form_for``),
``save(record_id, raw, commit=False)`` inside its own write, ``values_of(record_id)`` to show
them and ``ids_where(key, value)`` to filter its list.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from flask_babel import gettext as _
from sqlalchemy import select

from core.extensions import db
from core.models import ClientFieldValue, LoanFieldValue
from core.plugin_api import ClientField, Institution
from core.services.errors import ValidationFailed
from core.services.plugin_settings import current_profile


class DeclaredFields:
    """The declared fields of one kind of record, and their stored values."""

    def __init__(self, model, id_column: str, declarations: Callable[[Institution], list[ClientField]]):
        self.model = model
        self.id_column = id_column
        self.declarations = declarations

    def declared(self) -> list[ClientField]:
        """The fields the current institution's plugin declares."""
        profile = current_profile()
        return self.declarations(profile) if profile else []

    def _rows(self, record_id: int) -> dict[str, Any]:
        column = getattr(self.model, self.id_column)
        return {row.key: row for row in db.session.scalars(select(self.model).where(column == record_id))}

    def values_of(self, record_id: int) -> dict[str, Any]:
        """Every declared field of one record (unset: None)."""
        rows = self._rows(record_id)
        return {field.key: field.parse(rows[field.key].value) if field.key in rows else None
                for field in self.declared()}

    def parse(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Typed values of every declared field, or ``ValidationFailed`` naming each bad field."""
        values, errors = {}, {}
        for field in self.declared():
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

    def save(self, record_id: int, raw: Mapping[str, Any], *, commit: bool = True) -> dict[str, Any]:
        """Parse and store the declared fields of one record; nothing is written on an error.

        With ``commit=False`` the rows join the caller's transaction (the client or loan form's).
        """
        values = self.parse(raw)
        by_key = {field.key: field for field in self.declared()}
        rows = self._rows(record_id)
        for key, value in values.items():
            stored = by_key[key].to_json(value)
            if key not in rows:
                db.session.add(self.model(**{self.id_column: record_id, "key": key, "value": stored}))
            elif rows[key].value != stored:
                rows[key].value = stored
        if commit:
            db.session.commit()
        return values

    def ids_where(self, key: str, value: Any) -> list[int]:
        """Ids of the institution's records whose field ``key`` has ``value`` (a list filter)."""
        field = next((f for f in self.declared() if f.key == key), None)
        if field is None:
            return []
        stored = field.to_json(field.parse(value))
        rows = db.session.scalars(select(self.model).where(self.model.key == key))
        return sorted(getattr(row, self.id_column) for row in rows if row.value == stored)


client_fields = DeclaredFields(ClientFieldValue, "client_id", lambda profile: profile.client_fields())
loan_fields = DeclaredFields(LoanFieldValue, "loan_id", lambda profile: profile.loan_fields())
