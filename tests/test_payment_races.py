"""Payments sent at the same moment over real HTTP (issue 11, bad input): two officers paying the same
instalment at once are two real payments, each booked once; ten parallel submits of one payment form
(one one-time token) book one payment and every other answer says it was already booked."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import requests
from sqlalchemy import func, select

from core.extensions import db
from core.models import LedgerEntry
from core.services import accounts
from core.tenancy import acting_for
from tests.conftest import PASSWORD
from tests.live_server import live_server  # noqa: F401
from tests.loans_data import make_loan

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SUBMISSION = re.compile(r'name="submission" type="hidden" value="([^"]+)"')


def _signed_in(url: str, email: str) -> requests.Session:
    session = requests.Session()
    token = CSRF.search(session.get(f"{url}/login").text).group(1)
    answer = session.post(f"{url}/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert answer.ok and answer.url.rstrip("/") == url
    return session


def _payment_form(session: requests.Session, url: str, loan_id: int) -> dict:
    """The payment form's hidden fields, read from the loan page as the browser would."""
    page = session.get(f"{url}/loans/{loan_id}").text
    form = page[page.index('id="payment-form"'):]
    return {"csrf_token": CSRF.search(form).group(1), "submission": SUBMISSION.search(form).group(1)}


def _payments(institution_id: int, loan_id: int) -> int:
    db.session.expire_all()
    with acting_for(institution_id):
        return db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.loan_id == loan_id, LedgerEntry.kind == "payment"))


def _at_once(calls):
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_two_officers_paying_the_same_instalment_at_once_book_two_payments(live_server, staff_a):
    loan_id = make_loan(staff_a, disbursed_on=date(2025, 1, 15)).id
    accounts.create_user(email="second@microstart.test", name="Second Officer", role="officer",
                         institution_id=staff_a.institution_id, password=PASSWORD, preferred_language="en")
    institution_id, url = staff_a.institution_id, live_server.url
    officers = [_signed_in(url, staff_a.officer.email), _signed_in(url, "second@microstart.test")]
    forms = [_payment_form(session, url, loan_id) for session in officers]
    before = _payments(institution_id, loan_id)
    data = {"paid_on": "2025-02-15", "amount": "50.00"}
    answers = _at_once([lambda s=s, f=f: s.post(f"{url}/loans/{loan_id}/payments", data={**data, **f})
                        for s, f in zip(officers, forms)])
    assert [a.status_code for a in answers] == [200, 200]  # both redirected to the loan page
    assert all(a.url.endswith(f"/loans/{loan_id}") and "already sent" not in a.text for a in answers)
    assert _payments(institution_id, loan_id) == before + 2


def test_ten_parallel_submits_of_one_payment_form_book_one_payment(live_server, staff_a):
    loan_id = make_loan(staff_a, disbursed_on=date(2025, 1, 15)).id
    institution_id, url = staff_a.institution_id, live_server.url
    officer = _signed_in(url, staff_a.officer.email)
    form = _payment_form(officer, url, loan_id)
    before = _payments(institution_id, loan_id)
    data = {"paid_on": "2025-02-15", "amount": "50.00", **form}
    answers = _at_once([lambda: officer.post(f"{url}/loans/{loan_id}/payments", data=data)] * 10)
    assert [a.status_code for a in answers] == [200] * 10, [a.status_code for a in answers]
    said_so = [a for a in answers if "already sent: the payment was booked once" in a.text]
    assert len(said_so) == 9
    assert _payments(institution_id, loan_id) == before + 1
