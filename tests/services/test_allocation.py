"""Allocating payments: order, partial, early and over-payments, reversals; money is conserved."""
from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.services.allocation import (Component, Payment, Reversal, append, ledger_state, payment, total_paid)
from core.services.errors import ValidationFailed
from core.services.schedules import Method, build_schedule, loan_terms
from tests.services.strategies import schedules

FAST = settings(max_examples=200, deadline=None)
F, I, P = Component.FEE, Component.INTEREST, Component.PRINCIPAL


@pytest.fixture
def schedule():
    """1,200 at 12 %, equal principal over 3 months, 2.00 fee: 414, 410, 406 due on 1 Feb, Mar, Apr."""
    return build_schedule(loan_terms("1200", "0.12", 3, date(2026, 1, 1), method=Method.EQUAL_PRINCIPAL,
                                     fee_per_instalment="2"))


def split(state, number):
    position = state.positions[number - 1]
    return position.paid[F], position.paid[I], position.paid[P]


def test_fees_then_interest_then_principal_oldest_first(schedule):
    state = ledger_state(schedule, [Payment(1, date(2026, 3, 5), D("420.00"))])
    assert split(state, 1) == (D("2.00"), D("12.00"), D("400.00"))
    assert split(state, 2) == (D("2.00"), D("4.00"), D("0.00"))  # 6.00 left: fee, then part of interest
    assert state.positions[1].outstanding() == D("404.00") and state.credit == 0


def test_a_partial_payment_leaves_the_rest_due(schedule):
    state = ledger_state(schedule, [Payment(1, date(2026, 2, 1), D("10.00"))])
    assert split(state, 1) == (D("2.00"), D("8.00"), D("0.00"))
    assert state.positions[0].outstanding() == D("404.00")


def test_a_payment_ahead_counts_for_the_next_instalment(schedule):
    state = ledger_state(schedule, [Payment(1, date(2026, 1, 28), D("414.00"))])
    assert state.positions[0].outstanding() == 0 and state.positions[1].outstanding() == D("410.00")


def test_prepayment_of_principal_shortens_the_term(schedule):
    state = ledger_state(schedule, [Payment(1, date(2026, 2, 1), D("414.00")),
                                    Payment(2, date(2026, 2, 10), D("400.00"), prepay_principal=True)])
    last = state.positions[2]
    assert last.paid[P] == D("400.00") and last.waived == {F: D("2.00"), I: D("4.00"), P: D("0.00")}
    assert last.outstanding() == 0  # the third instalment is gone, interest and fee waived
    assert state.positions[1].outstanding() == D("410.00")  # the second stays as it was
    assert state.outstanding_principal == D("400.00")


def test_overpayment_becomes_a_credit_never_lost(schedule):
    state = ledger_state(schedule, [Payment(1, date(2026, 4, 1), D("1300.00"))])
    assert state.repaid and state.credit == D("70.00") and state.allocated == D("1230.00")


def test_a_reversal_restores_the_state_and_later_payments_are_reallocated(schedule):
    first, second = Payment(1, date(2026, 2, 1), D("414.00")), Payment(2, date(2026, 3, 1), D("414.00"))
    ledger = append(schedule, append(schedule, (), first), second)
    ledger = append(schedule, ledger, Reversal(3, date(2026, 3, 2), reverses=1))
    assert ledger_state(schedule, ledger) == ledger_state(schedule, [second])
    assert ledger_state(schedule, ledger, as_of=date(2026, 3, 1)) == ledger_state(schedule, [first, second])
    assert total_paid(ledger) == D("414.00")


def test_reversal_mistakes_are_refused(schedule):
    ledger = (Payment(1, date(2026, 2, 1), D("414.00")), Reversal(2, date(2026, 2, 2), reverses=1))
    with pytest.raises(ValidationFailed, match="cannot be reversed"):
        append(schedule, ledger, Reversal(3, date(2026, 2, 3), reverses=2))
    with pytest.raises(ValidationFailed, match="already been reversed"):
        append(schedule, ledger, Reversal(3, date(2026, 2, 3), reverses=1))
    with pytest.raises(ValidationFailed, match="no such payment"):
        append(schedule, ledger, Reversal(3, date(2026, 2, 3), reverses=99))
    with pytest.raises(ValidationFailed, match="before its payment"):
        append(schedule, ledger[:1], Reversal(3, date(2026, 1, 31), reverses=1))
    with pytest.raises(ValidationFailed, match="cannot be reversed"):  # a ledger is checked on replay too
        ledger_state(schedule, (*ledger, Reversal(3, date(2026, 2, 3), reverses=2)))


def test_bad_payments_are_refused(schedule):
    with pytest.raises(ValidationFailed) as raised:
        append(schedule, (), Payment(1, date(2025, 12, 31), D("10.00")))
    assert "paid_on" in raised.value.errors
    for bad in ("0", "-5", "abc", "NaN"):
        with pytest.raises(ValidationFailed) as raised:
            payment(1, date(2026, 2, 1), bad)
        assert "amount" in raised.value.errors
    with pytest.raises(ValidationFailed):
        payment(1, date(2026, 2, 1), 12.5)  # a float is not money
    assert payment(1, date(2026, 2, 1), "12.345").amount == D("12.35")
    with pytest.raises(TypeError):
        append(schedule, (), Payment(1, date(2026, 2, 1), 12.5))


amounts = st.integers(min_value=1, max_value=3_000_000).map(lambda cents: D(cents) / 100)


@st.composite
def ledgers(draw):
    """A schedule and payments between its disbursement and a little after its last due date."""
    schedule = draw(schedules)
    start, end = schedule.terms.disbursed_on, schedule.last_due_on
    days = (end - start).days + 60
    items = [Payment(n, start + (end - start).__class__(days=draw(st.integers(0, days))), draw(amounts),
                     draw(st.booleans()))
             for n in range(draw(st.integers(0, 8)))]
    return schedule, items


@FAST
@given(ledgers())
def test_allocation_conserves_money(case):
    schedule, items = case
    state = ledger_state(schedule, items)
    assert state.allocated + state.credit == sum((p.amount for p in items), D("0.00"))
    for position in state.positions:
        for component in (F, I, P):
            assert position.paid[component] >= 0 and position.waived[component] >= 0
            assert position.outstanding(component) >= 0
    assert state.credit >= 0 and (state.credit == 0 or state.repaid)


@FAST
@given(ledgers(), st.data())
def test_reversing_a_payment_restores_the_state_without_it(case, data):
    schedule, items = case
    if not items:
        return
    victim = data.draw(st.sampled_from(items))
    later = max(p.paid_on for p in items)
    ledger = (*items, Reversal("r", later, reverses=victim.id))
    assert ledger_state(schedule, ledger) == ledger_state(schedule, [p for p in items if p is not victim])


@FAST
@given(schedules)
def test_paying_every_instalment_on_time_repays_the_loan_exactly(schedule):
    items = [Payment(i.number, i.due_on, i.total) for i in schedule.instalments if i.total]
    state = ledger_state(schedule, items)
    assert state.repaid and state.credit == 0 and state.outstanding_principal == 0
