"""Values of the extra fields an institution's plugin declares on clients and on loans."""
from __future__ import annotations

from sqlalchemy import JSON, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models.audit import Audited
from core.tenancy import TenantOwned


class ClientFieldValue(Audited, TenantOwned, db.Model):
    """The value of one declared ``ClientField`` for one client of the institution.

    Keyed by ``client_id`` alone so that it needs nothing of the clients table but its id (the
    foreign key is added when the clients feature lands). Values may be sensitive, so the audit
    trail records that they changed, never what they are.
    """

    __tablename__ = "client_field_values"
    __table_args__ = (UniqueConstraint("institution_id", "client_id", "key"),)
    __audit_secret__ = frozenset({"value"})

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(Integer, index=True)
    key: Mapped[str] = mapped_column(String(80))
    value: Mapped[object] = mapped_column(JSON)


class LoanFieldValue(Audited, TenantOwned, db.Model):
    """The value of one declared ``LoanField`` for one loan (keyed by ``loan_id``, as above)."""

    __tablename__ = "loan_field_values"
    __table_args__ = (UniqueConstraint("institution_id", "loan_id", "key"),)
    __audit_secret__ = frozenset({"value"})

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(Integer, index=True)
    key: Mapped[str] = mapped_column(String(80))
    value: Mapped[object] = mapped_column(JSON)
