"""Early repayment on the loan page (issue 11, point 4) and the offer's APR (point 7), over HTTP:
the payoff quote at a chosen date (htmx), payoff and partial prepayment forms with their one-time
token, bad input shown by field with nothing booked, the early-repayment right in the offer and the
borrower's statement in nl/fr/en."""
from __future__ import annotations

import html
import re
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from core import clock
from core.extensions import db
from core.models import LedgerEntry, Loan, ScheduleLine
from core.services import loans, positions, prepayment, repayments
from core.services.submissions import new_token
from core.tenancy import acting_for, all_institutions
from tests.conftest import login, post
from tests.loans_data import make_loan, pay
from tests.test_prepayment_service import _issue_loan, _lines, _settings

D = Decimal


def _counts():
    with all_institutions("test count"):
        return (db.session.scalar(select(func.count()).select_from(LedgerEntry)),
                db.session.scalar(select(func.count()).select_from(ScheduleLine)))


def _signed_in(app, user, language="en"):
    client = app.test_client()
    login(client, user)
    post(client, "/language", {"lang": language})
    return client


def _token(page: str, form_id: str) -> str:
    form = page[page.index(f'id="{form_id}"'):]
    return re.search(r'name="submission" type="hidden" value="([^"]+)"', form).group(1)


def test_the_loan_page_shows_the_payoff_quote_and_htmx_updates_it(app, staff_a):
    loan = _issue_loan(staff_a)
    with acting_for(staff_a.institution_id):
        on = _lines(loan.id)[11].due_date + timedelta(days=20)
    client = _signed_in(app, staff_a.officer)
    page = client.get(f"/loans/{loan.id}").get_data(as_text=True)
    assert 'id="payoff-panel"' in page and "Pay off / prepay" in page and 'id="quote-total"' in page
    assert "six months of interest" in page  # the early-repayment right on the loan page
    quote = client.get(f"/loans/{loan.id}/payoff-quote?quote_on={on.isoformat()}", headers={"HX-Request": "true"})
    body = quote.get_data(as_text=True)
    assert quote.status_code == 200 and body.lstrip().startswith('<div id="payoff-quote"')  # the fragment alone
    assert "€8,269.04" in body and "€31.72" in body and "€8,300.76" in body
    assert "Indemnity of this loan: none" in body
    future = client.get(f"/loans/{loan.id}/payoff-quote?quote_on=2999-01-01", headers={"HX-Request": "true"})
    assert future.status_code == 422 and "in the future" in future.get_data(as_text=True)
    full = client.get(f"/loans/{loan.id}/payoff-quote?quote_on={on.isoformat()}")  # without htmx: the page
    assert full.status_code == 200 and 'id="payoff-panel"' in full.get_data(as_text=True)


def test_a_partial_prepayment_and_a_payoff_over_http_each_booked_once(app, staff_a):
    loan = _issue_loan(staff_a)
    with acting_for(staff_a.institution_id):
        on = _lines(loan.id)[11].due_date + timedelta(days=20)
    client = _signed_in(app, staff_a.officer, "fr")
    page_url = f"/loans/{loan.id}"
    page = client.get(page_url).get_data(as_text=True)
    assert "Remboursement anticipé" in page or "rembourser" in page
    form = {"paid_on": on.isoformat(), "amount": "3.000,00", "option": "lower_instalment",
            "submission": _token(page, "prepayment-form")}
    assert post(client, f"{page_url}/prepay", form, token_from=page_url).status_code == 303
    again = post(client, f"{page_url}/prepay", form, token_from=page_url)
    assert again.status_code == 200 and "une seule fois" in again.get_data(as_text=True)
    db.session.expire_all()
    with acting_for(staff_a.institution_id):
        current = loans.get_loan(loan.id)
        assert current.schedule_version == 2 and len([e for e in current.ledger if e.source == "prepayment"]) == 1
        assert len(_lines(loan.id)) == 1 + 48  # lower instalment: as many instalments
        quote = prepayment.payoff_quote(current, on)
    page = client.get(page_url).get_data(as_text=True)
    assert "remboursement anticipé, mensualité réduite" in page  # the ledger names it in French
    payoff = {"paid_on": on.isoformat(), "submission": _token(page, "payoff-form")}
    assert post(client, f"{page_url}/payoff", payoff, token_from=page_url).status_code == 303
    assert post(client, f"{page_url}/payoff", payoff, token_from=page_url).status_code == 200
    db.session.expire_all()
    with acting_for(staff_a.institution_id):
        current = loans.get_loan(loan.id)
        paid_off = [e for e in current.ledger if e.source == "payoff"]
        assert current.status == "repaid" and len(paid_off) == 1 and paid_off[0].amount == quote.total
        assert positions.verify([loan.id]) == []


def _refused(client, loan_id, data, field_id, message):
    page_url = f"/loans/{loan_id}"
    counts = _counts()
    response = post(client, f"{page_url}/prepay", {**data, "submission": new_token()}, token_from=page_url)
    body = response.get_data(as_text=True)
    assert response.status_code == 422, body
    error = body[body.index(f'id="{field_id}-error"'):] if field_id else body
    assert message in error.split("</small>")[0] if field_id else message in body
    assert _counts() == counts
    return body


def test_bad_prepayments_show_a_field_error_and_book_nothing(app, staff_a):
    loan = _issue_loan(staff_a)
    with acting_for(staff_a.institution_id):
        on = (_lines(loan.id)[11].due_date + timedelta(days=20)).isoformat()
    client = _signed_in(app, staff_a.officer)
    ok = {"paid_on": on, "amount": "1000", "option": "shorter_term"}
    # above the payoff amount
    body = _refused(client, loan.id, {**ok, "amount": "9000"}, "prepayment-amount", "more than the payoff amount")
    assert 'value="9000"' in body  # what was typed stays
    # dated before the disbursement, in the future
    _refused(client, loan.id, {**ok, "paid_on": "2024-06-01"}, "prepayment-paid_on", "before the disbursement")
    _refused(client, loan.id, {**ok, "paid_on": (clock.today() + timedelta(days=1)).isoformat()}, "prepayment-paid_on",
             "in the future")
    # three decimals, a letter
    body = _refused(client, loan.id, {**ok, "amount": "1,000.005"}, "prepayment-amount", "at most two decimals")
    assert 'value="1,000.005"' in body
    _refused(client, loan.id, {**ok, "amount": "10OO"}, "prepayment-amount", "digits and separators")
    # no option chosen
    _refused(client, loan.id, {**ok, "option": ""}, "option", "shorter term or a lower instalment")


def test_three_decimals_in_french_are_refused_not_rounded(app, staff_a):
    loan = _issue_loan(staff_a)
    with acting_for(staff_a.institution_id):
        on = (_lines(loan.id)[11].due_date + timedelta(days=20)).isoformat()
    client = _signed_in(app, staff_a.officer, "fr")
    _refused(client, loan.id, {"paid_on": on, "amount": "1.000,005", "option": "shorter_term"}, "prepayment-amount",
             "deux décimales")


def test_prepayment_on_a_written_off_or_closed_loan_is_refused_over_http(app, staff_a):
    written = make_loan(staff_a, principal="3000", disbursed_on=date(2025, 1, 15))
    closed = make_loan(staff_a, principal="3000", disbursed_on=date(2025, 1, 15))
    with acting_for(staff_a.institution_id):
        repayments.write_off(written.id, on=date(2025, 6, 1), user=staff_a.admin)
        prepayment.pay_off(closed.id, on=date(2025, 3, 1), user=staff_a.officer)
    client = _signed_in(app, staff_a.officer)
    for loan, message in ((written, "written off"), (closed, "this one is repaid")):
        page = client.get(f"/loans/{loan.id}").get_data(as_text=True)
        assert 'id="payoff-panel"' not in page  # no form is offered
        _refused(client, loan.id, {"paid_on": "2025-07-01", "amount": "100", "option": "shorter_term"}, None, message)
        counts = _counts()
        response = post(client, f"/loans/{loan.id}/payoff", {"paid_on": "2025-07-01", "submission": new_token()},
                        token_from=f"/loans/{loan.id}")
        assert response.status_code == 422 and message in response.get_data(as_text=True)
        assert _counts() == counts


def test_the_offer_shows_the_microloans_own_apr_and_the_honour_loan_beside_it(app, staff_a):
    # the issue's example: Jump 9,000 EUR at 12.13 % with a 3,000 EUR honour loan
    loan = make_loan(staff_a, status="approved", principal="9000", term_months="48", honour_loan="3000",
                     honour_deferral_months="24", own_contribution="500")
    with acting_for(staff_a.institution_id):
        offer = loans.offer(loans.get_loan(loan.id), date(2025, 1, 15))
        assert offer.apr == D("12.8")  # the microloan's own
        assert offer.combined_apr == D("8.0")  # what the blended figure was
        assert offer.cost.total == offer.schedule.total_interest
        assert offer.total_repaid == offer.schedule.total_repaid
        assert offer.honour_total_repaid == D("3000.00")
    client = _signed_in(app, staff_a.officer)
    page = client.get(f"/loans/{loan.id}/offer").get_data(as_text=True)
    apr = page[page.index('id="apr"'):].split("</dd>")[0]
    assert "12.8%" in apr and "8.0" not in apr
    assert 'id="honour-terms"' in page and "€3,000.00" in page[page.index('id="honour-terms"'):]
    combined = page[page.index('id="combined-apr"'):].split("</p>")[0]
    assert "For information only" in combined and "8%" in combined
    assert "repay the loan early" in page and "none" in page[page.index('id="early-repayment-right"'):]


def test_the_early_repayment_right_in_the_offer_and_statement_in_the_clients_language(app, staff_a):
    _settings(staff_a, prepayment_indemnity_months="2")
    loan = make_loan(staff_a, principal="6000", disbursed_on=date(2025, 1, 15))
    client = _signed_in(app, staff_a.officer)
    wordings = {"fr": ("rembourser le crédit anticipativement", "2 mois d'intérêts"),
                "nl": ("vervroegd terugbetalen", "2 maanden rente"),
                "en": ("repay the loan early", "2 months of interest")}
    for language, (right, terms) in wordings.items():
        with acting_for(staff_a.institution_id):
            db.session.get(Loan, loan.id).client.preferred_language = language
            db.session.commit()
        printed = html.unescape(client.get(f"/loans/{loan.id}/offer/print").get_data(as_text=True))
        assert right in printed and terms in printed and "1907bis" in printed, language
        statement = client.get(f"/loans/{loan.id}/account-statement")
        body = html.unescape(statement.get_data(as_text=True))
        assert statement.status_code == 200 and right in body and terms in body, language
        assert 'id="statement-payoff"' in body
    pdf = client.get(f"/loans/{loan.id}/offer/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
