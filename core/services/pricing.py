"""Cost disclosure: the total cost of borrowing and the APR (see docs/lending.md).

The APR follows the EU consumer-credit directives (2008/48/EC, Annex I; 2023/2225): the yearly rate
``X`` at which the present value of what the lender pays out equals the present value of what the
borrower pays back::

    sum(drawdown_k * (1 + X) ** -t_k) = sum(repayment_l * (1 + X) ** -s_l)

with times in years from the first drawdown. A time is counted in whole months back from the
cash flow's date (12 equal months a year) plus the remaining days divided by 365. ``X`` is found by
bisection on Decimal values (the present value falls as ``X`` rises, so the root is bracketed and
unique) to 1e-12, and disclosed as a percentage with one decimal, rounded half-up.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Iterable, Sequence

from core.services.schedules import ZERO, Schedule, add_months

_LOW, _HIGH = Decimal("-0.99"), Decimal("100")  # -99 % .. 10,000 % a year
_TOLERANCE = Decimal("1e-12")
_PLACES = Decimal("1e-10")


@dataclass(frozen=True)
class CashFlow:
    """Money changing hands on a date: ``amount`` > 0 from lender to borrower, < 0 back."""

    on: date
    amount: Decimal


@dataclass(frozen=True)
class CostOfBorrowing:
    """What the credit costs on top of the principal."""

    interest: Decimal
    fees: Decimal

    @property
    def total(self) -> Decimal:
        return self.interest + self.fees


def cost_of_borrowing(*schedules: Schedule) -> CostOfBorrowing:
    """Interest and fees of one or more schedules (a microloan and its honour loan, say)."""
    return CostOfBorrowing(sum((s.total_interest for s in schedules), ZERO),
                           sum((s.total_fees for s in schedules), ZERO))


def cash_flows(*schedules: Schedule) -> list[CashFlow]:
    """Disbursements (net of upfront fees) and instalments of the schedules, by date."""
    flows = []
    for schedule in schedules:
        terms = schedule.terms
        flows.append(CashFlow(terms.disbursed_on, terms.principal - terms.upfront_fee))
        flows.extend(CashFlow(i.due_on, -i.total) for i in schedule.instalments if i.total)
    return sorted(flows, key=lambda flow: flow.on)


def years_between(start: date, end: date) -> Decimal:
    """Whole months from ``start`` (each 1/12 year) plus the days left over (each 1/365 year)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    while months > 0 and add_months(start, months) > end:
        months -= 1
    days = (end - add_months(start, months)).days
    return Decimal(months) / 12 + Decimal(days) / 365


def annual_percentage_rate(flows: Sequence[CashFlow]) -> Decimal:
    """The APR of ``flows`` as a fraction (``Decimal("0.0723")`` is 7.23 %), to ten decimals.

    Raises ``ValueError`` when the flows have no root in -99 %..10,000 % (for example when
    nothing is paid back).
    """
    if not flows:
        raise ValueError("no cash flows")
    start = min(flow.on for flow in flows)
    timed = [(years_between(start, flow.on), flow.amount) for flow in flows]
    with localcontext() as context:
        context.prec = 34
        low, high = _LOW, _HIGH
        value_low = _present_value(timed, low)
        if value_low * _present_value(timed, high) > 0:
            raise ValueError("the cash flows have no APR between -99 % and 10,000 %")
        while high - low > _TOLERANCE:
            middle = (low + high) / 2
            value_middle = _present_value(timed, middle)
            if value_middle == 0:
                return middle.quantize(_PLACES)
            if value_middle * value_low > 0:
                low, value_low = middle, value_middle
            else:
                high = middle
        return ((low + high) / 2).quantize(_PLACES)


def apr_percent(flows: Sequence[CashFlow]) -> Decimal:
    """The APR as disclosed: a percentage with one decimal, rounded half-up (``Decimal("7.2")``)."""
    return (annual_percentage_rate(flows) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _present_value(timed: Iterable[tuple[Decimal, Decimal]], rate: Decimal) -> Decimal:
    """Net present value at yearly ``rate``; falls as ``rate`` rises for a loan's flows."""
    log = (1 + rate).ln()
    return sum(((amount * (-t * log).exp()) if t else amount for t, amount in timed), Decimal(0))
