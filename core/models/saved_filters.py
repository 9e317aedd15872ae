"""A user's named filters on a list page (the query string of the list, saved under a name)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models.types import UTCDateTime, utcnow
from core.tenancy import TenantOwned


class SavedFilter(TenantOwned, db.Model):
    """One saved query of one list (``list_key``: clients, loans, late, referrals, audit), read,
    used and deleted only by the user who saved it, inside their institution."""

    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("user_id", "list_key", "name", name="uq_saved_filters_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    list_key: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
