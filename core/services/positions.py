"""Stored loan positions: derived columns on the schedule lines and a summary per loan.

Fineract's model: the ledger is the truth, and each ledger operation (disbursement, payment,
reversal, rescheduling, write-off, recovery, prepayment) calls :func:`refresh` in its own
transaction, so the stored position is never behind the ledger. Pages and reports read the stored
position with SQL; nothing replays a ledger on a page view. ``microfin loans verify`` replays every
ledger through the pure engine (``allocation.ledger_state``) and reports where the stored position
differs.

Why the stored columns are enough for any date: without an explicit principal prepayment the
engine allocates every payment oldest instalment first, fees → interest → principal, so the state
on a date is a *waterfall* of the total paid by then over the lines in merged order. Each line
stores ``due_before`` (everything due on the lines before it) and ``principal_from`` (its principal
and the principal after it); on a date ``D``, with ``paid`` the payments dated on or before ``D``
and not reversed by then, the loan's first unpaid line is the one with
``due_before <= paid < due_before + total``. It is late when its due date is before ``D``; days past
due are ``D`` minus that due date (or minus ``late_since`` for a loan rescheduled while late); the
outstanding principal is ``principal_from`` less what ``paid`` put on that line's principal.
``paid`` is the stored ``paid_total`` whenever ``D`` is on or after the loan's last ledger entry,
else one indexed sum over the loan's payments.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Iterable

from sqlalchemy import BigInteger, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from core import clock
from core.extensions import db
from core.models import LedgerEntry, Loan, LoanPosition, ScheduleLine
from core.services import allocation, arrears
from core.services.reports.common import cents
from core.services.schedules import ZERO, Instalment, LoanTerms, Schedule

PORTFOLIO_STATUSES = ("active", "repaid", "written_off")
LINE_FIELDS = ("principal_paid", "interest_paid", "fees_paid", "due_before", "principal_from")
SUMMARY_FIELDS = ("schedule_version", "state", "paid_total", "credit", "principal_outstanding",
                  "interest_outstanding", "fees_outstanding", "arrears_amount", "first_unpaid_due_on",
                  "next_due_on", "last_value_date", "written_off_on", "written_off_principal",
                  "written_off_interest")


# --- the schedule and the ledger as the engine sees them -----------------------------------------

def merged_order(line) -> tuple:
    """Lines of one version in payment order: by due date, the microloan line first on a shared date."""
    return (line.due_date, 0 if line.kind == "microloan" else 1, line.number)


def current_lines(loan: Loan, lines: Iterable[ScheduleLine] | None = None) -> list[ScheduleLine]:
    """The lines of the loan's current schedule version, in merged payment order."""
    lines = loan.schedule_lines if lines is None else lines
    return sorted((l for l in lines if l.version == loan.schedule_version), key=merged_order)


def schedule_of(loan: Loan, lines: Iterable[ScheduleLine] | None = None) -> Schedule:
    """The current schedule version, microloan and honour lines merged by due date."""
    return _schedule(current_lines(loan, lines), loan)


def _schedule(lines: list, loan) -> Schedule:
    by_date: dict[date, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for line in lines:
        parts = by_date[line.due_date]
        parts[0] += line.principal
        parts[1] += line.interest
        parts[2] += line.fees
    balance = sum((l.principal for l in lines), ZERO)
    instalments = []
    for number, due in enumerate(sorted(by_date), start=1):
        principal, interest, fee = by_date[due]
        balance -= principal
        instalments.append(Instalment(number, due, principal, interest, fee, balance))
    start = loan.rescheduled_on or loan.disbursed_on
    terms = LoanTerms(sum((l.principal for l in lines), ZERO), Decimal(loan.annual_rate) / 100,
                      loan.term_months, start)
    return Schedule(terms, tuple(instalments))


def engine_entries(loan: Loan, ledger: Iterable[LedgerEntry] | None = None) -> list:
    """Payments and reversals of the current schedule version, as allocation entries."""
    ledger = list(loan.ledger if ledger is None else ledger)
    since = loan.rescheduled_on
    payments = {e.id for e in ledger if e.kind == "payment" and (since is None or e.value_date >= since)}
    entries = []
    for entry in ledger:
        if entry.id in payments:
            entries.append(allocation.Payment(entry.id, entry.value_date, entry.amount))
        elif entry.kind == "reversal" and entry.reverses_id in payments:
            entries.append(allocation.Reversal(entry.id, entry.value_date, entry.reverses_id))
    return entries


# --- deriving a position (pure) ------------------------------------------------------------------

@dataclass(frozen=True)
class Derived:
    """A loan's position as the engine replays it: values per line (merged order) and a summary."""

    lines: tuple[dict, ...]
    summary: dict


def derive(loan, lines: list, ledger: list, today: date) -> Derived:
    """Replay ``ledger`` onto ``lines`` (current version, merged order) with the pure engine."""
    schedule = _schedule(lines, loan)
    entries = engine_entries(loan, ledger)
    state = allocation.ledger_state(schedule, entries)
    values = _split(lines, state)
    running, principal_after = ZERO, sum((l.principal for l in lines), ZERO)
    for line, value in zip(lines, values):
        value["due_before"], value["principal_from"] = running, principal_after
        running += line.principal + line.interest + line.fees
        principal_after -= line.principal
    owed = [p for p in state.positions if p.outstanding() > 0]
    write_off = next((e for e in ledger if e.kind == "write_off"), None)
    if loan.status == "written_off":
        kind = "written_off"
    elif state.repaid:
        kind = "repaid"
    else:
        kind = "late" if owed and owed[0].due_on < today else "current"
    summary = {
        "schedule_version": loan.schedule_version, "state": kind,
        "paid_total": allocation.total_paid(entries), "credit": state.credit,
        "principal_outstanding": state.outstanding_principal,
        "interest_outstanding": sum((p.outstanding(allocation.Component.INTEREST) for p in state.positions), ZERO),
        "fees_outstanding": sum((p.outstanding(allocation.Component.FEE) for p in state.positions), ZERO),
        "arrears_amount": sum((p.outstanding() for p in owed if p.due_on < today), ZERO),
        "first_unpaid_due_on": owed[0].due_on if owed else None,
        "next_due_on": next((p.due_on for p in owed if p.due_on >= today), None),
        "last_value_date": max((allocation._date(e) for e in entries), default=None),
        "written_off_on": _written_off_on(loan, write_off),
        "written_off_principal": ZERO, "written_off_interest": ZERO,
    }
    if summary["written_off_on"] is not None:
        split = write_off_split(state, summary["written_off_on"])
        summary["written_off_principal"], summary["written_off_interest"] = split
    return Derived(tuple(values), summary)


def _written_off_on(loan, write_off) -> date | None:
    """The write-off's date: its ledger entry's, else (a loan imported as written off) the closing date."""
    if write_off is not None:
        return write_off.value_date
    return loan.closed_on if loan.status == "written_off" else None


def write_off_split(state: allocation.LedgerState, on: date) -> tuple[Decimal, Decimal]:
    """(principal, interest and fees already due) still owed on ``on``: what a write-off removes.

    Interest and fees of instalments due after ``on`` are not earned and are never written off.
    """
    due = [p for p in state.positions if p.due_on <= on]
    interest = sum((p.outstanding(allocation.Component.INTEREST) + p.outstanding(allocation.Component.FEE)
                    for p in due), ZERO)
    return state.outstanding_principal, interest


def _split(lines: list, state: allocation.LedgerState) -> list[dict]:
    """What the engine paid (or waived) of each merged instalment, shared among its lines in order."""
    by_date: dict[date, list[int]] = defaultdict(list)
    for index, line in enumerate(lines):
        by_date[line.due_date].append(index)
    values = [dict(principal_paid=ZERO, interest_paid=ZERO, fees_paid=ZERO) for _ in lines]
    for position in state.positions:
        for component, field, attribute in ((allocation.Component.PRINCIPAL, "principal_paid", "principal"),
                                            (allocation.Component.INTEREST, "interest_paid", "interest"),
                                            (allocation.Component.FEE, "fees_paid", "fees")):
            left = position.paid[component] + position.waived[component]
            for index in by_date[position.due_on]:
                take = min(left, getattr(lines[index], attribute))
                values[index][field] = take
                left -= take
    return values


def waterfall(lines: list, paid: Decimal) -> list[dict]:
    """Line values when ``paid`` is spread oldest first (fees, interest, principal): the import's
    fast path, equal to the engine for payments that are not principal prepayments."""
    values, running, principal_after = [], ZERO, sum((l.principal for l in lines), ZERO)
    for line in lines:
        value = {"due_before": running, "principal_from": principal_after}
        for field, attribute in (("fees_paid", "fees"), ("interest_paid", "interest"),
                                 ("principal_paid", "principal")):
            take = max(ZERO, min(paid, getattr(line, attribute)))
            value[field], paid = take, paid - take
        running += line.principal + line.interest + line.fees
        principal_after -= line.principal
        values.append(value)
    return values


# --- keeping the stored position ----------------------------------------------------------------

def refresh(loan: Loan, today: date | None = None) -> LoanPosition | None:
    """Recompute and store the loan's position; call it in the ledger operation's transaction."""
    if loan.disbursed_on is None or loan.status not in PORTFOLIO_STATUSES:
        return None
    db.session.flush()
    db.session.expire(loan, ["ledger", "schedule_lines"])
    lines = current_lines(loan)
    derived = derive(loan, lines, list(loan.ledger), today or clock.today())
    for line, value in zip(lines, derived.lines):
        for field, amount in value.items():
            if getattr(line, field) != amount:
                setattr(line, field, amount)
    stored = db.session.get(LoanPosition, loan.id)
    if stored is None:
        stored = LoanPosition(loan_id=loan.id, institution_id=loan.institution_id)
        db.session.add(stored)
    for field, value in derived.summary.items():
        setattr(stored, field, value)
    stored.refreshed_on = today or clock.today()
    db.session.flush()
    return stored


@dataclass(frozen=True)
class Difference:
    """One stored value that is not what the replay gives."""

    loan_id: int
    field: str
    stored: object
    replayed: object


def differences(loan: Loan) -> list[Difference]:
    """Stored position against the engine's replay of the loan's ledger (empty when they agree)."""
    if loan.disbursed_on is None or loan.status not in PORTFOLIO_STATUSES:
        return []
    stored = db.session.get(LoanPosition, loan.id)
    if stored is None:
        return [Difference(loan.id, "position", None, "missing")]
    lines = current_lines(loan)
    derived = derive(loan, lines, list(loan.ledger), stored.refreshed_on)
    found = [Difference(loan.id, field, getattr(stored, field), value)
             for field, value in derived.summary.items() if getattr(stored, field) != value]
    for line, value in zip(lines, derived.lines):
        found += [Difference(loan.id, f"line {line.kind} {line.number}.{field}", getattr(line, field), amount)
                  for field, amount in value.items() if getattr(line, field) != amount]
    return found


def verify(loan_ids: Iterable[int] | None = None) -> list[Difference]:
    """Every difference between stored and replayed positions of the current institution's loans
    (or of ``loan_ids``), in batches so memory stays flat."""
    query = select(Loan.id).where(Loan.status.in_(PORTFOLIO_STATUSES), Loan.disbursed_on.is_not(None))
    if loan_ids is not None:
        query = query.where(Loan.id.in_(list(loan_ids)))
    found = []
    for batch in _batches(db.session.scalars(query.order_by(Loan.id)).all()):
        # the batch's positions into the identity map, so differences() finds each without a query
        db.session.scalars(select(LoanPosition).where(LoanPosition.loan_id.in_(batch))).all()
        for loan in _loaded(batch):
            found += differences(loan)
        if loan_ids is None:  # a whole scan: keep memory flat
            db.session.expunge_all()
    return found


def refresh_all(loan_ids: Iterable[int] | None = None) -> int:
    """Recompute every stored position of the current institution (after an upgrade or a repair)."""
    query = select(Loan.id).where(Loan.status.in_(PORTFOLIO_STATUSES), Loan.disbursed_on.is_not(None))
    if loan_ids is not None:
        query = query.where(Loan.id.in_(list(loan_ids)))
    count = 0
    for batch in _batches(db.session.scalars(query.order_by(Loan.id)).all()):
        for loan in _loaded(batch):
            refresh(loan)
            count += 1
        db.session.commit()
        db.session.expunge_all()
    return count


def _batches(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _loaded(ids: list[int]) -> list[Loan]:
    # selectinload, not joinedload: joining two collections multiplies the rows (lines x entries,
    # about 400 per loan), which made verify 50 ms a loan.
    return list(db.session.scalars(select(Loan).where(Loan.id.in_(ids))
                                   .options(selectinload(Loan.schedule_lines), selectinload(Loan.ledger))))


def import_rows(loan, line_rows: list[dict], paid: Decimal, last_value_date: date | None,
                today: date) -> dict:
    """For the portfolio writer: fill the stored columns of ``line_rows`` (dicts about to be
    inserted) for payments totalling ``paid``, and return the summary row to insert."""
    ordered = sorted(line_rows, key=lambda r: (r["due_date"], 0 if r["kind"] == "microloan" else 1, r["number"]))
    as_lines = [SimpleNamespace(**r) for r in ordered]
    for row, value in zip(ordered, waterfall(as_lines, paid)):
        row.update(value)
    total = sum((l.principal + l.interest + l.fees for l in as_lines), ZERO)
    owed = [(l, r) for l, r in zip(as_lines, ordered)
            if l.principal + l.interest + l.fees > r["principal_paid"] + r["interest_paid"] + r["fees_paid"]]
    outstanding = lambda part, field: sum((getattr(l, part) - r[field] for l, r in owed), ZERO)  # noqa: E731
    state = "written_off" if loan.status == "written_off" else "repaid" if paid >= total else (
        "late" if owed and owed[0][0].due_date < today else "current")
    return {"loan_id": loan.id, "institution_id": loan.institution_id, "schedule_version": 1, "state": state,
            "paid_total": paid, "credit": max(ZERO, paid - total),
            "principal_outstanding": outstanding("principal", "principal_paid"),
            "interest_outstanding": outstanding("interest", "interest_paid"),
            "fees_outstanding": outstanding("fees", "fees_paid"),
            "arrears_amount": sum((l.principal + l.interest + l.fees - r["principal_paid"] - r["interest_paid"]
                                   - r["fees_paid"] for l, r in owed if l.due_date < today), ZERO),
            "first_unpaid_due_on": owed[0][0].due_date if owed else None,
            "next_due_on": next((l.due_date for l, _ in owed if l.due_date >= today), None),
            "last_value_date": last_value_date, **_imported_write_off(loan, owed), "refreshed_on": today}


def _imported_write_off(loan, owed: list) -> dict:
    if loan.status != "written_off":
        return {"written_off_on": None, "written_off_principal": ZERO, "written_off_interest": ZERO}
    on = loan.closed_on
    return {"written_off_on": on,
            "written_off_principal": sum((l.principal - r["principal_paid"] for l, r in owed), ZERO),
            "written_off_interest": sum((l.interest + l.fees - r["interest_paid"] - r["fees_paid"]
                                         for l, r in owed if l.due_date <= on), ZERO)}


# --- reading positions at a date (SQL) -----------------------------------------------------------

def paid_at(on: date):
    """Per loan (correlated to ``Loan``/``LoanPosition``): cents paid by ``on``, as the engine counts."""
    payment, reversal = aliased(LedgerEntry), aliased(LedgerEntry)
    cancelled = exists().where(reversal.reverses_id == payment.id, reversal.kind == "reversal",
                               reversal.value_date <= on)
    # cast: PostgreSQL's SUM of a bigint is a numeric, and a numeric ``paid`` kept the planner from
    # using the (loan, version, due_before) index to find the first unpaid line
    replayed = (select(cast(func.coalesce(func.sum(cents(payment.amount)), 0), BigInteger))
                .where(payment.loan_id == Loan.id, payment.kind == "payment", payment.value_date <= on,
                       or_(Loan.rescheduled_on.is_(None), payment.value_date >= Loan.rescheduled_on), ~cancelled)
                .correlate(Loan).scalar_subquery())
    return case((or_(LoanPosition.last_value_date.is_(None), LoanPosition.last_value_date <= on),
                 cents(LoanPosition.paid_total)), else_=replayed)


def _first_unpaid(on: date, where: list):
    """Per portfolio loan on ``on``: its first unpaid line, with what was paid by then (cents)."""
    # MATERIALIZED: the loans (and what each had paid by ``on``) are computed once; inlined, the
    # database evaluated the paid-by-then sum again for every schedule line it joined (10 s at
    # 10,000 loans a year back). Both SQLite (3.35+) and PostgreSQL (12+) take the hint.
    loans = (select(Loan.id.label("loan_id"), Loan.client_id, Loan.late_since, Loan.schedule_version,
                    paid_at(on).label("paid"))
             .join(LoanPosition, LoanPosition.loan_id == Loan.id)
             .where(Loan.status.in_(PORTFOLIO_STATUSES), Loan.disbursed_on <= on,
                    or_(LoanPosition.written_off_on.is_(None), LoanPosition.written_off_on > on), *where)
             .cte("portfolio_loans").prefix_with("MATERIALIZED"))
    # The first unpaid line is the last line (of those owing anything) that starts at or before
    # what was paid: one backward step on the (loan, version, due_before) index per loan, a LIMIT 1
    # subquery. Joined on ``due_before <= paid < due_before + total``, the database walked every
    # line already paid of each loan (half the schedule a year back) to keep one. PostgreSQL
    # takes it as a LATERAL subquery (as a scalar subquery in the join it hashed every line due so
    # far and ran the subquery per match); SQLite has no LATERAL and looks the line up by its id.
    line = aliased(ScheduleLine)
    owing = and_(line.loan_id == loans.c.loan_id, line.version == loans.c.schedule_version,
                 cents(line.due_before) <= loans.c.paid,
                 cents(line.principal) + cents(line.interest) + cents(line.fees) > 0)
    if db.engine.dialect.name == "postgresql":
        first = (select(line.due_date, line.principal, line.interest, line.fees, line.due_before, line.principal_from)
                 .where(owing).order_by(line.due_before.desc()).limit(1).lateral("first_line"))
        cols, target, on_clause = first.c, first, None
    else:
        first_id = select(line.id).where(owing).order_by(line.due_before.desc()).limit(1).scalar_subquery()
        cols, target, on_clause = ScheduleLine, ScheduleLine, ScheduleLine.id == first_id
    total = cents(cols.principal) + cents(cols.interest) + cents(cols.fees)
    before = cents(cols.due_before)
    on_principal = loans.c.paid - before - total + cents(cols.principal)
    outstanding = cents(cols.principal_from) - case((on_principal > 0, on_principal), else_=0)
    oldest = case((and_(loans.c.late_since.is_not(None), loans.c.late_since < cols.due_date),
                   loans.c.late_since), else_=cols.due_date)
    unpaid = loans.c.paid < before + total  # else the loan is paid in full
    joined = loans.join(target, unpaid if on_clause is None else and_(on_clause, unpaid))
    return FirstUnpaid(loans, cols, outstanding, oldest, joined,
                       select(loans.c.loan_id, loans.c.client_id, loans.c.paid, cols.due_date,
                              outstanding.label("outstanding"), oldest.label("oldest")).select_from(joined))


@dataclass(frozen=True)
class FirstUnpaid:
    """:func:`_first_unpaid`'s parts: the loans CTE, the first unpaid line's columns, expressions
    on them, the join, and the select of one row per loan that owes anything on the date."""

    loans: object
    line: object
    outstanding: object
    oldest: object
    joined: object
    query: object


def quality(on: date) -> arrears.PortfolioQuality:
    """PAR30 and PAR90 of the current institution on ``on``, from stored positions (one statement)."""
    _, _, gross, at30, at90 = portfolio_at(on)
    return arrears.PortfolioQuality(on, gross, at30, at90)


def portfolio_at(on: date, where: Iterable = ()) -> tuple[int, int, Decimal, Decimal, Decimal]:
    """(borrowers, loans, gross outstanding principal, at risk 30, at risk 90) on ``on``, from
    stored positions in one statement; ``where`` narrows the loans (e.g. ``Loan.institution_id == 3``
    when run for several institutions under ``all_institutions``). A loan paid in full by then,
    written off by then or not yet disbursed does not count."""
    from datetime import timedelta

    first = _first_unpaid(on, list(where))
    loans, outstanding, oldest = first.loans, first.outstanding, first.oldest
    late = first.line.due_date < on
    row = db.session.execute(select(
        func.count(func.distinct(loans.c.client_id)), func.count(),
        func.coalesce(func.sum(outstanding), 0),
        func.coalesce(func.sum(case((and_(late, oldest < on - timedelta(days=30)), outstanding), else_=0)), 0),
        func.coalesce(func.sum(case((and_(late, oldest < on - timedelta(days=90)), outstanding), else_=0)), 0))
        .select_from(first.joined)).one()
    borrowers, count, *amounts = row
    gross, at30, at90 = (_euros(value) for value in amounts)
    return int(borrowers or 0), int(count or 0), gross, at30, at90


@dataclass(frozen=True)
class LatePosition:
    """A late loan on a date, for the follow-up list."""

    loan: Loan
    arrears: arrears.LoanArrears


def late(on: date) -> list[LatePosition]:
    """Loans with a late instalment on ``on``, longest late first, from stored positions."""
    return late_page(on)[0]


#: the follow-up list's sortable columns (``?sort=``): days past due, principal outstanding, loan
LATE_SORTS = ("days_late", "outstanding", "loan")
DEFAULT_LATE_SORT = "-days_late"


def late_page(on: date, offset: int = 0, limit: int | None = None, sort=None) -> tuple[list[LatePosition], int]:
    """One page of :func:`late` (``limit`` loans from ``offset``) and how many loans are late in
    all: the order is settled on the SQL rows, so only the page's loans are loaded. ``sort`` (a
    ``core.services.sorting.Sort`` of ``LATE_SORTS``; by default the longest late first) breaks
    ties on the loan id, ascending."""
    from core.services.sorting import parse_sort

    sort = sort or parse_sort(None, LATE_SORTS, DEFAULT_LATE_SORT)
    first = _first_unpaid(on, [])
    # the first unpaid line is due before ``on``: a CASE, so that the planner joins each loan's
    # lines by the position index instead of walking every line due so far by the due-date index
    rows = db.session.execute(first.query.where(case((first.line.due_date < on, 1), else_=0) == 1)).all()
    value = {"days_late": lambda row: (on - _day(row.oldest)).days, "outstanding": lambda row: row.outstanding,
             "loan": lambda row: row.loan_id}[sort.key]
    sign = -1 if sort.descending else 1
    rows.sort(key=lambda row: (sign * value(row), row.loan_id))
    page = rows[offset:None if limit is None else offset + limit]
    if not page:
        return [], len(rows)
    ids = [row.loan_id for row in page]
    due = {}
    # due by ``on`` summed with a CASE, not filtered in WHERE: a WHERE on due_date made SQLite walk
    # the (institution, due date) index over every line due so far instead of these loans' lines
    line_total = cents(ScheduleLine.principal) + cents(ScheduleLine.interest) + cents(ScheduleLine.fees)
    for batch in _batches(ids, 2000):
        due.update(db.session.execute(
            select(ScheduleLine.loan_id, func.sum(case((ScheduleLine.due_date < on, line_total), else_=0)))
            .join(Loan, and_(Loan.id == ScheduleLine.loan_id, Loan.schedule_version == ScheduleLine.version))
            .where(ScheduleLine.loan_id.in_(batch))
            .group_by(ScheduleLine.loan_id)).all())
    loans = {}
    for batch in _batches(ids, 2000):
        loans.update((l.id, l) for l in db.session.scalars(
            select(Loan).where(Loan.id.in_(batch)).options(joinedload(Loan.client))))
    found = [LatePosition(loans[row.loan_id], arrears.LoanArrears(
        row.loan_id, on, (on - _day(row.oldest)).days, _euros(due[row.loan_id] - row.paid), _euros(row.outstanding)))
        for row in page]
    return found, len(rows)


def late_lines(on: date) -> list:
    """Lines of active loans due before ``on`` and not fully paid by then: (loan id, client id,
    schedule version, line kind, line number, due date) — for the late-instalment notices."""
    loans = _first_unpaid(on, [Loan.status == "active"]).loans
    total = cents(ScheduleLine.principal) + cents(ScheduleLine.interest) + cents(ScheduleLine.fees)
    query = (select(loans.c.loan_id, loans.c.client_id, ScheduleLine.version, ScheduleLine.due_date)
             .join(ScheduleLine, and_(ScheduleLine.loan_id == loans.c.loan_id,
                                      ScheduleLine.version == loans.c.schedule_version))
             .where(ScheduleLine.due_date < on, loans.c.paid < cents(ScheduleLine.due_before) + total)
             .distinct().order_by(loans.c.loan_id, ScheduleLine.due_date))
    return db.session.execute(query).all()


def loan_position(loan: Loan, on: date):
    """The loan on ``on`` from its stored lines: the waterfall of what was paid by then (no replay)."""
    from core.services.repayments import Position

    stored = db.session.get(LoanPosition, loan.id)
    schedule = schedule_of(loan)
    if stored is None:
        paid = ZERO
    elif stored.last_value_date is None or stored.last_value_date <= on:
        paid = stored.paid_total
    else:
        paid = _euros(db.session.execute(select(paid_at(on)).select_from(Loan).join(
            LoanPosition, LoanPosition.loan_id == Loan.id).where(Loan.id == loan.id)).scalar())
    positions, left = [], paid
    for inst in schedule.instalments:
        due = {allocation.Component.FEE: inst.fee, allocation.Component.INTEREST: inst.interest,
               allocation.Component.PRINCIPAL: inst.principal}
        taken = {}
        for component in allocation.ORDER:
            taken[component] = min(left, due[component])
            left -= taken[component]
        positions.append(allocation.InstalmentPosition(inst.number, inst.due_on, due, taken,
                                                       dict.fromkeys(allocation.ORDER, ZERO)))
    state = allocation.LedgerState(tuple(positions), (), left)
    return Position(loan, on, schedule, state, arrears.arrears_from_state(loan.id, state, on, loan.late_since))


def _euros(value) -> Decimal:
    return (Decimal(int(value or 0)) / 100).quantize(Decimal("0.01"))


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
