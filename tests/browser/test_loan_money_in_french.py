"""Money on a loan in the French UI, in a real browser (issue 11, "done when"): an amount typed with
three decimals is refused by its field and what was typed is kept, a payment typed the French way
(`1 234,56` style) is booked once, a partial prepayment makes a shorter schedule, and the admin
writes off the principal owed, never the interest not yet earned."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from core.extensions import db
from core.models import LedgerEntry, LoanPosition
from core.services import loans
from core.tenancy import acting_for
from tests.browser.conftest import sign_in
from tests.conftest import make_staff
from tests.test_prepayment_service import _issue_loan, _lines


def _ledger_count(staff, loan_id) -> int:
    db.session.expire_all()
    with acting_for(staff.institution_id):
        return db.session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.loan_id == loan_id))


def test_pay_prepay_and_write_off_a_loan_in_french(live_server, page):
    staff = make_staff("microstart")
    loan = _issue_loan(staff)  # 10,000 EUR at 7 % over 60 months, 12 instalments paid
    with acting_for(staff.institution_id):
        lines = _lines(loan.id)
        thirteenth = lines[12]
        old_term = len(lines)
    entries = _ledger_count(staff, loan.id)

    sign_in(page, live_server, staff.admin, language="fr")
    page.goto(f"{live_server.url}/loans/{loan.id}")
    payment = page.locator("#payment-form")
    payment.locator('input[name="paid_on"]').fill(thirteenth.due_date.isoformat())
    payment.locator('input[name="amount"]').fill("12,345")
    payment.get_by_role("button").click()
    payment = page.locator("#payment-form")
    assert "au plus deux décimales" in payment.inner_text()  # the field's own error, in French
    assert payment.locator('input[name="amount"]').input_value() == "12,345"  # kept as typed
    assert _ledger_count(staff, loan.id) == entries  # nothing booked

    french_amount = f"{thirteenth.total:.2f}".replace(".", ",")  # e.g. 198,01
    payment.locator('input[name="paid_on"]').fill(thirteenth.due_date.isoformat())
    payment.locator('input[name="amount"]').fill(french_amount)
    payment.get_by_role("button").click()
    page.wait_for_url(f"{live_server.url}/loans/{loan.id}")
    assert _ledger_count(staff, loan.id) == entries + 1
    assert french_amount in page.locator("#ledger").inner_text()  # shown back the French way

    prepaid_on = thirteenth.due_date + timedelta(days=3)
    prepayment = page.locator("#prepayment-form")
    prepayment.locator('input[name="paid_on"]').fill(prepaid_on.isoformat())
    prepayment.locator('input[name="amount"]').fill("2 000,00")
    prepayment.locator('input[name="option"][value="shorter_term"]').check()
    prepayment.get_by_role("button").click()
    page.wait_for_url(f"{live_server.url}/loans/{loan.id}")
    db.session.expire_all()
    with acting_for(staff.institution_id):
        shorter = _lines(loan.id)
        principal_after = db.session.get(LoanPosition, loan.id).principal_outstanding
    assert len(shorter) < old_term  # a new schedule version, shorter
    assert _ledger_count(staff, loan.id) == entries + 2

    page.locator("summary", has_text="perte").click()  # "Rééchelonner ou passer en perte"
    write_off = page.locator("#write-off-form")
    write_off.locator('input[name="written_off_on"]').fill((prepaid_on + timedelta(days=1)).isoformat())
    write_off.get_by_role("button").click()  # no reason, no confirmation: the browser keeps the form
    assert write_off.locator('input[name="reason"]:invalid').count() == 1
    assert _ledger_count(staff, loan.id) == entries + 2  # nothing written off
    write_off.locator('input[name="reason"]').fill("Faillite de l'entreprise")
    write_off.locator('input[name="confirmed"]').check()
    write_off.get_by_role("button").click()
    page.wait_for_url(f"{live_server.url}/loans/{loan.id}")
    db.session.expire_all()
    with acting_for(staff.institution_id):
        written = db.session.get(LoanPosition, loan.id)
        assert loans.get_loan(loan.id).status == "written_off"
    # The principal owed is written off; the interest of the months to come is not.
    assert written.written_off_principal == principal_after > Decimal("0")
    assert written.written_off_interest < Decimal("1")
    assert page.locator("html").get_attribute("lang") == "fr"
