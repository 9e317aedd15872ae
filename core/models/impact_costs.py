"""What an institution's admin enters for the cost and social-return figures of the impact report:
its yearly budget, and the assumptions of the social-return estimate (docs/reports.md)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models.audit import Audited
from core.models.types import Money, UTCDateTime, utcnow
from core.tenancy import TenantOwned


class InstitutionBudget(Audited, TenantOwned, db.Model):
    """The institution's budget for one calendar year (financing and coaching), in EUR."""

    __tablename__ = "institution_budgets"
    __table_args__ = (UniqueConstraint("institution_id", "year"),)
    __audit_ignore__ = frozenset({"updated_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Money)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SocialReturnAssumption(Audited, TenantOwned, db.Model):
    """One assumption of the social-return estimate the admin changed (absent: the default).

    ``value`` is the exact decimal text (``"40000.00"``), never a float.
    """

    __tablename__ = "social_return_assumptions"
    __table_args__ = (UniqueConstraint("institution_id", "key"),)
    __audit_ignore__ = frozenset({"updated_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60))
    value: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
