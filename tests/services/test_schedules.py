"""Repayment schedules: hand-checked tables and properties over the whole product space."""
from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.services.errors import ValidationFailed
from core.services.schedules import (Frequency, Grace, Method, add_months, annuity_payment, build_schedule,
                                      honour_loan_schedule, loan_terms, reschedule)
from tests.services.strategies import schedules

FAST = settings(max_examples=200, deadline=None)


def rows(schedule):
    return [(i.number, i.due_on, i.principal, i.interest, i.fee, i.balance_after) for i in schedule.instalments]


def test_annuity_10000_at_7_percent_over_60_months_is_198_01_a_month():
    schedule = build_schedule(loan_terms("10000", "0.07", 60, date(2026, 1, 15)))
    first, second, last = schedule.instalments[0], schedule.instalments[1], schedule.instalments[-1]
    assert first.principal + first.interest == D("198.01")
    # 10,000 x 0.07 / 12 = 58.333.. -> 58.33; 9,860.32 x 0.07 / 12 = 57.5185.. -> 57.52
    assert (first.interest, first.principal, first.balance_after) == (D("58.33"), D("139.68"), D("9860.32"))
    assert (second.interest, second.principal, second.balance_after) == (D("57.52"), D("140.49"), D("9719.83"))
    assert all(i.total == D("198.01") for i in schedule.instalments[:-1])
    assert last.total == D("198.16") and last.balance_after == 0  # the last takes the remainder
    assert schedule.total_principal == D("10000.00") and schedule.total_interest == D("1880.75")
    assert last.due_on == date(2031, 1, 15)


def test_equal_principal_table():
    schedule = build_schedule(loan_terms("1200", "0.12", 3, date(2026, 3, 1), method=Method.EQUAL_PRINCIPAL))
    assert rows(schedule) == [
        (1, date(2026, 4, 1), D("400.00"), D("12.00"), D("0.00"), D("800.00")),
        (2, date(2026, 5, 1), D("400.00"), D("8.00"), D("0.00"), D("400.00")),
        (3, date(2026, 6, 1), D("400.00"), D("4.00"), D("0.00"), D("0.00")),
    ]


def test_flat_interest_is_on_the_original_principal():
    schedule = build_schedule(loan_terms("1200", "0.12", 3, date(2026, 3, 1), method=Method.FLAT))
    assert [(i.principal, i.interest) for i in schedule.instalments] == [(D("400.00"), D("12.00"))] * 3


def test_the_last_instalment_takes_the_rounding_remainder():
    schedule = build_schedule(loan_terms("1000", "0", 3, date(2026, 3, 1), method=Method.EQUAL_PRINCIPAL))
    assert [i.principal for i in schedule.instalments] == [D("333.33"), D("333.33"), D("333.34")]
    assert annuity_payment(D("1000"), D(0), 3) == D("333.33")


def test_grace_on_principal_pays_interest_then_amortises():
    schedule = build_schedule(loan_terms("1200", "0.12", 3, date(2026, 3, 1), grace_months=2,
                                         grace=Grace.PRINCIPAL, fee_per_instalment="1.50"))
    # 1,200 x 0.01 / (1 - 1.01^-3) = 408.0264.. -> 408.03
    assert [(i.principal, i.interest, i.fee) for i in schedule.instalments[:2]] == [(D("0.00"), D("12.00"), D("1.50"))] * 2
    assert [i.principal + i.interest for i in schedule.instalments[2:4]] == [D("408.03")] * 2
    assert len(schedule.instalments) == 5 and schedule.total_principal == D("1200.00")


def test_full_grace_defers_interest_without_capitalising_it():
    schedule = build_schedule(loan_terms("1200", "0.12", 3, date(2026, 3, 1), method=Method.EQUAL_PRINCIPAL,
                                         grace_months=2, grace=Grace.FULL))
    assert [i.total for i in schedule.instalments[:2]] == [D("0.00"), D("0.00")]
    # 2 x 12.00 deferred, 8.00 added to each of the three repayment instalments
    assert [i.interest for i in schedule.instalments[2:]] == [D("20.00"), D("16.00"), D("12.00")]
    assert schedule.instalments[0].balance_after == D("1200.00")  # the balance does not grow


def test_quarterly_instalments():
    schedule = build_schedule(loan_terms("4000", "0.08", 12, date(2026, 1, 10), method=Method.EQUAL_PRINCIPAL,
                                         frequency=Frequency.QUARTERLY))
    assert [(i.due_on, i.principal, i.interest) for i in schedule.instalments] == [
        (date(2026, 4, 10), D("1000.00"), D("80.00")), (date(2026, 7, 10), D("1000.00"), D("60.00")),
        (date(2026, 10, 10), D("1000.00"), D("40.00")), (date(2027, 1, 10), D("1000.00"), D("20.00"))]


def test_due_dates_keep_the_day_and_clamp_to_month_end():
    assert [add_months(date(2026, 1, 31), n) for n in (1, 2, 3, 13)] == [
        date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30), date(2027, 2, 28)]
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)


def test_honour_loan_is_interest_free_with_its_own_deferral():
    schedule = honour_loan_schedule(D("3000"), date(2026, 1, 5), term_months=12, deferral_months=6)
    assert [i.total for i in schedule.instalments[:6]] == [D("0.00")] * 6
    assert [i.principal for i in schedule.instalments[6:]] == [D("250.00")] * 12
    assert schedule.total_interest == 0 and schedule.instalments[6].due_on == date(2026, 8, 5)


def test_reschedule_repays_the_outstanding_from_the_date():
    old = build_schedule(loan_terms("10000", "0.07", 60, date(2024, 1, 15)))
    new = reschedule(old, D("6543.21"), date(2026, 3, 1), 36, grace_months=3, grace=Grace.PRINCIPAL)
    assert new.total_principal == D("6543.21") and new.terms.annual_rate == D("0.07")
    assert new.instalments[0].due_on == date(2026, 4, 1) and len(new.instalments) == 39
    assert old.total_principal == D("10000.00")  # the old one is untouched
    with pytest.raises(TypeError):
        reschedule(old, D("1"), date(2026, 3, 1), 12, disbursed_on=date(2020, 1, 1))


@pytest.mark.parametrize("kwargs, field", [
    ({"principal": "0"}, "principal"),
    ({"principal": "-5"}, "principal"),
    ({"annual_rate": "7"}, "annual_rate"),  # 700 %: a percentage given instead of a fraction
    ({"term_months": 0}, "term_months"),
    ({"term_months": 7, "frequency": Frequency.QUARTERLY}, "term_months"),
    ({"grace_months": -1}, "grace_months"),
    ({"grace_months": 3}, "grace"),  # months without saying what they defer
    ({"upfront_fee": "-1"}, "fees"),
])
def test_bad_terms_are_refused_naming_the_field(kwargs, field):
    values = {"principal": "1000", "annual_rate": "0.07", "term_months": 12, "disbursed_on": date(2026, 1, 1)}
    values.update(kwargs)
    with pytest.raises(ValidationFailed) as raised:
        loan_terms(**values)
    assert field in raised.value.errors


def test_floats_are_refused():
    with pytest.raises(TypeError):
        loan_terms(1000.0, "0.07", 12, date(2026, 1, 1))
    with pytest.raises(TypeError):
        loan_terms("1000", 0.07, 12, date(2026, 1, 1))


@FAST
@given(schedules)
def test_a_schedule_sums_exactly_to_its_principal(schedule):
    assert schedule.total_principal == schedule.principal
    assert all(value.as_tuple().exponent == -2 for i in schedule.instalments
               for value in (i.principal, i.interest, i.fee, i.balance_after))


@FAST
@given(schedules)
def test_no_amount_is_negative_and_the_balance_falls_to_zero(schedule):
    balance = schedule.principal
    for instalment in schedule.instalments:
        assert min(instalment.principal, instalment.interest, instalment.fee) >= 0
        balance -= instalment.principal
        assert instalment.balance_after == balance >= 0
    assert balance == 0 and schedule.instalments[-1].principal > 0


@FAST
@given(schedules)
def test_dates_and_count_follow_the_terms(schedule):
    terms = schedule.terms
    periods = (terms.term_months + (terms.grace_months if terms.grace != Grace.NONE else 0)) // terms.frequency.months
    assert len(schedule.instalments) == periods
    dues = [i.due_on for i in schedule.instalments]
    assert dues == sorted(set(dues)) and dues[0] > terms.disbursed_on
    assert [i.number for i in schedule.instalments] == list(range(1, periods + 1))


@FAST
@given(schedules)
def test_annuity_instalments_are_equal_but_the_last(schedule):
    terms = schedule.terms
    if terms.method != Method.ANNUITY or terms.grace == Grace.FULL:
        return
    grace_count = terms.grace_months // terms.frequency.months if terms.grace != Grace.NONE else 0
    repayments = schedule.instalments[grace_count:-1]
    assert len({i.principal + i.interest for i in repayments}) <= 1


@FAST
@given(schedules)
def test_interest_is_zero_exactly_when_the_rate_is(schedule):
    if schedule.terms.annual_rate == 0:
        assert schedule.total_interest == 0


@FAST
@given(schedules, st.integers(min_value=1, max_value=100), st.integers(min_value=1, max_value=28), st.data())
def test_a_rescheduled_balance_is_repaid_exactly(schedule, percent, periods, data):
    term = periods * schedule.terms.frequency.months
    outstanding = (schedule.principal * percent / 100).quantize(D("0.01"))
    on = data.draw(st.dates(min_value=schedule.terms.disbursed_on, max_value=schedule.last_due_on))
    new = reschedule(schedule, outstanding, on, term, method=data.draw(st.sampled_from(list(Method))))
    assert new.total_principal == outstanding and new.instalments[-1].balance_after == 0
    assert all(min(i.principal, i.interest, i.fee) >= 0 for i in new.instalments)
    assert new.instalments[0].due_on > on
