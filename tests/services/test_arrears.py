"""Days past due, buckets and PAR on a hand-checked portfolio."""
from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.services.allocation import Payment
from core.services.arrears import Bucket, bucket_for, late_loans, loan_arrears, portfolio_quality
from core.services.schedules import Method, build_schedule, loan_terms, reschedule
from tests.services.strategies import schedules


def interest_free(disbursed_on):
    """1,200 over 12 months: 100.00 due every month from a month after ``disbursed_on``."""
    return build_schedule(loan_terms("1200", "0", 12, disbursed_on, method=Method.EQUAL_PRINCIPAL))


def paid(schedule, count, extra=()):
    return [Payment(n, i.due_on, i.total) for n, i in enumerate(schedule.instalments[:count])] + list(extra)


ON = date(2026, 6, 15)
JAN_1, JAN_16 = interest_free(date(2026, 1, 1)), interest_free(date(2026, 1, 16))
PORTFOLIO = {  # due so far on 15 June: 1 Feb..1 Jun (5 x 100), or 16 Feb..16 May (4 x 100)
    "A": (JAN_1, paid(JAN_1, 5)),   # up to date: 700 outstanding, current
    "B": (JAN_1, paid(JAN_1, 3)),   # 1 May unpaid: 45 days, 900 outstanding
    "C": (JAN_1, []),               # nothing paid since 1 Feb: 134 days, 1,200 outstanding
    "D": (JAN_1, paid(JAN_1, 4)),   # 1 June unpaid: 14 days, 800 outstanding
    "E": (JAN_16, paid(JAN_16, 3)),  # 16 May unpaid: exactly 30 days (not > 30), 900 outstanding
}


def test_days_past_due_and_buckets_of_each_loan():
    found = {ref: loan_arrears(ref, s, ledger, ON) for ref, (s, ledger) in PORTFOLIO.items()}
    assert {ref: (a.days_past_due, a.bucket, a.outstanding_principal) for ref, a in found.items()} == {
        "A": (0, Bucket.CURRENT, D("700.00")), "B": (45, Bucket.DAYS_31_60, D("900.00")),
        "C": (134, Bucket.OVER_90, D("1200.00")), "D": (14, Bucket.DAYS_1_30, D("800.00")),
        "E": (30, Bucket.DAYS_1_30, D("900.00"))}
    assert found["B"].overdue_amount == D("200.00")
    assert [a.loan for a in late_loans(found.values())] == ["C", "B", "E", "D"]


def test_par30_and_par90_of_the_hand_checked_portfolio():
    quality = portfolio_quality([loan_arrears(ref, s, ledger, ON) for ref, (s, ledger) in PORTFOLIO.items()], ON)
    assert quality.gross_outstanding == D("4500.00")
    assert quality.at_risk_30 == D("2100.00")  # B and C, their whole balances
    assert quality.at_risk_90 == D("1200.00")  # C
    assert quality.par30 == D("0.4667") and quality.par90 == D("0.2667")


def test_arrears_at_an_earlier_date_ignore_later_payments():
    schedule, _ = PORTFOLIO["C"]
    late_payment = [Payment(1, date(2026, 3, 10), D("100.00"))]
    assert loan_arrears("C", schedule, late_payment, date(2026, 3, 3)).days_past_due == 30
    assert loan_arrears("C", schedule, late_payment, date(2026, 3, 4)).days_past_due == 31
    assert loan_arrears("C", schedule, late_payment, date(2026, 3, 10)).days_past_due == 9  # 1 Mar now oldest
    assert loan_arrears("C", schedule, [], date(2026, 2, 1)).days_past_due == 0  # due today is not late


def test_an_empty_portfolio_has_no_risk():
    assert portfolio_quality([], ON).par30 == 0
    with pytest.raises(ValueError):
        portfolio_quality([loan_arrears("A", JAN_1, [], date(2026, 1, 1))], ON)


def test_a_rescheduled_loan_stays_at_risk_while_late():
    new = reschedule(JAN_1, D("1000.00"), date(2026, 6, 1), 10)
    assert loan_arrears("C", new, [], date(2026, 6, 15), late_since=date(2026, 3, 1)).days_past_due == 0
    late = loan_arrears("C", new, [], date(2026, 7, 10), late_since=date(2026, 3, 1))
    assert late.days_past_due == 131 and late.bucket == Bucket.OVER_90
    on_time = [Payment(1, date(2026, 7, 1), D("100.00"))]
    assert loan_arrears("C", new, on_time, date(2026, 7, 10), late_since=date(2026, 3, 1)).days_past_due == 0


@pytest.mark.parametrize("days, bucket", [(0, Bucket.CURRENT), (1, Bucket.DAYS_1_30), (30, Bucket.DAYS_1_30),
                                          (31, Bucket.DAYS_31_60), (60, Bucket.DAYS_31_60), (61, Bucket.DAYS_61_90),
                                          (90, Bucket.DAYS_61_90), (91, Bucket.OVER_90)])
def test_bucket_edges(days, bucket):
    assert bucket_for(days) == bucket


@settings(max_examples=100, deadline=None)
@given(schedules, st.integers(0, 3000), st.integers(0, 90))
def test_unpaid_loans_are_late_from_their_first_unpaid_due_date(schedule, offset, paid_count):
    on = date.fromordinal(schedule.terms.disbursed_on.toordinal() + offset)
    settled = [i for i in schedule.instalments[:paid_count] if i.due_on <= on]
    ledger = [Payment(i.number, i.due_on, i.total) for i in settled if i.total > 0]
    arrears = loan_arrears("x", schedule, ledger, on)
    unpaid = [i for i in schedule.instalments[len(settled):] if i.total > 0 and i.due_on < on]
    assert arrears.days_past_due == ((on - unpaid[0].due_on).days if unpaid else 0)
    paid_principal = sum((i.principal for i in settled), D("0.00"))
    assert arrears.outstanding_principal == schedule.principal - paid_principal
