"""The portfolio report: active borrowers, disbursements, gross outstanding, PAR30/PAR90, write-offs,
repayment rate, and a monthly trend, aggregated in SQL.

The SQL follows the lending engine (``allocation.py`` and ``arrears.py``), on the microloan lines
of each loan's **latest** schedule version:

* the payments that count at a date are the ``payment`` entries dated on or before it, less those
  cancelled by a ``reversal`` dated on or before it;
* a payment pays instalments oldest first and, within one, fees, then interest, then principal.
  Whatever the payment dates, the result is a waterfall of the total paid over the instalments in
  order, so an instalment's outstanding principal is ``max(0, min(principal, due_through − paid))``
  where ``due_through`` is everything due up to and including it (a window function);
* an instalment is late the day after its due date while any of it is unpaid; a loan's days past
  due count from its oldest late instalment;
* a loan leaves the portfolio on the value date of its ``write_off`` entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, and_, case, distinct, exists, func, literal, select, union_all
from sqlalchemy.orm import aliased

from core.extensions import db
from core.models.lending import LedgerEntry, Loan, ScheduleLine
from core.models.positions import LoanPosition
from core.services import positions
from core.services.errors import ValidationFailed
from core.services.reports.common import (DISBURSED_STATUSES, MIN_CELL, SUPPRESSED, Period, Scope, cents,
                                          euros, in_period)
from core.tenancy import REPORT, all_institutions

MAX_TREND_MONTHS = 36


@dataclass(frozen=True)
class Quality:
    """The portfolio on one date: borrowers, loans and principal outstanding, and at risk."""

    on: date
    borrowers: int
    loans: int
    gross_outstanding: Decimal
    at_risk_30: Decimal
    at_risk_90: Decimal

    @property
    def par30(self) -> Decimal:
        return ratio(self.at_risk_30, self.gross_outstanding)

    @property
    def par90(self) -> Decimal:
        return ratio(self.at_risk_90, self.gross_outstanding)


@dataclass(frozen=True)
class Month:
    """One month of the trend: disbursed in the month, and the portfolio at its last day."""

    month: str  # YYYY-MM
    disbursed_loans: int
    disbursed_amount: Decimal
    quality: Quality


@dataclass(frozen=True)
class PortfolioReport:
    scope: Scope
    at: date
    period: Period
    quality: Quality
    disbursed_loans: int
    disbursed_amount: Decimal
    written_off: Decimal
    write_off_ratio: Decimal
    due_in_period: Decimal
    repaid_of_due: Decimal
    trend: tuple[Month, ...]

    @property
    def average_loan(self) -> Decimal:
        if not self.disbursed_loans:
            return Decimal("0.00")
        return (self.disbursed_amount / self.disbursed_loans).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    @property
    def repayment_rate(self) -> Decimal:
        return ratio(self.repaid_of_due, self.due_in_period)

    @property
    def suppressed(self) -> bool:
        """The federation sees no figure of a portfolio with fewer than five borrowers."""
        return self.scope.suppress and self.quality.borrowers < MIN_CELL

    def as_dict(self) -> dict:
        """Figures as JSON-ready values (amounts and ratios as strings; ``"<5"`` when suppressed)."""
        start, end = self.period.iso()
        head = {"scope": self.scope.name, "at": self.at.isoformat(), "from": start, "to": end}
        if self.suppressed:
            return {**head, **{key: SUPPRESSED for key in FIGURES}, "trend": []}
        return {**head, **{key: _text(getter(self)) for key, getter in FIGURES.items()},
                "trend": [{"month": m.month, "disbursed_loans": m.disbursed_loans,
                           "disbursed_amount": _text(m.disbursed_amount),
                           "gross_outstanding": _text(m.quality.gross_outstanding),
                           "par30": _text(m.quality.par30), "par90": _text(m.quality.par90)}
                          for m in self.trend]}


FIGURES = {
    "active_borrowers": lambda r: r.quality.borrowers,
    "outstanding_loans": lambda r: r.quality.loans,
    "gross_outstanding": lambda r: r.quality.gross_outstanding,
    "par30": lambda r: r.quality.par30,
    "par90": lambda r: r.quality.par90,
    "disbursed_loans": lambda r: r.disbursed_loans,
    "disbursed_amount": lambda r: r.disbursed_amount,
    "average_loan": lambda r: r.average_loan,
    "written_off": lambda r: r.written_off,
    "write_off_ratio": lambda r: r.write_off_ratio,
    "repayment_rate": lambda r: r.repayment_rate,
}


def _text(value) -> str | int:
    return value if isinstance(value, int) else f"{value}"


def ratio(part: Decimal, whole: Decimal) -> Decimal:
    """A fraction rounded half-up to 4 decimals (0.0512 is 5.12 %); 0 when ``whole`` is 0."""
    if not whole:
        return Decimal("0.0000")
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


# --- SQL building blocks ----------------------------------------------------------------------

def _paid_by(on: date):
    """Per loan: the payments dated on or before ``on`` not reversed by then (cents)."""
    reversal = aliased(LedgerEntry)
    cancelled = exists().where(reversal.reverses_id == LedgerEntry.id, reversal.kind == "reversal",
                               reversal.value_date <= on)
    return (select(LedgerEntry.loan_id.label("loan_id"), func.sum(cents(LedgerEntry.amount)).label("paid"))
            .join(Loan, Loan.id == LedgerEntry.loan_id)
            .where(LedgerEntry.kind == "payment", LedgerEntry.value_date <= on, ~cancelled, _of_current_version())
            .group_by(LedgerEntry.loan_id).subquery())


def _of_current_version():
    """A payment counts for the current schedule version: since the rescheduling, if any
    (the loans service replays the ledger the same way: ``repayments._engine_entries``)."""
    return (Loan.rescheduled_on.is_(None)) | (LedgerEntry.value_date >= Loan.rescheduled_on)


def _written_off():
    """Per loan: the value date of its (first) write-off."""
    return (select(LedgerEntry.loan_id.label("loan_id"), func.min(LedgerEntry.value_date).label("on"))
            .where(LedgerEntry.kind == "write_off").group_by(LedgerEntry.loan_id).subquery())


def _lines(scope: Scope, where: list):
    """Lines of the latest schedule version with the running total due through each.

    The microloan and the interest-free honour loan share one payment reference, so payments go
    to both schedules merged by due date (``repayments.schedule_of``): lines are ordered by due
    date, the microloan line first on a shared date. Within a date fees and interest are all on the
    microloan line, so this allocates exactly as the engine does (fees → interest → principal).
    """
    line_total = cents(ScheduleLine.principal) + cents(ScheduleLine.interest) + cents(ScheduleLine.fees)
    merged_order = (ScheduleLine.due_date, case((ScheduleLine.kind == "microloan", 0), else_=1),
                    ScheduleLine.number)
    due_through = func.sum(line_total).over(
        partition_by=(ScheduleLine.loan_id, ScheduleLine.version), order_by=merged_order, rows=(None, 0))
    conditions = [Loan.disbursed_on.is_not(None), Loan.status.in_(DISBURSED_STATUSES), *where]
    if scope.institution_id is not None:  # on both tables, so either index can serve
        conditions += [Loan.institution_id == scope.institution_id,
                       ScheduleLine.institution_id == scope.institution_id]
    principal_from = func.sum(cents(ScheduleLine.principal)).over(  # same window, one pass
        partition_by=(ScheduleLine.loan_id, ScheduleLine.version), order_by=merged_order, rows=(0, None))
    return (select(ScheduleLine.loan_id, Loan.client_id, ScheduleLine.due_date,
                   cents(ScheduleLine.principal).label("principal"), line_total.label("total"),
                   due_through.label("due_through"), principal_from.label("principal_from"))
            .join(Loan, and_(Loan.id == ScheduleLine.loan_id, Loan.schedule_version == ScheduleLine.version))
            .where(*conditions).subquery())


def _run(query):
    with all_institutions("portfolio report (scope filtered explicitly)", scope=REPORT):
        return db.session.execute(query)


def _dates(days: list[date]):
    """The report dates as a small derived table: ``on`` and the thresholds of PAR30 and PAR90."""
    rows = [select(literal(day, Date).label("on"), literal(day - timedelta(days=30), Date).label("on30"),
                   literal(day - timedelta(days=90), Date).label("on90")) for day in days]
    return (union_all(*rows) if len(rows) > 1 else rows[0]).subquery("dates")


def _paid_on_dates(dates):
    """Per loan and report date: the payments dated on or before it, not reversed by then (cents)."""
    reversal = aliased(LedgerEntry)
    cancelled = exists().where(reversal.reverses_id == LedgerEntry.id, reversal.kind == "reversal",
                               reversal.value_date <= dates.c.on)
    return (select(LedgerEntry.loan_id.label("loan_id"), dates.c.on.label("on"),
                   func.sum(cents(LedgerEntry.amount)).label("paid"))
            .join(dates, LedgerEntry.value_date <= dates.c.on)
            .join(Loan, Loan.id == LedgerEntry.loan_id)
            .where(LedgerEntry.kind == "payment", ~cancelled, _of_current_version())
            .group_by(LedgerEntry.loan_id, dates.c.on).subquery())


def qualities(scope: Scope, days: list[date]) -> list[Quality]:
    """:func:`quality_at` for several dates in one statement (the schedule window is computed once).

    A loan's first instalment not fully paid is the line ``k`` with ``due_before <= paid <
    due_through``: every earlier line is paid, so the loan is late from ``k``'s due date if that
    is past, and its outstanding principal is the principal of ``k`` and the lines after it, less
    what the payments put on ``k``'s principal. A loan paid in full has no such line.
    """
    if not days:
        return []
    dates, off = _dates(days), _written_off()
    lines = _lines(scope, [Loan.disbursed_on <= max(days)])
    paid = _paid_on_dates(dates)
    loans = (select(Loan.id.label("loan_id"), Loan.client_id, Loan.late_since, dates.c.on, dates.c.on30,
                    dates.c.on90, func.coalesce(paid.c.paid, 0).label("paid"))
             .join(dates, Loan.disbursed_on <= dates.c.on)
             .outerjoin(off, off.c.loan_id == Loan.id)
             .outerjoin(paid, and_(paid.c.loan_id == Loan.id, paid.c.on == dates.c.on))
             .where(*_scoped_loans(scope, []), (off.c.on.is_(None)) | (off.c.on > dates.c.on))
             .subquery())
    before = lines.c.due_through - lines.c.total
    on_principal = loans.c.paid - before - lines.c.total + lines.c.principal
    outstanding = lines.c.principal_from - case((on_principal > 0, on_principal), else_=0)
    # Late from the first unpaid due date, or from ``late_since`` (a rescheduled loan still late)
    # when that is older — as ``arrears.arrears_from_state`` counts days past due.
    is_late = lines.c.due_date < loans.c.on
    oldest = case((and_(loans.c.late_since.is_not(None), loans.c.late_since < lines.c.due_date),
                   loans.c.late_since), else_=lines.c.due_date)
    late30 = and_(is_late, oldest < loans.c.on30)
    late90 = and_(is_late, oldest < loans.c.on90)
    query = (select(loans.c.on, func.count(distinct(loans.c.client_id)), func.count(),
                    func.sum(outstanding), func.sum(case((late30, outstanding), else_=0)),
                    func.sum(case((late90, outstanding), else_=0)))
             .select_from(loans)
             .join(lines, and_(lines.c.loan_id == loans.c.loan_id, before <= loans.c.paid,
                               loans.c.paid < lines.c.due_through))
             .group_by(loans.c.on))
    found = {on if isinstance(on, date) else date.fromisoformat(str(on)): row
             for on, *row in _run(query)}
    result = []
    for day in days:
        borrowers, count, gross, at30, at90 = found.get(day, (0, 0, 0, 0, 0))
        result.append(Quality(day, int(borrowers or 0), int(count or 0), euros(gross), euros(at30), euros(at90)))
    return result


def quality_at(scope: Scope, on: date) -> Quality:
    """Borrowers, loans, gross outstanding principal and PAR30/PAR90 of ``scope`` on ``on``, read
    from the stored loan positions (``positions.portfolio_at``: one statement, no window)."""
    where = [] if scope.institution_id is None else [Loan.institution_id == scope.institution_id]
    with all_institutions("portfolio report (scope filtered explicitly)", scope=REPORT):
        borrowers, loans, gross, at30, at90 = positions.portfolio_at(on, where)
    return Quality(on, borrowers, loans, gross, at30, at90)


def repayment(scope: Scope, start: date, end: date) -> tuple[Decimal, Decimal]:
    """(due, repaid of it): instalments (microloan and honour, merged) due in [start, end] (up to a loan's write-off),
    and what the payments up to ``end`` paid of them, oldest first as the engine allocates.

    Only the lines due in the window are read: each stores ``due_before`` (everything due before
    it in payment order, ``positions.py``), and the window's lines of a loan follow each other."""
    paid, off = _paid_by(end), _written_off()
    total = cents(ScheduleLine.principal) + cents(ScheduleLine.interest) + cents(ScheduleLine.fees)
    conditions = [*_scoped_loans(scope, [Loan.disbursed_on <= end]), ScheduleLine.due_date >= start,
                  ScheduleLine.due_date <= end, (off.c.on.is_(None)) | (ScheduleLine.due_date <= off.c.on)]
    if scope.institution_id is not None:  # on both tables, so either index can serve
        conditions.append(ScheduleLine.institution_id == scope.institution_id)
    per_loan = (select(ScheduleLine.loan_id, func.min(cents(ScheduleLine.due_before)).label("before"),
                       func.sum(total).label("due"))
                .join(Loan, and_(Loan.id == ScheduleLine.loan_id, Loan.schedule_version == ScheduleLine.version))
                .outerjoin(off, off.c.loan_id == ScheduleLine.loan_id)
                .where(*conditions).group_by(ScheduleLine.loan_id).subquery())
    available = func.coalesce(paid.c.paid, 0) - per_loan.c.before
    repaid = case((available <= 0, 0), (available < per_loan.c.due, available), else_=per_loan.c.due)
    query = (select(func.sum(per_loan.c.due), func.sum(repaid)).select_from(per_loan)
             .outerjoin(paid, paid.c.loan_id == per_loan.c.loan_id))
    due, repaid_total = _run(query).one()
    return euros(due), euros(repaid_total)


def _scoped_loans(scope: Scope, where: list):
    conditions = [Loan.disbursed_on.is_not(None), Loan.status.in_(DISBURSED_STATUSES), *where]
    if scope.institution_id is not None:
        conditions.append(Loan.institution_id == scope.institution_id)
    return conditions


def _disbursed(scope: Scope, period: Period) -> tuple[int, Decimal]:
    query = select(func.count(Loan.id), func.sum(cents(Loan.principal))).where(
        *_scoped_loans(scope, in_period(Loan.disbursed_on, period)))
    count, total = _run(query).one()
    return int(count or 0), euros(total)


def _written_off_in(scope: Scope, period: Period) -> Decimal:
    """Principal written off in the period (stored positions): interest is no part of the ratio."""
    query = (select(func.sum(cents(LoanPosition.written_off_principal)))
             .join(Loan, Loan.id == LoanPosition.loan_id)
             .where(LoanPosition.written_off_on.is_not(None), *in_period(LoanPosition.written_off_on, period),
                    *_scoped_loans(scope, [])))
    return euros(_run(query).scalar())


def flows(scope: Scope, period: Period) -> tuple[int, Decimal, Decimal]:
    """(loans disbursed, amount disbursed, principal written off) of ``scope`` in ``period``."""
    loans, amount = _disbursed(scope, period)
    return loans, amount, _written_off_in(scope, period)


def _disbursed_by_month(scope: Scope, start: date, end: date) -> dict[str, tuple[int, Decimal]]:
    month = func.substr(func.cast(Loan.disbursed_on, db.String), 1, 7) if db.engine.dialect.name == "sqlite" \
        else func.to_char(Loan.disbursed_on, literal("YYYY-MM"))
    query = (select(month, func.count(Loan.id), func.sum(cents(Loan.principal)))
             .where(*_scoped_loans(scope, in_period(Loan.disbursed_on, Period(start, end)))).group_by(month))
    return {key: (int(count), euros(total)) for key, count, total in _run(query)}


def month_ends(start: date, end: date) -> list[date]:
    """The last day of each month from ``start``'s to ``end``'s (``end`` itself for the last)."""
    days, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        following = date(year + month // 12, month % 12 + 1, 1)
        days.append(min(following - timedelta(days=1), end))
        year, month = following.year, following.month
    return days


def default_period(at: date) -> Period:
    """The twelve months up to ``at``: from the first day of the month eleven months before."""
    year, month = (at.year, at.month - 11) if at.month > 11 else (at.year - 1, at.month + 1)
    return Period(date(year, month, 1), at)


def is_closed(day: date) -> bool:
    """True for a month end before today: the report reads its snapshot."""
    from core.services import snapshots

    return snapshots.is_month_end(day) and day <= snapshots.last_closed_month_end()


def _trend(scope: Scope, period: Period, ends: list[date]) -> tuple[Month, ...]:
    """One ``Month`` per month end: closed month ends from their snapshots (computed and stored when
    missing), the open month from stored positions. A month cut by the period's start counts its
    disbursements from that day, so those are read live."""
    from core.services import snapshots

    stored = snapshots.month_ends_of(scope, ends)
    whole = {day for day in stored if day.replace(day=1) >= period.start}
    flows = _disbursed_by_month(scope, period.start, period.end) if len(whole) < len(ends) else {}
    months = []
    for day in ends:
        key = f"{day:%Y-%m}"
        if day in whole:
            month = stored[day]
            months.append(Month(key, month.disbursed_loans, month.disbursed_amount, month.quality))
        else:
            quality = stored[day].quality if day in stored else quality_at(scope, day)
            months.append(Month(key, *flows.get(key, (0, Decimal("0.00"))), quality))
    return tuple(months)


def portfolio_report(scope: Scope, at: date, period: Period | None = None) -> PortfolioReport:
    """The portfolio of ``scope``: quality at ``at``; flows, write-off ratio, repayment rate and the
    monthly trend over ``period`` (default: the twelve months up to ``at``, at most 36 months).

    The write-off ratio is what was written off in the period ÷ the average gross outstanding
    portfolio at the month ends of the period; the repayment rate is the part of the instalments
    due in the period that was paid by its end.
    """
    period = period or default_period(at)
    start, end = period.start, period.end or at
    if start is None:
        first = _run(select(func.min(Loan.disbursed_on)).where(*_scoped_loans(scope, []))).scalar()
        start = min(first or end, end)
    ends = month_ends(start, end)
    if len(ends) > MAX_TREND_MONTHS:
        raise ValidationFailed({"from": _l("Choose a period of at most %(months)d months.",
                                           months=MAX_TREND_MONTHS)})
    period = Period(start, end)
    trend = _trend(scope, period, ends)
    quality = trend[-1].quality if ends[-1] == at and not is_closed(at) else quality_at(scope, at)
    loans, amount = _disbursed(scope, period)
    written = _written_off_in(scope, period)
    average = sum((m.quality.gross_outstanding for m in trend), Decimal(0)) / len(trend)
    due, repaid = repayment(scope, start, end)
    return PortfolioReport(scope, at, period, quality, loans, amount, written,
                           ratio(written, average), due, repaid, trend)
