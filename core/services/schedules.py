"""Repayment schedules: pure functions on Decimal and date values (see docs/lending.md).

Conventions:

* Rates are **fractions**: ``Decimal("0.07")`` is 7 % a year (nominal). The periodic rate is the
  annual rate divided by the number of periods in a year (``0.07 / 12`` a month): every period
  counts the same, whatever the number of days in it.
* Money is ``Decimal``; every amount is rounded half-up to the cent with ``to_money``; the last
  instalment takes the remainder, so the principal column always sums exactly to the principal.
* ``term_months`` counts the *repayment* months; grace months come **before** them and lengthen
  the loan: a 60-month loan with 6 months of grace ends 66 months after disbursement.
* Grace on principal (``Grace.PRINCIPAL``): the grace instalments carry the interest (and the
  periodic fee) only.
* Grace on everything (``Grace.FULL``): nothing is due during grace. The interest accrued during
  grace is **not capitalised** (no interest on interest): it is deferred and spread in equal parts
  (remainder on the last) over the repayment instalments, in their interest column.
* Due dates fall on the disbursement day of the month, every period; a day the month lacks is
  its last day (31 January + 1 month = 28 or 29 February).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from enum import IntEnum, StrEnum
from typing import Iterator

from flask_babel import lazy_gettext as _l

from core.models.types import to_money
from core.services.errors import ValidationFailed

ZERO = Decimal("0.00")


class Method(StrEnum):
    """How the principal is repaid."""

    ANNUITY = "annuity"  # equal instalments on a declining balance
    EQUAL_PRINCIPAL = "equal_principal"  # equal principal parts, interest on the declining balance
    FLAT = "flat"  # equal principal parts, interest on the original principal


class Frequency(IntEnum):
    """Instalments per year."""

    MONTHLY = 12
    QUARTERLY = 4
    SEMIANNUAL = 2
    ANNUAL = 1

    @property
    def months(self) -> int:
        """Months between two instalments."""
        return 12 // self.value


class Grace(StrEnum):
    """What a grace period defers."""

    NONE = "none"
    PRINCIPAL = "principal"  # interest is paid, principal waits
    FULL = "full"  # nothing is paid; interest is deferred (not capitalised)


@dataclass(frozen=True)
class LoanTerms:
    """What a schedule is computed from. Build it with :func:`loan_terms` to have it checked."""

    principal: Decimal
    annual_rate: Decimal
    term_months: int
    disbursed_on: date
    method: Method = Method.ANNUITY
    frequency: Frequency = Frequency.MONTHLY
    grace_months: int = 0
    grace: Grace = Grace.NONE
    fee_per_instalment: Decimal = ZERO
    upfront_fee: Decimal = ZERO


@dataclass(frozen=True)
class Instalment:
    """One due date. ``balance_after`` is the principal still owed once it is paid."""

    number: int
    due_on: date
    principal: Decimal
    interest: Decimal
    fee: Decimal
    balance_after: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.fee


@dataclass(frozen=True)
class Schedule:
    """A loan's instalments, in due-date order, with the terms they were computed from."""

    terms: LoanTerms
    instalments: tuple[Instalment, ...]

    @property
    def principal(self) -> Decimal:
        return self.terms.principal

    @property
    def total_principal(self) -> Decimal:
        return sum((i.principal for i in self.instalments), ZERO)

    @property
    def total_interest(self) -> Decimal:
        return sum((i.interest for i in self.instalments), ZERO)

    @property
    def total_fees(self) -> Decimal:
        """Periodic fees in the instalments plus the upfront fee."""
        return sum((i.fee for i in self.instalments), ZERO) + self.terms.upfront_fee

    @property
    def total_repaid(self) -> Decimal:
        """Everything the instalments ask for (the upfront fee is not in an instalment)."""
        return sum((i.total for i in self.instalments), ZERO)

    @property
    def last_due_on(self) -> date:
        return self.instalments[-1].due_on


def add_months(start: date, months: int) -> date:
    """``start`` moved by whole months, clamped to the last day of a shorter month."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    for day in (start.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def loan_terms(principal, annual_rate, term_months: int, disbursed_on: date, *,
               method: Method = Method.ANNUITY, frequency: Frequency = Frequency.MONTHLY,
               grace_months: int = 0, grace: Grace = Grace.NONE,
               fee_per_instalment=ZERO, upfront_fee=ZERO) -> LoanTerms:
    """Checked :class:`LoanTerms`; raises ``ValidationFailed`` naming the field at fault.

    ``principal`` and fees are rounded to the cent (floats are refused); ``annual_rate`` is a
    fraction between 0 and 1. Grace months need a kind of grace (``Grace.PRINCIPAL`` or
    ``Grace.FULL``); a kind without months is no grace.
    """
    principal, rate = to_money(principal), _decimal(annual_rate)
    errors: dict[str, str] = {}
    if principal <= 0:
        errors["principal"] = _l("Enter an amount greater than zero.")
    if not Decimal(0) <= rate < Decimal(1):
        errors["annual_rate"] = _l("Enter a yearly rate between 0 and 100 percent.")
    if term_months < 1 or term_months % Frequency(frequency).months:
        errors["term_months"] = _l("The term must be a whole number of repayment periods.")
    if grace_months < 0 or grace_months % Frequency(frequency).months:
        errors["grace_months"] = _l("The grace period must be a whole number of repayment periods.")
    if grace_months and Grace(grace) == Grace.NONE:
        errors["grace"] = _l("Choose what the grace period defers: the principal or everything.")
    fee, upfront = to_money(fee_per_instalment), to_money(upfront_fee)
    if fee < 0 or upfront < 0:
        errors["fees"] = _l("Fees cannot be negative.")
    if errors:
        raise ValidationFailed(errors)
    return LoanTerms(principal, rate, term_months, disbursed_on, Method(method), Frequency(frequency),
                     grace_months, Grace(grace) if grace_months else Grace.NONE, fee, upfront)


def build_schedule(terms: LoanTerms) -> Schedule:
    """The schedule of ``terms``: grace instalments first, then the repayment instalments."""
    periods = terms.term_months // terms.frequency.months
    grace_periods = terms.grace_months // terms.frequency.months if terms.grace != Grace.NONE else 0
    rate = periodic_rate(terms)
    grace_interest = [to_money(terms.principal * rate) for _ in range(grace_periods)]
    rows: list[Instalment] = []
    for index, interest in enumerate(grace_interest):
        paid = terms.grace == Grace.PRINCIPAL
        rows.append(Instalment(index + 1, _due(terms, index + 1), ZERO, interest if paid else ZERO,
                               terms.fee_per_instalment if paid else ZERO, terms.principal))
    deferred = sum(grace_interest, ZERO) if terms.grace == Grace.FULL else ZERO
    extras = _spread(deferred, periods)
    for offset, (principal, interest, balance) in enumerate(_repayments(terms, periods, rate)):
        number = grace_periods + offset + 1
        rows.append(Instalment(number, _due(terms, number), principal, interest + extras[offset],
                               terms.fee_per_instalment, balance))
    return Schedule(terms, tuple(rows))


def periodic_rate(terms: LoanTerms) -> Decimal:
    """The nominal annual rate divided by the number of instalments a year."""
    return terms.annual_rate / terms.frequency.value


def annuity_payment(principal: Decimal, rate: Decimal, periods: int) -> Decimal:
    """The equal instalment repaying ``principal`` over ``periods`` at periodic ``rate``, to the cent."""
    if rate == 0:
        return to_money(principal / periods)
    with localcontext() as context:
        context.prec = 40
        payment = principal * rate / (1 - (1 + rate) ** -periods)
    return to_money(payment)


def honour_loan_schedule(amount, disbursed_on: date, term_months: int, deferral_months: int = 0,
                         frequency: Frequency = Frequency.MONTHLY) -> Schedule:
    """The interest-free honour loan: its own schedule, equal principal parts after its deferral.

    Nothing is due during the ``deferral_months`` (there is no interest to defer); repayment
    runs over ``term_months`` after them.
    """
    terms = loan_terms(amount, Decimal(0), term_months, disbursed_on, method=Method.EQUAL_PRINCIPAL,
                       frequency=frequency, grace_months=deferral_months, grace=Grace.FULL)
    return build_schedule(terms)


def reschedule(schedule: Schedule, outstanding_principal, on: date, term_months: int, **changes) -> Schedule:
    """A new schedule repaying ``outstanding_principal`` from ``on``, on the old schedule's terms.

    The caller keeps the old schedule in history. ``changes`` may override ``annual_rate``,
    ``method``, ``frequency``, ``grace_months``, ``grace``, ``fee_per_instalment`` (the upfront
    fee is not charged again unless passed as ``upfront_fee``). Arrears of interest or fees the
    parties agree to fold in are added to ``outstanding_principal`` by the caller.
    """
    old = schedule.terms
    values = {"annual_rate": old.annual_rate, "method": old.method, "frequency": old.frequency,
              "grace_months": 0, "grace": Grace.NONE, "fee_per_instalment": old.fee_per_instalment,
              "upfront_fee": ZERO}
    unknown = set(changes) - set(values)
    if unknown:
        raise TypeError(f"reschedule() cannot change {sorted(unknown)}")
    values.update(changes)
    rate = values.pop("annual_rate")
    return build_schedule(loan_terms(outstanding_principal, rate, term_months, on, **values))


def _repayments(terms: LoanTerms, periods: int, rate: Decimal) -> Iterator[tuple[Decimal, Decimal, Decimal]]:
    """(principal, interest, balance after) of each repayment period; the last one clears the balance."""
    balance = terms.principal
    equal_part = to_money(terms.principal / periods)
    flat_interest = to_money(terms.principal * rate)
    payment = annuity_payment(terms.principal, rate, periods)
    for period in range(1, periods + 1):
        if terms.method == Method.FLAT:
            interest = flat_interest
        else:
            interest = to_money(balance * rate)
        if period == periods:
            principal = balance
        elif terms.method == Method.ANNUITY:
            principal = min(max(payment - interest, ZERO), balance)
        else:
            principal = min(equal_part, balance)
        balance -= principal
        yield principal, interest, balance


def _spread(amount: Decimal, parts: int) -> list[Decimal]:
    """``amount`` in ``parts`` equal cents-rounded shares, the last taking the remainder."""
    share, left, shares = to_money(amount / parts), amount, []
    for _ in range(parts - 1):
        shares.append(min(share, left))  # tiny amounts: never more than what is left
        left -= shares[-1]
    return shares + [left]


def _due(terms: LoanTerms, number: int) -> date:
    return add_months(terms.disbursed_on, number * terms.frequency.months)


def _decimal(value) -> Decimal:
    if isinstance(value, float):
        raise TypeError("rates must not be floats")
    return Decimal(value)
