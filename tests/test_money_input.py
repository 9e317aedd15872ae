"""Money typed by a person: read strictly in their language, and booked once however often it is sent."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models.lending import LedgerEntry
from core.services.amounts import AmountError, format_amount, parse_amount
from core.services.submissions import new_token
from core.tenancy import acting_for
from tests.conftest import post
from tests.loans_data import make_loan

ACCEPTED = [
    ("1.234,56", "fr", "1234.56"), ("1 234,56", "fr", "1234.56"), ("1\u00a0234,56", "fr", "1234.56"),
    ("1\u202f234,56", "fr", "1234.56"), ("1.234,56", "nl", "1234.56"), ("12,34", "nl", "12.34"),
    ("1,234.56", "en", "1234.56"), ("106.69", "en", "106.69"), ("50", "fr", "50.00"),
]
REFUSED = [
    ("12,345", "fr", "at most two decimals"), ("12,345", "nl", "at most two decimals"),
    ("12,340", "fr", "at most two decimals"), ("1.23,4", "nl", "not an amount"),
    ("12a", "fr", "digits and separators"), ("-3", "en", "zero or more"),
]


@pytest.mark.parametrize("typed,locale,expected", ACCEPTED)
def test_amounts_in_the_users_language_are_read_exactly(typed, locale, expected):
    assert parse_amount(typed, locale) == Decimal(expected)


@pytest.mark.parametrize("typed,locale,message", REFUSED)
def test_ambiguous_or_wrong_amounts_are_refused_never_rounded(app, typed, locale, message):
    with app.test_request_context(), pytest.raises(AmountError) as refused:
        parse_amount(typed, locale)
    assert message in str(refused.value.message)


def test_amounts_are_shown_back_as_the_reader_types_them():
    assert format_amount(Decimal("1234.56"), "nl") == "1.234,56"
    assert format_amount(Decimal("1234.56"), "en") == "1,234.56"
    assert parse_amount(format_amount(Decimal("1234.56"), "fr"), "fr") == Decimal("1234.56")


def _payments(staff, loan_id):
    with acting_for(staff.institution_id):
        return db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.loan_id == loan_id, LedgerEntry.kind == "payment"))


def test_a_payment_form_sent_twice_books_once_and_says_so(app, client, staff_a, as_user):
    loan = make_loan(staff_a, principal="1200", term_months="12")
    as_user(staff_a.officer)
    page, token = f"/loans/{loan.id}", new_token()
    form = {"paid_on": "2025-02-15", "amount": "106.69", "submission": token}
    assert post(client, f"{page}/payments", form, token_from=page).status_code == 303
    again = post(client, f"{page}/payments", form, token_from=page)
    assert again.status_code == 200
    assert "the payment was booked once, not twice" in again.get_data(as_text=True)
    assert _payments(staff_a, loan.id) == 1
    other = post(client, f"{page}/payments", {**form, "submission": new_token()}, token_from=page)
    assert other.status_code == 303 and _payments(staff_a, loan.id) == 2  # a second real payment is booked


def test_a_french_amount_with_three_decimals_is_refused_next_to_the_field(app, client, staff_a, as_user):
    loan = make_loan(staff_a, principal="1200", term_months="12")
    as_user(staff_a.officer)
    post(client, "/language", {"lang": "fr"})
    page = f"/loans/{loan.id}"
    refused = post(client, f"{page}/payments", {"paid_on": "2025-02-15", "amount": "12,345",
                                               "submission": new_token()}, token_from=page)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'value="12,345"' in body and "au plus deux décimales" in body
    assert _payments(staff_a, loan.id) == 0
    booked = post(client, f"{page}/payments", {"paid_on": "2025-02-15", "amount": "1 234,56",
                                              "submission": new_token()}, token_from=page)
    assert booked.status_code == 303 and _payments(staff_a, loan.id) == 1
