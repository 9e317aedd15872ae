"""Total cost of borrowing and APR on hand-checked examples."""
from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.services.pricing import (CashFlow, annual_percentage_rate, apr_percent, cash_flows, cost_of_borrowing,
                                   years_between)
from core.services.schedules import Method, build_schedule, honour_loan_schedule, loan_terms
from tests.services.strategies import dates, loan_terms_, principals, rates


def flows(*pairs):
    return [CashFlow(on, D(amount)) for on, amount in pairs]


def test_one_year_loan_at_ten_percent():
    assert annual_percentage_rate(flows((date(2026, 1, 1), "1000"), (date(2027, 1, 1), "-1100"))) == D("0.1")


def test_two_years_compound():
    # 1,000 x 1.1^2 = 1,210
    assert annual_percentage_rate(flows((date(2026, 1, 1), "1000"), (date(2028, 1, 1), "-1210"))) == D("0.1")


def test_half_a_year_counts_as_six_equal_months():
    # 1.05^2 - 1 = 10.25 %, disclosed 10.3 (half-up)
    case = flows((date(2026, 1, 1), "1000"), (date(2026, 7, 1), "-1050"))
    assert annual_percentage_rate(case) == D("0.1025")
    assert apr_percent(case) == D("10.3")


def test_left_over_days_count_in_365ths():
    assert years_between(date(2026, 1, 31), date(2026, 2, 28)) == D(1) / 12
    assert years_between(date(2026, 1, 15), date(2027, 2, 20)) == D(13) / 12 + D(5) / 365
    # 1,000 repaid with 1,010 two months and 14 days later: t = 2/12 + 14/365 = 0.205023 years,
    # X = 1.01^(1/t) - 1 = 4.9730 %
    case = flows((date(2026, 1, 1), "1000"), (date(2026, 3, 15), "-1010"))
    assert years_between(date(2026, 1, 1), date(2026, 3, 15)) == D(2) / 12 + D(14) / 365
    assert abs(annual_percentage_rate(case) - D("0.049730")) < D("0.000001")
    assert apr_percent(case) == D("5.0")


def test_monthly_annuity_apr_is_the_compounded_nominal_rate():
    schedule = build_schedule(loan_terms("10000", "0.07", 60, date(2026, 1, 15)))
    # (1 + 0.07/12)^12 - 1 = 7.2290 %; the instalment rounded to 198.01 moves it by 0.00003 %
    assert abs(annual_percentage_rate(cash_flows(schedule)) - D("0.072290")) < D("0.000002")
    assert apr_percent(cash_flows(schedule)) == D("7.2")
    assert cost_of_borrowing(schedule).total == D("1880.75")


def test_fees_raise_the_apr_and_the_cost():
    schedule = build_schedule(loan_terms("1200", "0.12", 12, date(2026, 1, 1), method=Method.FLAT,
                                         upfront_fee="24", fee_per_instalment="1"))
    cost = cost_of_borrowing(schedule)
    assert (cost.interest, cost.fees, cost.total) == (D("144.00"), D("36.00"), D("180.00"))
    drawdown = cash_flows(schedule)[0]
    assert drawdown == CashFlow(date(2026, 1, 1), D("1176.00"))  # the upfront fee is kept back
    # 1,176 paid out, 12 x 113 back: the monthly r solving 1176 = 113 (1 - (1+r)^-12) / r is
    # 2.26213 %, and (1+r)^12 - 1 = 30.791 %
    assert abs(annual_percentage_rate(cash_flows(schedule)) - D("0.30791")) < D("0.00001")
    assert apr_percent(cash_flows(schedule)) == D("30.8")


def test_an_honour_loan_lowers_the_combined_apr():
    loan = build_schedule(loan_terms("9000", "0.1213", 36, date(2026, 1, 1)))
    honour = honour_loan_schedule(D("3000"), date(2026, 1, 1), 12, 12)
    assert cost_of_borrowing(loan, honour) == cost_of_borrowing(loan)
    assert apr_percent(cash_flows(loan, honour)) < apr_percent(cash_flows(loan))
    assert apr_percent(cash_flows(honour)) == D("0.0")


def test_nothing_paid_back_has_no_apr():
    with pytest.raises(ValueError):
        annual_percentage_rate(flows((date(2026, 1, 1), "1000")))


@settings(max_examples=40, deadline=None)
@given(loan_terms_())
def test_apr_is_at_least_the_nominal_rate_and_zero_without_cost(terms):
    schedule = build_schedule(terms)
    apr = annual_percentage_rate(cash_flows(schedule))
    if cost_of_borrowing(schedule).total == 0:
        assert apr == 0
    else:
        assert apr > 0


@settings(max_examples=40, deadline=None)
@given(principals, rates, st.integers(min_value=1, max_value=84), dates)
def test_a_monthly_annuity_without_fees_costs_its_compounded_nominal_rate(principal, rate, term, start):
    schedule = build_schedule(loan_terms(principal, rate, term, start))
    expected = (1 + rate / 12) ** 12 - 1
    assert abs(annual_percentage_rate(cash_flows(schedule)) - expected) < D("0.001")  # cents rounding only
