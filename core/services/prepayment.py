"""Early repayment: a payoff quote at a date, and paying a loan off (issue 11, point 4).

Quote on ``on`` = outstanding principal + interest and fees already due and unpaid + interest
accrued since the last due date (or the start of the schedule) up to ``on`` + the reinvestment
indemnity. Day count of the accrued interest: **actual/365** on the outstanding principal at the
loan's nominal rate, rounded half-up to the cent. Interest of instalments not yet due is never
charged.

Indemnity: the Belgian SME financing law of 21 December 2013 (in force 2014, "wet Laruelle") and
article 1907bis of the Civil Code cap the reinvestment indemnity at **six months' interest** on the
capital repaid early, at the loan's rate. The default is **no indemnity** (microcredit practice);
``indemnity_months`` above 6 is capped at 6.

Paying off writes a new schedule version of one line due on ``on`` (the quote: principal; interest
due and accrued; the indemnity as a fee) and books the payment, in one transaction, so the ledger
replay closes the loan exactly; the stored position follows.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l

from core.extensions import db
from core.models import LedgerEntry, Loan, ScheduleLine
from core.services import allocation, positions
from core.services.errors import ValidationFailed
from core.services.loans import _commit_or_conflict, get_loan
from core.services.schedules import ZERO

MAX_INDEMNITY_MONTHS = Decimal(6)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class PayoffQuote:
    """What closes the loan on ``on``, part by part."""

    on: date
    principal: Decimal
    interest_due: Decimal  # interest and fees of instalments due by ``on``, unpaid
    accrued: Decimal  # interest since the last due date, actual/365
    indemnity: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest_due + self.accrued + self.indemnity


def payoff_quote(loan: Loan, on: date, indemnity_months=0) -> PayoffQuote:
    """The payoff amount of ``loan`` on ``on`` (see the module's rules)."""
    if loan.status != "active":
        raise ValidationFailed({"": _l("Only an active loan can be paid off early.")})
    if on is None or on < (loan.rescheduled_on or loan.disbursed_on):
        raise ValidationFailed({"paid_on": _l("A payment cannot be dated before the disbursement.")})
    if on > date.today():
        raise ValidationFailed({"paid_on": _l("A payment cannot be dated in the future.")})
    schedule = positions.schedule_of(loan)
    state = allocation.ledger_state(schedule, positions.engine_entries(loan))
    principal, interest_due = positions.write_off_split(state, on)
    rate = Decimal(loan.annual_rate) / 100
    last_due = max((i.due_on for i in schedule.instalments if i.due_on <= on),
                   default=loan.rescheduled_on or loan.disbursed_on)
    accrued = (principal * rate * (on - last_due).days / 365).quantize(CENT, rounding=ROUND_HALF_UP)
    months = min(Decimal(indemnity_months or 0), MAX_INDEMNITY_MONTHS)
    indemnity = (principal * rate * months / 12).quantize(CENT, rounding=ROUND_HALF_UP)
    return PayoffQuote(on, principal, interest_due, accrued, indemnity)


def pay_off(loan_id: int, *, on: date, user, indemnity_months=0) -> LedgerEntry:
    """Close the loan on ``on`` by paying its quote: a one-line schedule version and its payment."""
    loan = get_loan(loan_id)
    if any(e.kind == "payment" and e.value_date >= on for e in loan.ledger if on):
        raise ValidationFailed({"paid_on": _l("Date the early repayment after the last payment.")})
    if loan.honour_loan and loan.honour_loan > 0:
        raise ValidationFailed({"": _l("A loan with an honour loan cannot be paid off here yet.")})
    quote = payoff_quote(loan, on, indemnity_months)
    version = loan.schedule_version + 1
    db.session.add(ScheduleLine(loan_id=loan.id, version=version, kind="microloan", number=1, due_date=on,
                                principal=quote.principal, interest=quote.interest_due + quote.accrued,
                                fees=quote.indemnity, institution_id=loan.institution_id))
    loan.schedule_version, loan.rescheduled_on = version, on
    entry = LedgerEntry(loan_id=loan.id, kind="payment", amount=quote.total, value_date=on, source="manual",
                        note="early repayment (payoff)", created_by_id=getattr(user, "id", None),
                        institution_id=loan.institution_id)
    db.session.add(entry)
    loan.status, loan.closed_on = "repaid", on
    positions.refresh(loan)
    _commit_or_conflict()
    return entry
