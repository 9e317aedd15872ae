"""Month-end portfolio snapshots (issue 11, point 2): figures equal the as-of-date figures, the
trend reads them, a back-dated ledger entry clears the months it changes, the monthly chore,
``microfin loans snapshots rebuild``, and one institution's snapshots never reach another's."""
from __future__ import annotations

import csv
from datetime import date, datetime, time
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select, update

from core import clock
from core.cli import main
from core.extensions import db
from core.models import Loan
from core.models.positions import PortfolioSnapshot
from core.services import chores, repayments, snapshots
from core.services.reports.common import Period, institution_scope, sector_scope
from core.services.reports.portfolio import flows, portfolio_report, quality_at, repayment
from core.tenancy import acting_for, all_institutions
from tests.reports_data import make_loan, pay, person, reverse
from tests.test_reports_portfolio import _engine, book  # noqa: F401  (the hand-built portfolio)

ENDS = [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30), date(2025, 5, 31),
        date(2025, 6, 30)]
HALF_YEAR = Period(date(2025, 1, 1), date(2025, 6, 30))


def _stored(institution_id=None) -> dict:
    with all_institutions("test reads snapshots"):
        table = PortfolioSnapshot.__table__
        query = select(table)
        if institution_id is not None:
            query = query.where(table.c.institution_id == institution_id)
        rows = db.session.execute(query).all()
    return {(row.institution_id, row.month_end): row for row in rows}


def _ends(institution_id) -> list[date]:
    return sorted(day for owner, day in _stored(institution_id) if owner == institution_id)


class Statements:
    """Counts the SQL statements run inside the block."""

    def __enter__(self):
        self.seen = []
        event.listen(db.engine, "before_cursor_execute", self._record)
        return self

    def _record(self, _conn, _cursor, statement, *_args):
        self.seen.append(statement)

    def __exit__(self, *_exc):
        event.remove(db.engine, "before_cursor_execute", self._record)


# --- the figures ----------------------------------------------------------------------------------

def test_a_snapshot_holds_the_figures_of_its_month_end(book, staff_a):
    scope = institution_scope("microstart")
    for month_end in ENDS:
        written = snapshots.write_month_end(staff_a.institution_id, month_end)
        db.session.commit()
        expected, rows = _engine(book, month_end)  # the lending engine, loan by loan
        assert (written.gross_outstanding, written.at_risk_30, written.at_risk_90) == (
            expected.gross_outstanding, expected.at_risk_30, expected.at_risk_90), month_end
        assert written.loans == sum(1 for r in rows if r.outstanding_principal > 0)
        assert written.quality == quality_at(scope, month_end)  # the positions on that date
        first = month_end.replace(day=1)
        assert (written.disbursed_loans, written.disbursed_amount, written.written_off) == flows(
            scope, Period(first, month_end))
        assert (written.due_in_month, written.repaid_of_due) == repayment(scope, first, month_end)
        row = _stored(staff_a.institution_id)[(staff_a.institution_id, month_end)]
        assert (row.borrowers, row.gross_outstanding, row.at_risk_30, row.repaid_of_due) == (
            written.borrowers, written.gross_outstanding, written.at_risk_30, written.repaid_of_due)
    april = _stored(staff_a.institution_id)[(staff_a.institution_id, date(2025, 4, 30))]
    assert (april.borrowers, april.loans) == (3, 4) and april.at_risk_90 > 0  # not vacuous
    march = _stored(staff_a.institution_id)[(staff_a.institution_id, date(2025, 3, 31))]
    assert (march.disbursed_loans, march.disbursed_amount) == (1, Decimal("2400.00"))
    assert march.written_off == Decimal("1105.38")  # the write-off of 1 March 2025, principal only


def test_writing_twice_leaves_one_row(book, staff_a):
    for _ in range(2):
        snapshots.write_month_end(staff_a.institution_id, date(2025, 4, 30))
        db.session.commit()
    assert _ends(staff_a.institution_id) == [date(2025, 4, 30)]


# --- the trend reads them -------------------------------------------------------------------------

def test_the_trend_shows_what_the_snapshots_hold(book, staff_a):
    assert snapshots.rebuild(staff_a.institution_id, since=date(2025, 1, 1), today=date(2025, 7, 1)) == 6
    with all_institutions("test: mark a stored snapshot"):
        db.session.execute(update(PortfolioSnapshot).where(
            PortfolioSnapshot.institution_id == staff_a.institution_id,
            PortfolioSnapshot.month_end == date(2025, 3, 31)).values(
            gross_outstanding=Decimal("12345.67"), disbursed_loans=7))
        db.session.commit()
    report = portfolio_report(institution_scope("microstart"), date(2025, 6, 30), HALF_YEAR)
    march = report.trend[2]
    assert march.month == "2025-03" and march.quality.gross_outstanding == Decimal("12345.67")
    assert march.disbursed_loans == 7
    assert report.trend[3].quality == quality_at(institution_scope("microstart"), date(2025, 4, 30))


def test_stored_month_ends_are_read_in_one_statement(book, staff_a):
    scope = institution_scope("microstart")
    snapshots.month_ends_of(scope, ENDS)  # computes and stores the six
    assert _ends(staff_a.institution_id) == ENDS
    with Statements() as counted:
        found = snapshots.month_ends_of(scope, ENDS)
    assert len(counted.seen) == 1 and "portfolio_snapshots" in counted.seen[0]
    assert sorted(found) == ENDS
    with Statements() as counted:
        portfolio_report(scope, date(2025, 6, 30), HALF_YEAR)
    assert not any("over (" in s.lower() for s in counted.seen)  # no window over every schedule line
    assert len(counted.seen) <= 8


def test_a_missing_closed_month_end_is_computed_and_stored_when_read(book, staff_a, staff_b):
    report = portfolio_report(institution_scope("microstart"), date(2025, 6, 30), HALF_YEAR)
    assert _ends(staff_a.institution_id) == ENDS
    assert _ends(staff_b.institution_id) == []  # only the report's own institution
    assert report.trend[-1].quality == report.quality  # snapshot of 30 June == positions on 30 June
    open_month = portfolio_report(institution_scope("microstart"), clock.today())
    assert open_month.trend[-1].quality == open_month.quality  # the open month: live
    assert clock.today() not in {day for _, day in _stored()}


def test_the_sectors_trend_adds_every_institutions_snapshots(book, staff_a, staff_b):
    sector = portfolio_report(sector_scope(suppress=False), date(2025, 6, 30), HALF_YEAR)
    stored = _stored()
    assert {owner for owner, _ in stored} >= {staff_a.institution_id, staff_b.institution_id}
    one = sum((stored[(staff_a.institution_id, date(2025, 5, 31))].gross_outstanding,
               stored[(staff_b.institution_id, date(2025, 5, 31))].gross_outstanding), Decimal(0))
    assert sector.trend[4].quality.gross_outstanding == one
    assert sector.trend[4].quality == quality_at(sector_scope(suppress=False), date(2025, 5, 31))


# --- staleness ------------------------------------------------------------------------------------

def test_a_back_dated_payment_clears_the_months_it_changes(book, staff_a, staff_b):
    snapshots.rebuild(staff_a.institution_id, since=date(2025, 1, 1), today=date(2025, 7, 1))
    snapshots.rebuild(staff_b.institution_id, since=date(2025, 1, 1), today=date(2025, 7, 1))
    before = quality_at(institution_scope("microstart"), date(2025, 4, 30))
    pay(staff_a, book["partial"], date(2025, 4, 20), "200.00")  # back-dated, in a snapshotted month
    assert _ends(staff_a.institution_id) == ENDS[:3]  # March and before stay, April on are gone
    assert len(_ends(staff_b.institution_id)) == 6  # another institution's are untouched
    report = portfolio_report(institution_scope("microstart"), date(2025, 6, 30), HALF_YEAR)
    april = report.trend[3].quality
    assert april == quality_at(institution_scope("microstart"), date(2025, 4, 30)) != before
    assert _ends(staff_a.institution_id) == ENDS  # written again on that read


def test_a_reversal_and_a_service_payment_clear_from_their_value_date(book, staff_a):
    snapshots.rebuild(staff_a.institution_id, since=date(2025, 1, 1), today=date(2025, 7, 1))
    payment = pay(staff_a, book["on_time"], date(2025, 2, 5), "50.00")
    assert _ends(staff_a.institution_id) == ENDS[:1]
    snapshots.rebuild(staff_a.institution_id, since=date(2025, 1, 1), today=date(2025, 7, 1))
    reverse(staff_a, book["on_time"], date(2025, 6, 10), payment)
    assert _ends(staff_a.institution_id) == ENDS[:5]
    snapshots.rebuild(staff_a.institution_id, since=date(2025, 1, 1), today=date(2025, 7, 1))
    with acting_for(staff_a.institution_id):  # through the loans service, as an officer books it
        repayments.record_payment(book["rescheduled"].loan.id, paid_on=date(2025, 5, 30), amount="10.00",
                                  user=staff_a.officer)
    assert _ends(staff_a.institution_id) == ENDS[:4]


def test_the_clearing_is_part_of_the_ledger_operations_transaction(book, staff_a):
    """The delete runs in the flush of the entry: rolled back with it, committed with it."""
    from core.models import LedgerEntry

    snapshots.rebuild(staff_a.institution_id, since=date(2025, 1, 1), today=date(2025, 7, 1))
    with acting_for(staff_a.institution_id):
        db.session.add(LedgerEntry(loan_id=book["partial"].loan.id, kind="payment", amount=Decimal("10.00"),
                                   value_date=date(2025, 3, 15)))
        db.session.flush()
        with all_institutions("test: what the transaction sees"):
            inside = db.session.scalar(select(func.count()).select_from(PortfolioSnapshot))
        db.session.rollback()
    assert inside == 2 and _ends(staff_a.institution_id) == ENDS


def test_a_back_dated_disbursement_and_an_import_clear_their_months(app, runner, staff_a, tmp_path):
    from tests.loans_data import make_loan as service_loan
    from tests.test_portfolio_writer import _write
    from bench.portfolio_csv import rows

    first = person(staff_a, last_name="Early")
    make_loan(staff_a, first, "3000", date(2025, 1, 10))
    snapshots.rebuild(staff_a.institution_id, since=date(2025, 1, 1), today=date(2025, 7, 1))
    service_loan(staff_a, disbursed_on=date(2025, 5, 2))
    assert _ends(staff_a.institution_id) == ENDS[:4]
    snapshots.rebuild(staff_a.institution_id, since=date(2025, 1, 1), today=date(2025, 7, 1))
    items = list(rows(3))
    oldest = min(date.fromisoformat(r["disbursed_on"]) for r in items)
    result = runner.invoke(main, ["import", "portfolio", str(_write(tmp_path / "p.csv", items)),
                                  "--institution", "microstart"])
    assert result.exit_code == 0, result.output
    assert all(day < oldest for day in _ends(staff_a.institution_id))


# --- the chore ------------------------------------------------------------------------------------

CHORE = next(c for c in chores.CHORES if c.name == "portfolio-snapshots")


def test_the_monthly_chore_writes_the_month_just_closed_for_every_enabled_institution(app, staff_a, staff_b):
    from core.services.institutions import enabled_institutions

    last = snapshots.last_closed_month_end()
    start = datetime.combine(chores.today().replace(day=1), time(1, 30), chores.BRUSSELS)
    assert chores.run_due(start, chores=[CHORE]) == []  # not before 02:00
    customer = person(staff_a, last_name="Monthly")
    make_loan(staff_a, customer, "2000", last.replace(day=1))
    [run] = chores.run_due(start.replace(hour=3), chores=[CHORE], worker="w1")
    institutions = [i.id for i in enabled_institutions()]
    assert run.ok, run.result
    assert {(owner, day) for owner, day in _stored()} >= {(i, last) for i in institutions}
    mine = _stored(staff_a.institution_id)[(staff_a.institution_id, last)]
    assert (mine.disbursed_loans, mine.disbursed_amount) == (1, Decimal("2000.00"))
    assert chores.run_due(start.replace(hour=9), chores=[CHORE]) == []  # once a month, however many workers


def test_the_chore_fills_a_month_a_back_dated_entry_cleared(app, staff_a):
    last = snapshots.last_closed_month_end()
    three_back = snapshots.portfolio.month_ends(date(last.year - 1, last.month, 1), last)[-4]
    customer = person(staff_a, last_name="Refill")
    make_loan(staff_a, customer, "2000", three_back.replace(day=1))
    from core.services.institutions import enabled_institutions

    enabled = len(enabled_institutions())
    assert snapshots.write_previous_month_everywhere() == 12 * enabled  # nothing stored yet: the last year
    assert three_back in _ends(staff_a.institution_id)
    with all_institutions("test: a back-dated entry cleared three months"):
        db.session.execute(PortfolioSnapshot.__table__.delete().where(
            PortfolioSnapshot.institution_id == staff_a.institution_id, PortfolioSnapshot.month_end >= three_back))
        db.session.commit()
    assert snapshots.write_previous_month_everywhere() == enabled + 3  # the closed month again, and the gap
    assert three_back in _ends(staff_a.institution_id)


# --- the command ----------------------------------------------------------------------------------

def test_rebuild_command_writes_one_institution_only(book, runner, staff_a, staff_b):
    result = runner.invoke(main, ["loans", "snapshots", "rebuild", "--institution", "microstart"])
    assert result.exit_code == 0, result.output
    ends = _ends(staff_a.institution_id)
    last = snapshots.last_closed_month_end()
    assert ends[0] == date(2024, 6, 30) and ends[-1] == last  # first disbursement to the last closed month
    assert result.output.strip() == f"{len(ends)} snapshot(s) written"
    assert _ends(staff_b.institution_id) == []
    again = runner.invoke(main, ["loans", "snapshots", "rebuild", "--institution", "microstart",
                                 "--since", "2025-03-01"])
    assert again.exit_code == 0 and again.output.strip() == f"{len(ends) - 9} snapshot(s) written"
    assert _ends(staff_a.institution_id) == ends


def test_rebuild_command_refuses_an_unknown_institution_and_a_bad_date(book, runner):
    unknown = runner.invoke(main, ["loans", "snapshots", "rebuild", "--institution", "nowhere"])
    assert unknown.exit_code == 2 and "no institution 'nowhere'" in unknown.output
    bad = runner.invoke(main, ["loans", "snapshots", "rebuild", "--since", "March"])
    assert bad.exit_code == 2 and "--since" in bad.output
    assert _stored() == {}


def test_rebuild_without_institution_covers_every_institution(book, runner, staff_a, staff_b):
    result = runner.invoke(main, ["loans", "snapshots", "rebuild", "--since", "2025-01-01"])
    assert result.exit_code == 0, result.output
    assert _ends(staff_a.institution_id)[0] == date(2025, 1, 31)
    assert _ends(staff_b.institution_id)[0] == date(2025, 1, 31)


# --- tenant isolation -----------------------------------------------------------------------------

def test_an_officer_sees_only_their_own_institutions_trend(book, as_user, staff_a, staff_b):
    snapshots.rebuild(staff_a.institution_id, since=date(2025, 1, 1), today=date(2025, 7, 1))
    with all_institutions("test: a marker in microStart's snapshot"):
        db.session.execute(update(PortfolioSnapshot).where(
            PortfolioSnapshot.institution_id == staff_a.institution_id,
            PortfolioSnapshot.month_end == date(2025, 3, 31)).values(gross_outstanding=Decimal("98765.43")))
        db.session.commit()
    url = "/reports/portfolio?at=2025-06-30&from=2025-01-01&to=2025-06-30&format=csv"
    own = as_user(staff_a.officer).get(url).get_data(as_text=True)
    assert "98765.43" in own
    other = as_user(staff_b.officer).get(url)
    assert other.status_code == 200 and "98765.43" not in other.get_data(as_text=True)
    rows = list(csv.reader(other.get_data(as_text=True).lstrip("\ufeff").splitlines()))
    assert ["2025-03", "0", "0.00", "9999.00", "1.0000", "0.0000"] in [r[-6:] for r in rows]  # Hefboom's own loan, late since February
    assert _ends(staff_b.institution_id) == ENDS  # computed for Hefboom, from Hefboom's loans
    assert len(_ends(staff_a.institution_id)) == 6
