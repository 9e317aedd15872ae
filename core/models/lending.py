"""Microloans: the loan file from application to last repayment, its schedules and its ledger.

Amounts are ``Money`` (Decimal EUR, integer cents in the database); rates are ``Percent``.
The ledger is append-only: a mistake is corrected by a reversal entry, never by an edit.
A rescheduling adds a new schedule version; older versions stay as history.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models.audit import Audited
from core.models.types import Money, Percent, UTCDateTime, utcnow
from core.tenancy import TenantOwned

# draft → submitted → approved | rejected; approved → disbursed (active) → repaid | written_off
LOAN_STATUSES = ("draft", "submitted", "approved", "rejected", "active", "repaid", "written_off")
OPEN_LOAN_STATUSES = ("active",)
REPAYMENT_METHODS = ("annuity", "equal_principal", "flat")
GRACE_KINDS = ("none", "principal", "everything")
SCHEDULE_KINDS = ("microloan", "honour")
LEDGER_KINDS = ("payment", "reversal", "write_off", "recovery")


class Loan(Audited, TenantOwned, db.Model):
    """One loan file of a client: what was asked, decided, disbursed and is owed."""

    __tablename__ = "loans"
    __table_args__ = (
        UniqueConstraint("institution_id", "loan_ref"),
        Index("ix_loans_institution_status", "institution_id", "status"),
        Index("ix_loans_institution_disbursed", "institution_id", "disbursed_on"),
    )
    __audit_ignore__ = frozenset({"created_at", "version"})
    __audit_personal__ = frozenset({"purpose", "decision_note"})
    __audit_subject__ = ("client", "client_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    loan_ref: Mapped[str | None] = mapped_column(String(40))  # the institution's own file number
    status: Mapped[str] = mapped_column(String(12), default="draft")
    product_code: Mapped[str] = mapped_column(String(40))
    # what is asked
    principal: Mapped[Decimal] = mapped_column(Money)
    term_months: Mapped[int] = mapped_column(Integer)
    annual_rate: Mapped[Decimal] = mapped_column(Percent)  # nominal yearly rate, percent
    repayment_method: Mapped[str] = mapped_column(String(20), default="annuity")
    frequency_months: Mapped[int] = mapped_column(Integer, default=1)
    grace_months: Mapped[int] = mapped_column(Integer, default=0)
    grace_kind: Mapped[str] = mapped_column(String(12), default="none")
    upfront_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # the product's early-repayment indemnity when the application was drafted (None: none)
    prepayment_indemnity_months: Mapped[Decimal | None] = mapped_column(Percent)
    prepayment_indemnity_percent: Mapped[Decimal | None] = mapped_column(Percent)
    honour_loan: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    honour_deferral_months: Mapped[int] = mapped_column(Integer, default=0)
    bank_cofinancing: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    own_contribution: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    purpose: Mapped[str | None] = mapped_column(Text)
    purpose_category: Mapped[str | None] = mapped_column(String(20))
    # decision (maker-checker: decided_by is never drafted_by)
    drafted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    # life
    disbursed_on: Mapped[date | None] = mapped_column(Date)
    payment_reference: Mapped[str | None] = mapped_column(String(12), index=True)  # 12 digits, +++ +++ form on screen
    schedule_version: Mapped[int] = mapped_column(Integer, default=0)
    closed_on: Mapped[date | None] = mapped_column(Date)  # repaid or written off
    # rescheduling: the current schedule version starts on rescheduled_on; late_since keeps the
    # date the loan was late from before it, so it stays in PAR while still late
    rescheduled_on: Mapped[date | None] = mapped_column(Date)
    late_since: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client = relationship("Client")
    schedule_lines: Mapped[list["ScheduleLine"]] = relationship(
        back_populates="loan", order_by="(ScheduleLine.version, ScheduleLine.kind, ScheduleLine.number)")
    ledger: Mapped[list["LedgerEntry"]] = relationship(back_populates="loan", order_by="LedgerEntry.id")

    __mapper_args__ = {"version_id_col": version}


class ScheduleLine(TenantOwned, db.Model):
    """One instalment of one schedule version (``microloan`` or interest-free ``honour``)."""

    __tablename__ = "loan_schedule_lines"
    __table_args__ = (UniqueConstraint("loan_id", "version", "kind", "number"),
                      Index("ix_loan_schedule_due", "institution_id", "due_date"),
                      Index("ix_loan_schedule_position", "loan_id", "version", "due_before"))

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10), default="microloan")
    number: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    principal: Mapped[Decimal] = mapped_column(Money)
    interest: Mapped[Decimal] = mapped_column(Money)
    fees: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # stored position (core/services/positions.py), kept in the ledger's transaction: what the
    # ledger has paid of each component, and the line's place in the payment waterfall of its
    # version (everything due before it, merged order; its principal and the principal after it)
    principal_paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    interest_paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    fees_paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    due_before: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    principal_from: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))

    loan: Mapped[Loan] = relationship(back_populates="schedule_lines")

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.fees

    @property
    def outstanding(self) -> Decimal:
        """What is still owed of this line (stored position)."""
        return self.total - self.principal_paid - self.interest_paid - self.fees_paid


class LedgerEntry(Audited, TenantOwned, db.Model):
    """An append-only money movement on a loan: payment, reversal, write-off, recovery."""

    __tablename__ = "loan_ledger"
    __audit_secret__ = frozenset({"note"})  # free text about the borrower: that it changed, never what
    __table_args__ = (Index("ix_loan_ledger_loan_date", "loan_id", "value_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    kind: Mapped[str] = mapped_column(String(12))
    amount: Mapped[Decimal] = mapped_column(Money)  # always positive; the kind gives the sense
    value_date: Mapped[date] = mapped_column(Date)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("loan_ledger.id"), unique=True)
    reference: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(12), default="manual")  # manual, statement, import
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    loan: Mapped[Loan] = relationship(back_populates="ledger")


class LateNotice(TenantOwned, db.Model):
    """``loan.instalment_late`` was emitted for this instalment (once per loan and instalment)."""

    __tablename__ = "loan_late_notices"
    __table_args__ = (UniqueConstraint("loan_id", "schedule_version", "instalment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    schedule_version: Mapped[int] = mapped_column(Integer)
    instalment: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    noticed_on: Mapped[date] = mapped_column(Date)


class ImportRun(TenantOwned, db.Model):
    """A portfolio upload from the web: its progress lives here so that any worker can report it."""

    __tablename__ = "loan_import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued, checking, writing, done, failed
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[str | None] = mapped_column(Text)  # the file, dropped once the run ends
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    clients: Mapped[int] = mapped_column(Integer, default=0)
    loans: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[str | None] = mapped_column(Text)  # JSON list of [line, column, message]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the last sign of life of the process running it (each progress write); a run without one
    #: for ``MICROFIN_IMPORT_STALE_MINUTES`` lost its process and is marked failed
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
