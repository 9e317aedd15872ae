"""Follow-ups of financed entrepreneurs: one questionnaire per client and interval (6, 12, 24, 36
months after the first disbursement), answered through a personal link or recorded by the coach.

The answers every report reads are columns (``active``, ``jobs_fte``, ``bank_credit`` …); answers
to questions a plugin adds live in ``extra`` (JSON). The link's token is stored only as its SHA-256.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models.audit import Audited
from core.models.types import Percent, UTCDateTime, utcnow
from core.tenancy import TenantOwned

FOLLOWUP_STATUSES = ("due", "invited", "answered")
ANSWERED_BY = ("entrepreneur", "coach", "import")


class Followup(Audited, TenantOwned, db.Model):
    """The follow-up of ``client_id`` ``months`` after its first disbursement (``base_on``)."""

    __tablename__ = "followups"
    __audit_secret__ = frozenset({"token_hash"})
    __table_args__ = (UniqueConstraint("client_id", "months", name="uq_followups_client_months"),
                      Index("ix_followups_token_hash", "token_hash"))

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"))
    months: Mapped[int] = mapped_column(Integer)
    base_on: Mapped[date] = mapped_column(Date)  # the first disbursement
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="due")
    questionnaire: Mapped[str] = mapped_column(String(40))  # the definition's version
    token_hash: Mapped[str | None] = mapped_column(String(64))
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_on: Mapped[date | None] = mapped_column(Date)
    answered_by: Mapped[str | None] = mapped_column(String(12))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # the answers
    active: Mapped[bool | None] = mapped_column(Boolean)
    stopped_reason: Mapped[str | None] = mapped_column(String(20))
    situation: Mapped[str | None] = mapped_column(String(20))
    jobs_fte: Mapped[Decimal | None] = mapped_column(Percent)  # exact Decimal, e.g. Decimal("1.5")
    revenue_band: Mapped[str | None] = mapped_column(String(20))
    bank_credit: Mapped[bool | None] = mapped_column(Boolean)
    bank_credit_kind: Mapped[str | None] = mapped_column(String(20))
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
