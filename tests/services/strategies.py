"""Hypothesis strategies over the product space: 500–25,000 EUR, 0–20 %, 1–84 months, grace 0–12."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import strategies as st

from core.services.schedules import Frequency, Grace, Method, build_schedule, honour_loan_schedule, loan_terms

principals = st.integers(min_value=50_000, max_value=2_500_000).map(lambda cents: Decimal(cents) / 100)
rates = st.integers(min_value=0, max_value=2_000).map(lambda bp: Decimal(bp) / 10_000)  # 0.00 %..20.00 %
dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


@st.composite
def loan_terms_(draw):
    frequency = draw(st.sampled_from([Frequency.MONTHLY, Frequency.MONTHLY, Frequency.QUARTERLY]))
    step = frequency.months
    term = draw(st.integers(min_value=1, max_value=84 // step)) * step
    grace = draw(st.sampled_from(list(Grace)))
    grace_months = 0 if grace == Grace.NONE else draw(st.integers(min_value=0, max_value=12 // step)) * step
    return loan_terms(draw(principals), draw(rates), term, draw(dates),
                      method=draw(st.sampled_from(list(Method))), frequency=frequency,
                      grace_months=grace_months, grace=grace,
                      fee_per_instalment=draw(st.sampled_from(["0", "0", "2.50"])),
                      upfront_fee=draw(st.sampled_from(["0", "50", "125.75"])))


@st.composite
def honour_loans(draw):
    return honour_loan_schedule(draw(principals) / 3, draw(dates), draw(st.integers(1, 84)),
                                draw(st.integers(0, 24)))


schedules = st.one_of(loan_terms_().map(build_schedule), honour_loans())
