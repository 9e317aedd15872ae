"""The same bank statement uploaded twice in a real browser (issue 11, "done when"): the first
upload books its matched payment and queues the unknown line, the second books nothing and says
when the file was booked; the queued line is then booked on its loan from the queue page."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from core.extensions import db
from core.models import LedgerEntry
from core.services.payment_reference import reference_for_loan
from core.tenancy import acting_for
from tests.browser.conftest import sign_in
from tests.conftest import make_staff
from tests.loans_data import make_loan


def _payments(staff, loan_id) -> int:
    db.session.expire_all()
    with acting_for(staff.institution_id):
        return db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.loan_id == loan_id, LedgerEntry.kind == "payment"))


def _upload(page, url, path):
    page.goto(f"{url}/loans/statement")
    page.locator('#statement-form input[type="file"]').set_input_files(str(path))
    page.locator("#statement-form button[type=submit]").click()


def test_the_same_statement_uploaded_twice_books_once(live_server, page, tmp_path):
    staff = make_staff("microstart")
    loan = make_loan(staff, disbursed_on=date(2025, 1, 15))
    statement = tmp_path / "mars.csv"
    statement.write_text("date,amount,reference,counterparty\n"
                         f"2025-02-15,106.69,{reference_for_loan(loan.id)},Amina\n"
                         "2025-02-16,20.00,,Payeur inconnu\n", encoding="utf-8")
    sign_in(page, live_server, staff.officer, language="fr")

    _upload(page, live_server.url, statement)
    assert page.locator("#matched tbody tr").count() == 1 and page.locator("#unmatched tbody tr").count() == 1
    page.locator("#book-form").get_by_role("button").click()
    assert "1 paiement comptabilisé." in page.locator("#booked").inner_text()
    assert _payments(staff, loan.id) == 1

    _upload(page, live_server.url, statement)
    known = page.locator("#known-file")
    assert "déjà été chargé" in known.inner_text() and "mars.csv" in known.inner_text()
    assert page.locator("#book-form").count() == 0
    assert _payments(staff, loan.id) == 1

    page.locator("#queue-link").click()
    line = page.locator(".queued-line").filter(has_text="Payeur inconnu")
    line.locator('.assign-form input[type="text"]').fill(f"#{loan.id}")
    line.locator(".assign-form").get_by_role("button").click()
    assert "comptabilisée sur le prêt" in page.locator(".flash").inner_text()
    assert page.locator("#queue-empty").count() == 1
    assert _payments(staff, loan.id) == 2
