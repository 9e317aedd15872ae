"""Money coming in that must be booked once: one-time form tokens and uploaded bank statements."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models.audit import Audited
from core.models.types import Money, UTCDateTime, utcnow
from core.tenancy import TenantOwned


class SubmissionToken(TenantOwned, db.Model):
    """A form's one-time token, inserted in the transaction that books what the form asked for:
    a second submit of the same form hits the unique key and books nothing."""

    __tablename__ = "submission_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))  # payment, disbursement, reversal, write_off…
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StatementFile(Audited, TenantOwned, db.Model):
    """An uploaded bank statement, known by the SHA-256 of its content."""

    __tablename__ = "statement_files"
    __table_args__ = (UniqueConstraint("institution_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    lines_total: Mapped[int] = mapped_column(Integer, default=0)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list["StatementLine"]] = relationship(back_populates="file", order_by="StatementLine.line_number")


#: What became of a statement line.
LINE_STATES = ("booked", "queued", "assigned", "dismissed")


class StatementLine(Audited, TenantOwned, db.Model):
    """A credit line of a statement, known by (date, amount, reference, counterparty, occurrence):
    the same line in a later statement is recognised and not booked again. ``occurrence`` ranks
    identical lines within one file, so two equal transfers on one day are two payments."""

    __tablename__ = "statement_lines"
    # the payer's name, of a line that may match no client (so no person's key): never in the trail
    __audit_secret__ = frozenset({"counterparty"})
    __table_args__ = (UniqueConstraint("institution_id", "booked_on", "amount", "reference", "counterparty",
                                       "occurrence", name="uq_statement_lines_identity"),
                      Index("ix_statement_lines_state", "institution_id", "state"))

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("statement_files.id"))
    line_number: Mapped[int] = mapped_column(Integer)
    booked_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    reference: Mapped[str] = mapped_column(String(40), default="")  # "" when none: part of the unique key
    counterparty: Mapped[str] = mapped_column(String(200), default="")
    occurrence: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(10))
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id", ondelete="SET NULL"))
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("loan_ledger.id"))
    reason: Mapped[str | None] = mapped_column(Text)  # why it was dismissed
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    file: Mapped[StatementFile] = relationship(back_populates="lines")
