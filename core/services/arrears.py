"""Arrears and portfolio quality at any date (CGAP / European Microfinance Network definitions).

* An instalment is late the day after its due date while any part of it is unpaid; a loan's
  **days past due** count from the due date of its oldest unpaid instalment (0 when none is late).
* Buckets: current (0 days), 1–30, 31–60, 61–90, more than 90.
* **PAR30** (PAR90) = the *whole* outstanding principal of the loans with an instalment more than
  30 (90) days late ÷ the gross outstanding principal of the portfolio, at the same date.
  Written-off loans are not in the portfolio (the caller leaves them out).
* A rescheduled loan stays at risk while it is late: pass the date from which the *old* schedule
  was late as ``late_since``; the loan counts from that date until it has no late instalment on
  its new schedule.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Hashable, Iterable, Sequence

from core.services.allocation import Entry, LedgerState, ledger_state
from core.services.schedules import ZERO, Schedule


class Bucket(StrEnum):
    """Arrears age classes."""

    CURRENT = "current"
    DAYS_1_30 = "1-30"
    DAYS_31_60 = "31-60"
    DAYS_61_90 = "61-90"
    OVER_90 = ">90"


@dataclass(frozen=True)
class LoanArrears:
    """One loan's arrears position on ``on``."""

    loan: Hashable
    on: date
    days_past_due: int
    overdue_amount: Decimal
    outstanding_principal: Decimal

    @property
    def bucket(self) -> Bucket:
        return bucket_for(self.days_past_due)


@dataclass(frozen=True)
class PortfolioQuality:
    """Portfolio-at-risk figures of a set of loans on one date."""

    on: date
    gross_outstanding: Decimal
    at_risk_30: Decimal
    at_risk_90: Decimal

    @property
    def par30(self) -> Decimal:
        """PAR30 as a fraction rounded to 4 decimals (``0.0512`` is 5.12 %); 0 for an empty portfolio."""
        return _ratio(self.at_risk_30, self.gross_outstanding)

    @property
    def par90(self) -> Decimal:
        return _ratio(self.at_risk_90, self.gross_outstanding)


def bucket_for(days_past_due: int) -> Bucket:
    """The arrears bucket of a number of days past due."""
    if days_past_due <= 0:
        return Bucket.CURRENT
    if days_past_due <= 30:
        return Bucket.DAYS_1_30
    if days_past_due <= 60:
        return Bucket.DAYS_31_60
    if days_past_due <= 90:
        return Bucket.DAYS_61_90
    return Bucket.OVER_90


def loan_arrears(loan: Hashable, schedule: Schedule, ledger: Sequence[Entry], on: date,
                 late_since: date | None = None) -> LoanArrears:
    """Days past due, overdue amount and outstanding principal of one loan on ``on``.

    Only ledger entries dated on or before ``on`` count, so the answer for a past date is what
    it was then.
    """
    return arrears_from_state(loan, ledger_state(schedule, ledger, as_of=on), on, late_since)


def arrears_from_state(loan: Hashable, state: LedgerState, on: date,
                       late_since: date | None = None) -> LoanArrears:
    """:func:`loan_arrears` from a ledger state already replayed up to ``on``."""
    late = [p for p in state.positions if p.due_on < on and p.outstanding() > 0]
    overdue = sum((p.outstanding() for p in late), ZERO)
    oldest = [p.due_on for p in late[:1]]
    if late and late_since is not None:
        oldest.append(late_since)
    days = (on - min(oldest)).days if oldest else 0
    return LoanArrears(loan, on, days, overdue, state.outstanding_principal)


def portfolio_quality(loans: Iterable[LoanArrears], on: date) -> PortfolioQuality:
    """PAR30 and PAR90 of ``loans`` (each computed on ``on``): whole balances of late loans."""
    gross = at_30 = at_90 = ZERO
    for loan in loans:
        if loan.on != on:
            raise ValueError(f"loan {loan.loan!r} was computed on {loan.on}, not {on}")
        gross += loan.outstanding_principal
        if loan.days_past_due > 30:
            at_30 += loan.outstanding_principal
        if loan.days_past_due > 90:
            at_90 += loan.outstanding_principal
    return PortfolioQuality(on, gross, at_30, at_90)


def late_loans(loans: Iterable[LoanArrears]) -> list[LoanArrears]:
    """Loans with any late instalment, the longest late first (the follow-up list)."""
    return sorted((l for l in loans if l.days_past_due > 0), key=lambda l: (-l.days_past_due, str(l.loan)))


def _ratio(part: Decimal, whole: Decimal) -> Decimal:
    if whole == 0:
        return Decimal("0.0000")
    return (part / whole).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
