"""Stored loan positions (issue 11): kept by every ledger operation, equal to the engine's replay,
read with SQL by the late list and PAR; write-off of principal and interest already due only."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from core import clock
from core.cli import main
from core.extensions import db
from core.models import LedgerEntry, Loan, LoanPosition, ScheduleLine
from core.services import allocation, loans, positions, prepayment, repayments
from core.services.errors import ValidationFailed
from core.services.schedules import build_schedule, loan_terms
from core.tenancy import acting_for, all_institutions
from tests.loans_data import make_loan, pay


def _errors(call) -> dict:
    with pytest.raises(ValidationFailed) as raised:
        call()
    return {key: str(value) for key, value in raised.value.errors.items()}


def _ledger_count() -> int:
    with all_institutions("test count"):
        return db.session.scalar(select(func.count()).select_from(LedgerEntry))


def test_the_issue_example_write_off_is_the_principal_owed_not_future_interest():
    # 10,000 EUR at 7 % over 60 months, 12 instalments paid: 8,269.04 of principal is owed.
    schedule = build_schedule(loan_terms("10000", "0.07", 60, date(2025, 1, 1)))
    paid = [allocation.Payment(i, inst.due_on, inst.total) for i, inst in enumerate(schedule.instalments[:12])]
    state = allocation.ledger_state(schedule, paid)
    on = schedule.instalments[11].due_on + timedelta(days=3)
    assert state.outstanding_principal == Decimal("8269.04")
    assert state.outstanding == Decimal("9504.63")  # what the old write-off took, future interest included
    assert positions.write_off_split(state, on) == (Decimal("8269.04"), Decimal("0.00"))


def test_write_off_takes_principal_and_due_interest_apart(staff_a):
    loan = make_loan(staff_a, principal="6000", disbursed_on=date(2025, 1, 15))
    with acting_for(staff_a.institution_id):
        first = [l for l in loans.get_loan(loan.id).schedule_lines if l.number == 1][0]
        pay(staff_a, loan, date(2025, 2, 15), first.total)
        on = date(2025, 4, 20)  # instalments 2 and 3 due and unpaid, the rest not yet due
        expected_interest = sum(l.interest + l.fees for l in loans.get_loan(loan.id).schedule_lines
                                if l.number in (2, 3))
        repayments.write_off(loan.id, on=on, user=staff_a.admin)
        stored = db.session.get(LoanPosition, loan.id)
        assert stored.written_off_principal == Decimal("6000.00") - first.principal
        assert stored.written_off_interest == expected_interest
        entry = db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "write_off")).one()
        assert entry.amount == stored.written_off_principal + expected_interest
        assert positions.quality(date(2025, 4, 21)).gross_outstanding == 0  # out of the portfolio
        assert "was written off" in _errors(
            lambda: repayments.write_off(loan.id, on=on, user=staff_a.admin))[""]


def test_bad_dates_and_reversals_book_nothing(staff_a):
    loan = make_loan(staff_a, principal="3000", disbursed_on=date(2025, 1, 15))
    other = make_loan(staff_a, principal="3000", disbursed_on=date(2025, 1, 15))
    with acting_for(staff_a.institution_id):
        entry = pay(staff_a, other, date(2025, 2, 15), "100")
        count = _ledger_count()
        future = clock.today() + timedelta(days=1)
        assert "in the future" in _errors(lambda: pay(staff_a, loan, future, "100"))["paid_on"]
        assert "before the disbursement" in _errors(lambda: pay(staff_a, loan, date(2025, 1, 1), "100"))["paid_on"]
        assert "no such payment" in _errors(lambda: repayments.reverse(
            loan.id, entry.id, on=date(2025, 3, 1), user=staff_a.officer))[""]
        assert "in the future" in _errors(lambda: repayments.write_off(
            loan.id, on=future, user=staff_a.admin))["written_off_on"]
        assert _ledger_count() == count
        # a repaid loan cannot be written off
        owed = db.session.get(LoanPosition, other.id)
        pay(staff_a, other, date(2025, 3, 1), owed.principal_outstanding + owed.interest_outstanding)
        assert loans.get_loan(other.id).status == "repaid"
        assert "Only an active loan" in _errors(lambda: repayments.write_off(
            other.id, on=date(2025, 3, 2), user=staff_a.admin))[""]
        assert _ledger_count() == count + 1


def test_verify_finds_a_tampered_position_and_refresh_repairs_it(app, runner, staff_a):
    loan = make_loan(staff_a, principal="3000", disbursed_on=date(2025, 1, 15))
    pay(staff_a, loan, date(2025, 2, 15), "200")
    assert runner.invoke(main, ["loans", "verify"]).exit_code == 0
    with all_institutions("test tamper"):
        db.session.execute(update(ScheduleLine).where(ScheduleLine.loan_id == loan.id, ScheduleLine.number == 1)
                           .values(principal_paid=Decimal("1.00")))
        db.session.commit()
    result = runner.invoke(main, ["loans", "verify", "--institution", "microstart"])
    assert result.exit_code == 1 and f"loan {loan.id}: line microloan 1.principal_paid" in result.output
    assert runner.invoke(main, ["loans", "refresh-positions"]).exit_code == 0
    assert runner.invoke(main, ["loans", "verify"]).exit_code == 0


def _engine_quality(on):
    return repayments.arrears.portfolio_quality(
        [p.arrears for p in repayments.positions_on(on)], on)


operation = st.one_of(
    st.tuples(st.just("pay"), st.integers(1, 120), st.integers(1, 900)),  # days after the last date, cents/100
    st.tuples(st.just("reverse"), st.integers(0, 5), st.integers(0, 30)),
    st.tuples(st.just("reschedule"), st.integers(6, 24), st.integers(1, 60)),
    st.tuples(st.just("write_off"), st.integers(0, 0), st.integers(1, 60)),
    st.tuples(st.just("recovery"), st.integers(1, 300), st.integers(1, 30)),
    st.tuples(st.just("prepay"), st.integers(1, 1500), st.integers(0, 45)),  # euros, days after the last date
    st.tuples(st.just("payoff"), st.integers(0, 0), st.integers(0, 45)),
)


@settings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(operation, min_size=1, max_size=6))
def test_stored_equals_replayed_after_every_step(staff_a, steps):
    loan = make_loan(staff_a, principal="2400", term_months="12", disbursed_on=date(2025, 1, 15))
    day = date(2025, 1, 15)
    with acting_for(staff_a.institution_id):
        for kind, a, b in steps:
            current = loans.get_loan(loan.id)
            try:
                if kind == "pay":
                    day = min(day + timedelta(days=a), clock.today())
                    repayments.record_payment(loan.id, paid_on=day, amount=f"{b * 3}.{a % 100:02d}",
                                              user=staff_a.officer)
                elif kind == "reverse":
                    payments = [e for e in current.ledger if e.kind == "payment"]
                    if payments:
                        day = day + timedelta(days=b)
                        repayments.reverse(loan.id, payments[a % len(payments)].id, on=day, user=staff_a.officer)
                elif kind == "reschedule":
                    day = day + timedelta(days=b)
                    repayments.reschedule_loan(loan.id, on=day, term_months=a, user=staff_a.admin)
                elif kind == "write_off":
                    day = day + timedelta(days=b)
                    repayments.write_off(loan.id, on=day, user=staff_a.admin)
                elif kind == "recovery":
                    day = day + timedelta(days=b)
                    repayments.record_recovery(loan.id, on=day, amount=str(a), user=staff_a.admin)
                elif kind == "prepay":
                    day = min(day + timedelta(days=b), clock.today())
                    prepayment.prepay(loan.id, on=day, amount=Decimal(a), user=staff_a.officer,
                                      option=(prepayment.SHORTER_TERM, prepayment.LOWER_INSTALMENT)[a % 2])
                else:
                    day = min(day + timedelta(days=b), clock.today())
                    prepayment.pay_off(loan.id, on=day, user=staff_a.officer)
            except ValidationFailed:
                db.session.rollback()
            assert positions.verify([loan.id]) == []
            for on in (day - timedelta(days=40), day, day + timedelta(days=95)):
                engine = _engine_quality(on)
                stored = positions.quality(on)
                assert (stored.gross_outstanding, stored.at_risk_30, stored.at_risk_90) == (
                    engine.gross_outstanding, engine.at_risk_30, engine.at_risk_90), (on, steps)
                late = {p.loan.id: (p.arrears.days_past_due, p.arrears.overdue_amount,
                                    p.arrears.outstanding_principal) for p in positions.late(on)}
                replayed = {p.loan.id: (p.arrears.days_past_due, p.arrears.overdue_amount,
                                        p.arrears.outstanding_principal)
                            for p in repayments.positions_on(on) if p.arrears.days_past_due > 0}
                assert late == replayed, (on, steps)


def test_payoff_quote_and_full_early_repayment(staff_a):
    loan = make_loan(staff_a, principal="6000", disbursed_on=date(2025, 1, 15))
    with acting_for(staff_a.institution_id):
        lines = sorted(loans.get_loan(loan.id).schedule_lines, key=lambda l: l.number)
        pay(staff_a, loan, lines[0].due_date, lines[0].total)
        pay(staff_a, loan, lines[1].due_date, lines[1].total)
        on = lines[1].due_date + timedelta(days=10)
        quote = prepayment.payoff_quote(loans.get_loan(loan.id), on)
        owed = sum((l.principal for l in lines[2:]), Decimal("0.00"))
        rate = loans.get_loan(loan.id).annual_rate / 100
        assert quote.principal == owed and quote.interest_due == 0 and quote.indemnity == 0
        assert quote.accrued == (owed * rate * 10 / 365).quantize(Decimal("0.01"))
        capped = prepayment.payoff_quote(loans.get_loan(loan.id), on, indemnity_months=12)
        assert capped.indemnity == (owed * rate / 2).quantize(Decimal("0.01"))  # six months at most
        future_interest = sum((l.interest for l in lines[2:]), Decimal("0.00"))
        assert quote.total < owed + future_interest  # unearned interest is not charged
        entry = prepayment.pay_off(loan.id, on=on, user=staff_a.officer)
        assert entry.amount == quote.total and loans.get_loan(loan.id).status == "repaid"
        stored = db.session.get(LoanPosition, loan.id)
        assert stored.state == "repaid" and stored.principal_outstanding == 0
        assert positions.verify([loan.id]) == []
        assert "Only an active loan" in _errors(lambda: prepayment.payoff_quote(loans.get_loan(loan.id), on))[""]
