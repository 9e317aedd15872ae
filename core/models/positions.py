"""Stored loan positions and month-end portfolio snapshots (derived from the ledger).

Nothing here is a source of truth: ``core/services/positions.py`` rebuilds a loan's position from
its schedule and ledger in the transaction of every ledger operation, and ``microfin loans
verify`` proves that what is stored equals the replay. Snapshots are rebuilt on demand.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models.types import Money, UTCDateTime, utcnow
from core.tenancy import TenantOwned

POSITION_STATES = ("current", "late", "repaid", "written_off")


class LoanPosition(TenantOwned, db.Model):
    """One loan's summary after its ledger: what is owed, since when it is late, what comes next."""

    __tablename__ = "loan_positions"
    __table_args__ = (Index("ix_loan_positions_institution_unpaid", "institution_id", "first_unpaid_due_on"),)

    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), primary_key=True)
    schedule_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12))  # on the day of the last refresh
    paid_total: Mapped[Decimal] = mapped_column(Money)  # payments that count, not reversed
    credit: Mapped[Decimal] = mapped_column(Money)  # paid beyond the whole schedule: owed back
    principal_outstanding: Mapped[Decimal] = mapped_column(Money)
    interest_outstanding: Mapped[Decimal] = mapped_column(Money)  # of the whole schedule
    fees_outstanding: Mapped[Decimal] = mapped_column(Money)
    arrears_amount: Mapped[Decimal] = mapped_column(Money)  # due before the refresh day, unpaid
    first_unpaid_due_on: Mapped[date | None] = mapped_column(Date)
    next_due_on: Mapped[date | None] = mapped_column(Date)  # first unpaid due date from the refresh day
    last_value_date: Mapped[date | None] = mapped_column(Date)  # latest ledger entry that counts
    written_off_on: Mapped[date | None] = mapped_column(Date)
    written_off_principal: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    written_off_interest: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))  # interest and fees due
    refreshed_on: Mapped[date] = mapped_column(Date)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    loan = relationship("Loan")


class PortfolioSnapshot(TenantOwned, db.Model):
    """An institution's portfolio at a month end, written by a chore and rebuilt on demand."""

    __tablename__ = "portfolio_snapshots"
    __table_args__ = (UniqueConstraint("institution_id", "month_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month_end: Mapped[date] = mapped_column(Date)
    borrowers: Mapped[int] = mapped_column(Integer)  # active borrowers at the month end
    loans: Mapped[int] = mapped_column(Integer)
    gross_outstanding: Mapped[Decimal] = mapped_column(Money)
    at_risk_30: Mapped[Decimal] = mapped_column(Money)
    at_risk_90: Mapped[Decimal] = mapped_column(Money)
    disbursed_loans: Mapped[int] = mapped_column(Integer)  # in the month
    disbursed_amount: Mapped[Decimal] = mapped_column(Money)
    written_off: Mapped[Decimal] = mapped_column(Money)  # principal written off in the month
    due_in_month: Mapped[Decimal] = mapped_column(Money)
    repaid_of_due: Mapped[Decimal] = mapped_column(Money)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
