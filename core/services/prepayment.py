"""Early repayment: a payoff quote at a date, paying a loan off, and partial prepayment (issue 11,
point 4). See docs/lending.md, "Early repayment".

**Quote** on ``on`` = what is due and unpaid by ``on`` (principal, interest and fees of the
instalments due by then) + the principal of the instalments not yet due + the interest accrued on
that principal since the last due date (or the start of the schedule) up to ``on`` + the
reinvestment indemnity − what was already received and not spent on what is due (money paid
ahead on instalments not yet due, a credit, payments dated ``on``). Day count of the accrued
interest: **actual/365** at the loan's nominal rate, rounded half-up to the cent. Interest of
instalments not yet due is never charged.

**Indemnity**: a product setting (``LoanProduct.prepayment_indemnity_months`` — months of interest
at the loan's rate — or ``prepayment_indemnity_percent`` — a percentage of the capital repaid
early), copied onto the loan when the application is drafted; **default none**. The Belgian SME
financing law of 21 December 2013 (in force 2014, "wet Laruelle") and article 1907bis of the Civil
Code cap the reinvestment indemnity at **six months' interest** on the capital repaid early, at
the loan's rate: whatever the product declares, the indemnity is capped there.

**Paying off and prepaying** write a new schedule version, the way rescheduling does
(``repayments.reschedule_loan``): its first line, due on ``on``, is the settlement (principal: what
was due plus the capital repaid early; interest: interest due plus interest accrued; fees: fees due
plus the indemnity; less what was already received); its payment is booked in the same
transaction, so the ledger replay (payments dated on or after the version's start) pays that line
exactly and the stored position follows. A partial prepayment then repays the rest of the
principal on the old due dates: **shorter term** (the instalment stays at most what it was, fewer
instalments) or **lower instalment** (as many instalments as were left, each lower). The pure
engine needs nothing new: a version and a payment are what it already replays.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

from core import clock
from core.extensions import db
from core.models import LedgerEntry, Loan, ScheduleLine
from core.plugin_api import MAX_PREPAYMENT_INDEMNITY_MONTHS
from core.services import allocation, positions
from core.services.errors import ValidationFailed
from core.services.loans import _commit_or_conflict
from core.services.repayments import emit_repaid, lock
from core.services.schedules import ZERO, Method, add_months, build_schedule, loan_terms

MAX_INDEMNITY_MONTHS = MAX_PREPAYMENT_INDEMNITY_MONTHS
CENT = Decimal("0.01")
SHORTER_TERM, LOWER_INSTALMENT = "shorter_term", "lower_instalment"
OPTIONS = (SHORTER_TERM, LOWER_INSTALMENT)
#: ``LedgerEntry.source`` of the payments that made a schedule version (never reversed).
SOURCES = ("prepayment", "payoff")


@dataclass(frozen=True)
class PayoffQuote:
    """What closes the loan on ``on``, part by part."""

    on: date
    principal: Decimal  # all principal still owed: due and not yet due
    interest_due: Decimal  # interest and fees of instalments due by ``on``, unpaid
    accrued: Decimal  # interest since the last due date on the principal not yet due, actual/365
    indemnity: Decimal
    received: Decimal = ZERO  # already received, not spent on what is due (deducted)

    @property
    def total(self) -> Decimal:
        return max(ZERO, self.principal + self.interest_due + self.accrued + self.indemnity - self.received)


@dataclass(frozen=True)
class _Standing:
    """The current schedule version on ``on``, before the money dated ``on``."""

    loan: Loan
    on: date
    principal_due: Decimal
    interest_due: Decimal
    fees_due: Decimal
    principal_ahead: Decimal  # principal of the instalments not yet due
    paid_ahead: Decimal  # interest and fees paid ahead on instalments not yet due, and a credit
    same_day: Decimal  # payments dated ``on`` (they count for the new version too)
    ahead: tuple  # instalments due after ``on`` (old schedule)
    accrual: Decimal  # the fraction of a year's interest accrued since the last due date
    indemnity_rate: Decimal  # the indemnity as a fraction of the capital repaid early

    @property
    def due(self) -> Decimal:
        return self.principal_due + self.interest_due + self.fees_due

    @property
    def received(self) -> Decimal:
        return self.paid_ahead + self.same_day


def indemnity_rate(loan: Loan, months=None) -> Decimal:
    """The loan's indemnity as a fraction of the capital repaid early, capped at six months' interest.

    ``months`` overrides the loan's own setting (a what-if); None reads the loan's terms, copied
    from its product when drafted (none when the product declares none).
    """
    rate = Decimal(loan.annual_rate) / 100
    cap = rate * MAX_INDEMNITY_MONTHS / 12
    if months is not None:
        wanted = rate * Decimal(months or 0) / 12
    elif loan.prepayment_indemnity_months:
        wanted = rate * Decimal(loan.prepayment_indemnity_months) / 12
    else:
        wanted = Decimal(loan.prepayment_indemnity_percent or 0) / 100
    return min(max(wanted, Decimal(0)), cap)


def _check(loan: Loan, on: date | None) -> None:
    if loan.status == "written_off":
        raise ValidationFailed({"": _l("This loan was written off: record a recovery instead.")})
    if loan.status == "repaid":
        raise ValidationFailed({"": _l("Only an active loan can be paid off early: this one is repaid.")})
    if loan.status != "active":
        raise ValidationFailed({"": _l("Only an active loan can be paid off early.")})
    if loan.honour_loan and loan.honour_loan > 0:
        raise ValidationFailed({"": _l("A loan with an honour loan cannot be paid off here yet.")})
    if on is None:
        raise ValidationFailed({"paid_on": _l("Enter the date of the payment.")})
    if on < (loan.rescheduled_on or loan.disbursed_on):
        raise ValidationFailed({"paid_on": _l("A payment cannot be dated before the disbursement.")})
    if on > clock.today():
        raise ValidationFailed({"paid_on": _l("A payment cannot be dated in the future.")})
    last = max((e.value_date for e in loan.ledger), default=None)
    if last is not None and on < last:
        raise ValidationFailed({"paid_on": _l("Date the early repayment on or after the last ledger entry (%(date)s).",
                                              date=last.isoformat())})


def _standing(loan: Loan, on: date, months=None) -> _Standing:
    schedule = positions.schedule_of(loan)
    entries = positions.engine_entries(loan)
    later = {e.id for e in entries if isinstance(e, allocation.Payment) and e.paid_on >= on}
    before = [e for e in entries if e.id not in later and getattr(e, "reverses", None) not in later]
    state = allocation.ledger_state(schedule, before)
    due = [p for p in state.positions if p.due_on <= on]
    ahead = [p for p in state.positions if p.due_on > on]
    part = lambda rows, c: sum((p.outstanding(c) for p in rows), ZERO)  # noqa: E731
    C = allocation.Component
    last_due = _period_start(loan, schedule, on)
    rate = Decimal(loan.annual_rate) / 100
    return _Standing(
        loan, on, part(due, C.PRINCIPAL), part(due, C.INTEREST), part(due, C.FEE), part(ahead, C.PRINCIPAL),
        sum((p.paid[C.INTEREST] + p.paid[C.FEE] for p in ahead), ZERO) + state.credit,
        allocation.total_paid([e for e in entries if e.id in later or getattr(e, "reverses", None) in later]),
        tuple(i for i in schedule.instalments if i.due_on > on),
        rate * (on - last_due).days / 365, indemnity_rate(loan, months))


def _period_start(loan: Loan, schedule, on: date) -> date:
    """Where the interest accrued on ``on`` starts: the last regular due date by ``on``, else the
    start of the schedule. The settlement line of an earlier prepayment is not a regular due
    date: after it, the period runs from the old due date before the next instalment (its interest
    was computed for the whole period)."""
    start = schedule.terms.disbursed_on
    regular = [i.due_on for i in schedule.instalments if start < i.due_on <= on]
    if regular:
        return max(regular)
    settled = any(i.due_on == start for i in schedule.instalments)
    coming = [i.due_on for i in schedule.instalments if i.due_on > on]
    if settled and coming:
        return min(start, add_months(coming[0], -(loan.frequency_months or 1)))
    return start


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _quote(standing: _Standing) -> PayoffQuote:
    capital = standing.principal_ahead
    return PayoffQuote(standing.on, standing.principal_due + capital, standing.interest_due + standing.fees_due,
                       _money(capital * standing.accrual), _money(capital * standing.indemnity_rate),
                       standing.received)


def payoff_quote(loan: Loan, on: date, indemnity_months=None) -> PayoffQuote:
    """The payoff amount of ``loan`` on ``on`` (see the module's rules); ``ValidationFailed`` on a
    date before the disbursement, in the future or before the last ledger entry, and on a loan
    that is not active. ``indemnity_months`` overrides the loan's indemnity (a what-if)."""
    _check(loan, on)
    return _quote(_standing(loan, on, indemnity_months))


def statement_quote(loan: Loan, today: date) -> PayoffQuote | None:
    """The payoff amount printed on the borrower's statement: today's, or that of the last ledger
    entry's date when one is dated later; None when the loan cannot be paid off early here."""
    on = max(today, max((e.value_date for e in loan.ledger), default=today))
    try:
        return payoff_quote(loan, on)
    except ValidationFailed:
        return None


def _version(loan: Loan, standing: _Standing, capital: Decimal, accrued: Decimal, indemnity: Decimal,
             rest: list) -> int:
    """Write the new schedule version: the settlement line due on ``on``, then ``rest`` (instalments)."""
    parts = [standing.interest_due + accrued, standing.fees_due + indemnity, standing.principal_due + capital]
    credit = standing.paid_ahead  # money of the old version not spent on what was due: it pays here
    for index, amount in enumerate(parts):
        taken = min(credit, amount)
        parts[index], credit = amount - taken, credit - taken
    version = loan.schedule_version + 1
    lines = [ScheduleLine(loan_id=loan.id, version=version, kind="microloan", number=1, due_date=standing.on,
                          principal=parts[2], interest=parts[0], fees=parts[1], institution_id=loan.institution_id)]
    lines += [ScheduleLine(loan_id=loan.id, version=version, kind="microloan", number=n, due_date=due,
                           principal=i.principal, interest=i.interest, fees=i.fee, institution_id=loan.institution_id)
              for n, (due, i) in enumerate(rest, start=2)]
    db.session.add_all(lines)
    loan.schedule_version, loan.rescheduled_on, loan.late_since = version, standing.on, None
    return version


def _book(loan: Loan, on: date, amount: Decimal, user, source: str, note: str) -> LedgerEntry:
    entry = LedgerEntry(loan_id=loan.id, kind="payment", amount=amount, value_date=on, source=source, note=note,
                        created_by_id=getattr(user, "id", None), institution_id=loan.institution_id)
    db.session.add(entry)
    return entry


def pay_off(loan_id: int, *, on: date, user, indemnity_months=None) -> LedgerEntry:
    """Close the loan on ``on`` by paying its quote: a one-line schedule version and its payment."""
    loan = lock(loan_id)
    quote = payoff_quote(loan, on, indemnity_months)
    if quote.total <= 0:
        raise ValidationFailed({"": _l("Nothing is left to pay: the loan is settled by what was received.")})
    standing = _standing(loan, on, indemnity_months)
    _version(loan, standing, standing.principal_ahead, quote.accrued, quote.indemnity, [])
    entry = _book(loan, on, quote.total, user, "payoff", None)
    loan.status, loan.closed_on = "repaid", on
    positions.refresh(loan)
    _commit_or_conflict()
    emit_repaid(loan)
    return entry


@dataclass(frozen=True)
class Prepayment:
    """A partial prepayment worked out: what of the amount goes where, and the new instalments."""

    on: date
    amount: Decimal
    due: Decimal  # what was due by ``on`` (paid first)
    capital: Decimal  # principal repaid early
    accrued: Decimal
    indemnity: Decimal
    remaining: Decimal  # principal left for the new instalments
    instalments: tuple  # (due date, Instalment) of the new schedule after the settlement line


def plan(loan: Loan, *, on: date | None, amount, option: str | None) -> Prepayment:
    """Work a partial prepayment out without writing anything; ``ValidationFailed`` by field.

    The amount first pays what is due by ``on``, then, out of the rest, the capital repaid early
    together with the interest accrued on it since the last due date and the indemnity on it.
    """
    _check(loan, on)
    if amount is None or not isinstance(amount, Decimal) or amount <= 0:
        raise ValidationFailed({"amount": _l("Enter an amount greater than zero.")})
    if option not in OPTIONS:
        raise ValidationFailed({"option": _l("Choose a shorter term or a lower instalment.")})
    standing = _standing(loan, on)
    quote = _quote(standing)
    due_now = max(ZERO, standing.due - standing.received)
    if amount > quote.total:
        raise ValidationFailed({"amount": _l(
            "This is more than the payoff amount on that date (%(total)s EUR): pay the loan off instead.",
            total=format_decimal(quote.total, "#,##0.00"))})
    if amount == quote.total:
        raise ValidationFailed({"amount": _l(
            "This is the payoff amount: use \"Pay off the loan\" to close it.")})
    if amount <= due_now:
        raise ValidationFailed({"amount": _l(
            "This does not go beyond what is due (%(due)s EUR): record it as a payment.",
            due=format_decimal(due_now, "#,##0.00"))})
    money = amount + standing.received - standing.due
    factor = 1 + standing.accrual + standing.indemnity_rate
    capital = (money / factor).quantize(CENT, rounding=ROUND_DOWN)
    accrued, indemnity = _money(capital * standing.accrual), _money(capital * standing.indemnity_rate)
    capital += money - capital - accrued - indemnity  # the cent of rounding goes to the capital
    remaining = standing.principal_ahead - capital
    if remaining <= 0:
        raise ValidationFailed({"amount": _l(
            "This is the payoff amount: use \"Pay off the loan\" to close it.")})
    return Prepayment(on, amount, standing.due, capital, accrued, indemnity, remaining,
                      _new_instalments(loan, standing, remaining, option))


def _new_instalments(loan: Loan, standing: _Standing, remaining: Decimal, option: str) -> tuple:
    """The rest of the principal over the old due dates: as many (lower instalment) or fewer
    (shorter term: the fewest whose instalment is not above the old one)."""
    dates = [i.due_on for i in standing.ahead]
    rate = Decimal(loan.annual_rate) / 100
    method = Method(loan.repayment_method)

    def schedule(count: int):
        return build_schedule(loan_terms(remaining, rate, count, standing.on, method=method)).instalments

    count = len(dates)
    if option == SHORTER_TERM:
        old = standing.ahead[0].total if standing.ahead else ZERO
        count = next((n for n in range(1, len(dates) + 1) if schedule(n)[0].total <= old), len(dates))
    return tuple(zip(dates, schedule(count)))


def prepay(loan_id: int, *, on: date | None, amount, option: str | None, user) -> LedgerEntry:
    """Book a partial prepayment: a new schedule version (settlement line on ``on``, then the new
    instalments) and its payment, positions refreshed, in one transaction."""
    loan = lock(loan_id)
    worked = plan(loan, on=on, amount=amount, option=option)
    standing = _standing(loan, on)
    _version(loan, standing, worked.capital, worked.accrued, worked.indemnity, list(worked.instalments))
    entry = _book(loan, on, worked.amount, user, "prepayment", option)  # the note keeps the option chosen
    positions.refresh(loan)
    _commit_or_conflict()
    return entry


def indemnity_terms(loan: Loan) -> str:
    """The loan's indemnity in words, in the current locale: none, months of interest or a percentage."""
    from flask_babel import gettext as _

    if loan.prepayment_indemnity_months:
        months = min(Decimal(loan.prepayment_indemnity_months), MAX_INDEMNITY_MONTHS)
        return _("%(months)s months of interest on the capital repaid early",
                 months=format_decimal(months.normalize(), "#,##0.##"))
    if loan.prepayment_indemnity_percent:
        return _("%(percent)s %% of the capital repaid early, at most six months of interest on it",
                 percent=format_decimal(Decimal(loan.prepayment_indemnity_percent).normalize(), "#,##0.###"))
    return _("none")


def early_repayment_right(loan: Loan) -> str:
    """The borrower's right to repay early and its indemnity, as the offer and the statement say it."""
    from flask_babel import gettext as _

    return _("You may repay the loan early, in full or in part, at any time. You then pay the principal "
             "repaid early, the interest accrued on it up to the day of the repayment and the reinvestment "
             "indemnity of your contract: %(terms)s. Interest not yet due is never charged. By law (article "
             "1907bis of the Civil Code, law of 21 December 2013 on SME financing) the indemnity never "
             "exceeds six months of interest on the capital repaid early. After a partial repayment you "
             "choose a shorter term or a lower instalment.", terms=indemnity_terms(loan))
