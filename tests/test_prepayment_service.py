"""Early repayment (issue 11, point 4): payoff quote with the product's indemnity, full payoff,
partial prepayment (shorter term or lower instalment) as a new schedule version; bad input books
nothing; stored positions equal the replay after each step."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import clock
from core.extensions import db
from core.models import LedgerEntry, Loan, LoanPosition, ScheduleLine
from core.plugin_api import LoanProduct
from core.services import loans, plugin_settings, positions, prepayment, repayments
from core.services.errors import ValidationFailed
from core.tenancy import acting_for, all_institutions
from tests.loans_data import make_loan, pay

D = Decimal


def _errors(call) -> dict:
    with pytest.raises(ValidationFailed) as raised:
        call()
    return {key: str(value) for key, value in raised.value.errors.items()}


def _counts() -> tuple[int, int]:
    with all_institutions("test count"):
        return (db.session.scalar(select(func.count()).select_from(LedgerEntry)),
                db.session.scalar(select(func.count()).select_from(ScheduleLine)))


def _lines(loan_id):
    loan = loans.get_loan(loan_id)
    return sorted((l for l in loan.schedule_lines if l.version == loan.schedule_version), key=lambda l: l.number)


def _pay_instalments(staff, loan, count):
    for line in _lines(loan.id)[:count]:
        pay(staff, loan, line.due_date, line.total)


MICROSTART = {
    "jump_rate": "12.13", "boost_rate": "11.13", "min_amount": "500", "max_amount": "25000",
    "young_business_max_amount": "15000", "max_term_months": "60", "guarantor_required": "y",
    "honour_loan_divisor": "3", "honour_loan_base": "microloan", "honour_loan_max_deferral_months": "24",
    "prepayment_indemnity_months": "0", "late_notice_days": "7", "followup_months": "6,12,24,36",
    "retention_years": "10",
}


def _settings(staff, **changes):
    with acting_for(staff.institution_id):
        plugin_settings.save({**MICROSTART, **changes})


def _issue_loan(staff, indemnity="0"):
    """The issue's example: 10,000 EUR at 7 % over 60 months, 12 instalments paid."""
    _settings(staff, jump_rate="7", prepayment_indemnity_months=indemnity)
    loan = make_loan(staff, principal="10000", term_months="60", disbursed_on=date(2024, 6, 10))
    with acting_for(staff.institution_id):
        _pay_instalments(staff, loan, 12)
    return loan


def test_the_issue_example_payoff_is_the_principal_plus_accrued_interest(staff_a):
    loan = _issue_loan(staff_a)
    with acting_for(staff_a.institution_id):
        last_paid = _lines(loan.id)[11].due_date
        on = last_paid + timedelta(days=20)
        quote = prepayment.payoff_quote(loans.get_loan(loan.id), on)
        assert quote.principal == D("8269.04") and quote.interest_due == 0 and quote.received == 0
        assert quote.accrued == (D("8269.04") * D("0.07") * 20 / 365).quantize(D("0.01")) == D("31.72")
        assert quote.indemnity == 0  # the product's default: none
        assert quote.total == D("8300.76")  # not 9,504.63: unearned interest is never charged
        entry = prepayment.pay_off(loan.id, on=on, user=staff_a.officer)
        assert entry.amount == D("8300.76") and entry.source == "payoff"
        closed = loans.get_loan(loan.id)
        assert closed.status == "repaid" and closed.closed_on == on
        stored = db.session.get(LoanPosition, loan.id)
        assert stored.state == "repaid" and stored.principal_outstanding == 0 and stored.credit == 0
        assert positions.verify([loan.id]) == []


def test_the_indemnity_is_a_product_setting_capped_at_six_months_interest(staff_a):
    loan = _issue_loan(staff_a, indemnity="3")
    with acting_for(staff_a.institution_id):
        assert loans.get_loan(loan.id).prepayment_indemnity_months == D("3")
        on = _lines(loan.id)[11].due_date + timedelta(days=20)
        quote = prepayment.payoff_quote(loans.get_loan(loan.id), on)
        assert quote.indemnity == (D("8269.04") * D("0.07") * 3 / 12).quantize(D("0.01")) == D("144.71")
        assert quote.total == D("8269.04") + D("31.72") + D("144.71")
        # a later change of the setting leaves the loan's contract as it was
        _settings(staff_a, jump_rate="7", prepayment_indemnity_months="1")
        assert prepayment.payoff_quote(loans.get_loan(loan.id), on).indemnity == D("144.71")
    # the setting cannot go above the legal six months
    with acting_for(staff_a.institution_id):
        assert "prepayment_indemnity_months" in _errors(
            lambda: plugin_settings.save({**MICROSTART, "prepayment_indemnity_months": "7"}))


def test_a_percentage_indemnity_is_capped_too():
    product = LoanProduct("p", {"nl": "p", "fr": "p", "en": "p"}, D("500"), D("1000"), 3, 12, D("7"),
                          prepayment_indemnity_percent=D("10"))
    assert product.problems() == []
    both = LoanProduct("p", {"nl": "p", "fr": "p", "en": "p"}, D("500"), D("1000"), 3, 12, D("7"),
                       prepayment_indemnity_percent=D("1"), prepayment_indemnity_months=D("1"))
    assert any("not both" in p for p in both.problems())
    too_many = LoanProduct("p", {"nl": "p", "fr": "p", "en": "p"}, D("500"), D("1000"), 3, 12, D("7"),
                           prepayment_indemnity_months=D("7"))
    assert any("legal maximum" in p for p in too_many.problems())
    loan = Loan(annual_rate=D("7"), prepayment_indemnity_percent=D("10"))
    assert prepayment.indemnity_rate(loan) == D("0.07") * 6 / 12  # 10 % of the capital is above the cap
    loan.prepayment_indemnity_percent = D("1")
    assert prepayment.indemnity_rate(loan) == D("0.01")


@pytest.mark.parametrize("option", [prepayment.SHORTER_TERM, prepayment.LOWER_INSTALMENT])
def test_partial_prepayment_makes_a_new_schedule_version(staff_a, option):
    loan = _issue_loan(staff_a)
    with acting_for(staff_a.institution_id):
        old = _lines(loan.id)
        on = old[11].due_date + timedelta(days=20)
        entry = prepayment.prepay(loan.id, on=on, amount=D("3000.00"), option=option, user=staff_a.officer)
        assert entry.source == "prepayment" and entry.amount == D("3000.00")
        loan_now = loans.get_loan(loan.id)
        assert loan_now.schedule_version == 2 and loan_now.rescheduled_on == on and loan_now.status == "active"
        new = _lines(loan.id)
        settlement = new[0]
        accrued = settlement.interest
        assert settlement.due_date == on and settlement.total == D("3000.00")
        capital = settlement.principal
        assert accrued == (capital * D("0.07") * 20 / 365).quantize(D("0.01"))
        remaining = D("8269.04") - capital
        assert sum((l.principal for l in new[1:]), D("0")) == remaining
        future_dates = [l.due_date for l in old[12:]]
        assert [l.due_date for l in new[1:]] == future_dates[:len(new) - 1]  # the old due dates
        if option == prepayment.SHORTER_TERM:
            assert len(new) - 1 < 48 and new[1].total <= old[12].total
        else:
            assert len(new) - 1 == 48 and new[1].total < old[12].total
        stored = db.session.get(LoanPosition, loan.id)
        assert stored.principal_outstanding == remaining and stored.first_unpaid_due_on == new[1].due_date
        assert positions.verify([loan.id]) == []
        # an early repayment is not reversed (it made the schedule): refused, nothing written
        counts = _counts()
        assert "cannot be reversed" in _errors(lambda: repayments.reverse(
            loan.id, entry.id, on=on, user=staff_a.officer))[""]
        assert _counts() == counts
        # the next instalment is paid as usual, then the loan is paid off
        pay(staff_a, loan, new[1].due_date, new[1].total)
        payoff_on = new[1].due_date + timedelta(days=5)
        quote = prepayment.payoff_quote(loans.get_loan(loan.id), payoff_on)
        assert quote.principal == remaining - new[1].principal
        prepayment.pay_off(loan.id, on=payoff_on, user=staff_a.officer)
        assert loans.get_loan(loan.id).status == "repaid"
        assert positions.verify([loan.id]) == []


def test_money_paid_ahead_and_the_same_day_payment_count_for_the_settlement(staff_a):
    loan = make_loan(staff_a, principal="6000", disbursed_on=date(2025, 1, 15))
    with acting_for(staff_a.institution_id):
        lines = _lines(loan.id)
        assert lines[1].interest > D("50")
        pay(staff_a, loan, lines[0].due_date, lines[0].total + D("50"))  # 50 paid ahead on instalment 2
        on = lines[0].due_date + timedelta(days=10)
        pay(staff_a, loan, on, D("100"))  # paid the day of the prepayment, before it
        quote = prepayment.payoff_quote(loans.get_loan(loan.id), on)
        assert quote.received == D("150.00") and quote.interest_due == 0
        assert quote.total == quote.principal + quote.accrued - D("150.00")
        prepayment.prepay(loan.id, on=on, amount=D("1000.00"), option=prepayment.LOWER_INSTALMENT,
                          user=staff_a.officer)
        assert positions.verify([loan.id]) == []
        quote = prepayment.payoff_quote(loans.get_loan(loan.id), on)
        entry = prepayment.pay_off(loan.id, on=on, user=staff_a.officer)
        assert entry.amount == quote.total
        stored = db.session.get(LoanPosition, loan.id)
        assert stored.state == "repaid" and stored.credit == 0 and stored.principal_outstanding == 0
        assert positions.verify([loan.id]) == []


# --- bad input: a field error each, nothing booked ------------------------------------------------

def test_a_prepayment_above_the_payoff_amount_is_refused(staff_a):
    loan = _issue_loan(staff_a)
    with acting_for(staff_a.institution_id):
        on = _lines(loan.id)[11].due_date + timedelta(days=20)
        counts = _counts()
        errors = _errors(lambda: prepayment.prepay(loan.id, on=on, amount=D("8300.77"),
                                                   option=prepayment.SHORTER_TERM, user=staff_a.officer))
        assert "more than the payoff amount" in errors["amount"] and "8,300.76" in errors["amount"]
        assert "payoff amount" in _errors(lambda: prepayment.prepay(
            loan.id, on=on, amount=D("8300.76"), option=prepayment.SHORTER_TERM, user=staff_a.officer))["amount"]
        assert "record it as a payment" in _errors(lambda: prepayment.prepay(
            loan.id, on=_lines(loan.id)[12].due_date, amount=_lines(loan.id)[12].total,
            option=prepayment.SHORTER_TERM, user=staff_a.officer))["amount"]
        assert "shorter term or a lower instalment" in _errors(lambda: prepayment.prepay(
            loan.id, on=on, amount=D("100"), option="both", user=staff_a.officer))["option"]
        assert _counts() == counts and loans.get_loan(loan.id).schedule_version == 1


def test_a_prepayment_dated_before_the_disbursement_or_in_the_future_is_refused(staff_a):
    loan = make_loan(staff_a, principal="6000", disbursed_on=date(2025, 1, 15))
    with acting_for(staff_a.institution_id):
        counts = _counts()
        for on, message in ((date(2025, 1, 14), "before the disbursement"),
                            (clock.today() + timedelta(days=1), "in the future")):
            assert message in _errors(lambda: prepayment.prepay(
                loan.id, on=on, amount=D("1000"), option=prepayment.SHORTER_TERM, user=staff_a.officer))["paid_on"]
            assert message in _errors(lambda: prepayment.pay_off(loan.id, on=on, user=staff_a.officer))["paid_on"]
        pay(staff_a, loan, date(2025, 3, 1), "300")
        assert "after the last ledger entry" in _errors(lambda: prepayment.prepay(
            loan.id, on=date(2025, 2, 20), amount=D("1000"), option=prepayment.SHORTER_TERM,
            user=staff_a.officer))["paid_on"]
        assert _counts() == (counts[0] + 1, counts[1])


def test_a_prepayment_on_a_written_off_or_closed_loan_is_refused(staff_a):
    written = make_loan(staff_a, principal="3000", disbursed_on=date(2025, 1, 15))
    closed = make_loan(staff_a, principal="3000", disbursed_on=date(2025, 1, 15))
    with acting_for(staff_a.institution_id):
        repayments.write_off(written.id, on=date(2025, 6, 1), user=staff_a.admin)
        prepayment.pay_off(closed.id, on=date(2025, 3, 1), user=staff_a.officer)
        counts = _counts()
        for loan, message in ((written, "written off"), (closed, "repaid")):
            assert message in _errors(lambda: prepayment.prepay(
                loan.id, on=date(2025, 7, 1), amount=D("100"), option=prepayment.SHORTER_TERM,
                user=staff_a.officer))[""]
            assert message in _errors(lambda: prepayment.pay_off(loan.id, on=date(2025, 7, 1),
                                                                 user=staff_a.officer))[""]
        assert _counts() == counts
