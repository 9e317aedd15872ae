"""Month-end portfolio snapshots: an institution's portfolio at each closed month end, stored.

A snapshot (``PortfolioSnapshot``) holds what the portfolio report shows for a month: active
borrowers, loans and gross outstanding principal, the principal at risk over 30 and 90 days at the
month end, and the month's disbursements, write-offs and repayment (due in the month, and paid of
it by the month end). The figures are computed with SQL from the stored positions as of that date
(``reports.portfolio.quality_at``, ``repayment`` and ``flows``), never by replaying ledgers.

* The ``portfolio-snapshots`` chore writes the previous month end of every enabled institution
  early each month (``write_previous_month_everywhere``); ``microfin loans snapshots rebuild``
  rewrites them all (:func:`rebuild`).
* The trend of the portfolio report reads them (:func:`month_ends_of`), computing and storing a
  closed month end that is missing; the open month and any chosen date are read from positions.
* A ledger operation dated in a month already snapshotted (a back-dated payment, a reversal, an
  import, a back-dated disbursement or rescheduling) deletes the institution's snapshots from that
  date on, in its own flush (:func:`install`), so they are written again from the new ledger.

A snapshot is the history as it was written: a rescheduling dated after a month end leaves that
month's snapshot alone, although recomputing it (``rebuild``) would read the loan under its new
schedule (the as-of-date figures always use a loan's current schedule version).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, timedelta
from decimal import Decimal
from itertools import chain

from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from core.extensions import db
from core.models import Institution, LedgerEntry, Loan
from core.models.positions import PortfolioSnapshot
from core.models.types import utcnow
from core.services.reports import portfolio
from core.services.reports.common import Period, Scope
from core.tenancy import ALL, NOBODY, REPORT, acting_for, all_institutions, current_institution_id

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class MonthEnd:
    """The figures of one snapshot (or the sum of several institutions' for the sector)."""

    month_end: date
    borrowers: int
    loans: int
    gross_outstanding: Decimal
    at_risk_30: Decimal
    at_risk_90: Decimal
    disbursed_loans: int
    disbursed_amount: Decimal
    written_off: Decimal
    due_in_month: Decimal
    repaid_of_due: Decimal

    def __add__(self, other: "MonthEnd") -> "MonthEnd":
        return MonthEnd(self.month_end, *(getattr(self, f.name) + getattr(other, f.name) for f in FIGURES))

    @property
    def quality(self) -> portfolio.Quality:
        """The portfolio at the month end, as the report's ``Quality``."""
        return portfolio.Quality(self.month_end, self.borrowers, self.loans, self.gross_outstanding,
                                 self.at_risk_30, self.at_risk_90)

    @property
    def repayment_rate(self) -> Decimal:
        return portfolio.ratio(self.repaid_of_due, self.due_in_month)

    @classmethod
    def empty(cls, month_end: date) -> "MonthEnd":
        return cls(month_end, 0, 0, ZERO, ZERO, ZERO, 0, ZERO, ZERO, ZERO, ZERO)


FIGURES = [f for f in fields(MonthEnd) if f.name != "month_end"]


# --- dates --------------------------------------------------------------------------------------

def is_month_end(day: date) -> bool:
    """True on the last day of a month."""
    return (day + timedelta(days=1)).day == 1


def last_closed_month_end(today: date | None = None) -> date:
    """The last month end before ``today`` (Brussels): the newest month a snapshot may hold."""
    from core.services.chores import today as brussels_today

    return (today or brussels_today()).replace(day=1) - timedelta(days=1)


def closed_month_ends(start: date, today: date | None = None) -> list[date]:
    """Every month end from ``start``'s month to the last closed one."""
    last = last_closed_month_end(today)
    return [] if start > last else portfolio.month_ends(start, last)


# --- computing and writing ----------------------------------------------------------------------

def figures(institution_id: int, month_end: date) -> MonthEnd:
    """One institution's figures at ``month_end``, from stored positions as of that date (SQL)."""
    scope = Scope("snapshot", institution_id)
    quality = portfolio.quality_at(scope, month_end)
    first = month_end.replace(day=1)
    loans, amount, written = portfolio.flows(scope, Period(first, month_end))
    due, repaid = portfolio.repayment(scope, first, month_end)
    return MonthEnd(month_end, quality.borrowers, quality.loans, quality.gross_outstanding, quality.at_risk_30,
                    quality.at_risk_90, loans, amount, written, due, repaid)


def write_month_end(institution: Institution | int, month_end: date) -> MonthEnd:
    """Compute and store ``institution``'s snapshot at ``month_end`` (insert or replace: running it
    twice leaves one row). Not committed: the caller's transaction decides."""
    institution_id = institution if isinstance(institution, int) else institution.id
    found = figures(institution_id, month_end)
    with acting_for(institution_id):  # the institution's own row (row-level security checks it)
        _upsert(institution_id, found)
    return found


def _upsert(institution_id: int, found: MonthEnd) -> None:
    table = PortfolioSnapshot.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    values = {f.name: getattr(found, f.name) for f in FIGURES}
    statement = insert(table).values(institution_id=institution_id, month_end=found.month_end,
                                     written_at=utcnow(), **values)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.institution_id, table.c.month_end],
        set_={**{name: statement.excluded[name] for name in values}, "written_at": statement.excluded.written_at})
    db.session.execute(statement)


def _first_disbursement(institution_id: int) -> date | None:
    with all_institutions("snapshots of one institution (filtered explicitly)", scope=REPORT):
        return db.session.scalar(select(func.min(Loan.disbursed_on)).where(
            Loan.institution_id == institution_id, Loan.disbursed_on.is_not(None)))


def rebuild(institution: Institution | int | None = None, since: date | None = None,
            today: date | None = None) -> int:
    """Rewrite the snapshots of ``institution`` (default: every enabled institution) at every closed
    month end from ``since`` (default: its first disbursement); one commit per institution.
    Returns how many snapshots were written."""
    from core.services.institutions import enabled_institutions

    targets = enabled_institutions() if institution is None else [institution]
    written = 0
    for target in targets:
        institution_id = target if isinstance(target, int) else target.id
        start = since or _first_disbursement(institution_id)
        for month_end in closed_month_ends(start, today) if start else []:
            write_month_end(institution_id, month_end)
            written += 1
        db.session.commit()
    return written


def write_previous_month_everywhere() -> int:
    """The chore: each enabled institution's snapshot of the month just closed, and any closed month
    end of the last twelve that a back-dated entry cleared. Returns how many were written."""
    from core.services.institutions import enabled_institutions

    last = last_closed_month_end()
    ends = portfolio.month_ends(portfolio.default_period(last).start, last)
    written = 0
    for institution in enabled_institutions():
        missing = [last] + [day for day in _missing(institution.id, ends) if day != last]
        for month_end in missing:
            write_month_end(institution.id, month_end)
        written += len(missing)
        db.session.commit()
    return written


def _missing(institution_id: int, ends: list[date]) -> list[date]:
    with all_institutions("snapshots of one institution (filtered explicitly)", scope=REPORT):
        stored = set(db.session.scalars(select(PortfolioSnapshot.month_end).where(
            PortfolioSnapshot.institution_id == institution_id, PortfolioSnapshot.month_end.in_(ends))))
    return [day for day in ends if day not in stored]


# --- reading ------------------------------------------------------------------------------------

def month_ends_of(scope: Scope, days: list[date], today: date | None = None) -> dict[date, MonthEnd]:
    """The stored figures of ``scope`` at the closed month ends among ``days`` (the sector: the sum
    of every institution's), in one query. A missing snapshot is computed, stored and committed
    first. Days that are not closed month ends are left out: the caller reads them from positions."""
    last = last_closed_month_end(today)
    wanted = sorted({day for day in days if is_month_end(day) and day <= last})
    if not wanted:
        return {}
    with all_institutions("snapshots of the report's scope (filtered explicitly)", scope=REPORT):
        ids = ([scope.institution_id] if scope.institution_id is not None
               else list(db.session.scalars(select(Institution.id))))
        rows = db.session.scalars(select(PortfolioSnapshot).where(
            PortfolioSnapshot.institution_id.in_(ids), PortfolioSnapshot.month_end.in_(wanted))).all()
    stored = {(row.institution_id, row.month_end): _from_row(row) for row in rows}
    missing = [(i, day) for i in ids for day in wanted if (i, day) not in stored]
    for institution_id, day in missing:
        stored[(institution_id, day)] = write_month_end(institution_id, day)
    if missing:
        db.session.commit()
    found = {day: MonthEnd.empty(day) for day in wanted}
    for (_, day), month in stored.items():
        found[day] = found[day] + month
    return found


def _from_row(row: PortfolioSnapshot) -> MonthEnd:
    return MonthEnd(row.month_end, *(getattr(row, f.name) for f in FIGURES))


# --- staleness ----------------------------------------------------------------------------------

LOAN_DATES = ("disbursed_on", "rescheduled_on")


def _history_dates(obj, attribute: str) -> list[date]:
    from sqlalchemy import inspect

    history = inspect(obj).attrs[attribute].history
    return [d for d in chain(history.added, history.deleted, history.unchanged) if d is not None] \
        if history.has_changes() else []


def _touched(obj, is_new: bool, is_deleted: bool) -> date | None:
    """The earliest date whose figures a pending change of ``obj`` alters, or None."""
    if isinstance(obj, LedgerEntry):
        dates = [obj.value_date] if (is_new or is_deleted) else _history_dates(obj, "value_date") or (
            [obj.value_date] if _changed(obj) else [])
        return min((d for d in dates if d is not None), default=None)
    if isinstance(obj, Loan):
        if is_new or is_deleted:
            return obj.disbursed_on
        dates = [d for name in LOAN_DATES for d in _history_dates(obj, name)]
        if _changed(obj, ("schedule_version", "late_since", "status")):
            dates += [d for d in (obj.rescheduled_on, obj.closed_on, obj.disbursed_on) if d is not None][:1]
        return min(dates, default=None)
    return None


def _changed(obj, names: tuple[str, ...] | None = None) -> bool:
    from sqlalchemy import inspect

    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in (names or state.attrs.keys()))


def _institution_of(obj) -> int | None:
    if obj.institution_id is not None:
        return obj.institution_id
    tenant = current_institution_id()
    return None if tenant in (ALL, NOBODY) else tenant


def _clear_stale(session: Session, _flush_context, _instances) -> None:
    """Before a flush: delete the snapshots a pending ledger or loan change makes wrong (month ends
    on or after its date), in the same transaction."""
    since: dict[int | None, date] = {}
    for group, is_new, is_deleted in ((session.new, True, False), (session.dirty, False, False),
                                      (session.deleted, False, True)):
        for obj in group:
            day = _touched(obj, is_new, is_deleted) if isinstance(obj, (LedgerEntry, Loan)) else None
            if day is not None:
                key = _institution_of(obj)
                since[key] = min(day, since.get(key, day))
    table = PortfolioSnapshot.__table__
    for institution_id, day in since.items():
        clause = table.c.month_end >= day
        if institution_id is not None:  # unknown owner: clear every institution's, to be safe
            clause = clause & (table.c.institution_id == institution_id)
        session.connection().execute(delete(table).where(clause))


def install() -> None:
    """Attach the staleness listener to every session (idempotent)."""
    if not event.contains(Session, "before_flush", _clear_stale):
        event.listen(Session, "before_flush", _clear_stale)
