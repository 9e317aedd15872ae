"""Values an institution's admin gave to the settings its plugin declares."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models.audit import Audited
from core.models.types import UTCDateTime, utcnow
from core.tenancy import TenantOwned


class PluginSetting(Audited, TenantOwned, db.Model):
    """One stored setting (``key`` as declared by the plugin's ``Setting``); absent: the default.

    ``value`` is JSON: a Decimal is stored as its exact text, parsed back by the declaration.
    """

    __tablename__ = "plugin_settings"
    __table_args__ = (UniqueConstraint("institution_id", "key"),)
    __audit_ignore__ = frozenset({"updated_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80))
    value: Mapped[object] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
