"""Lending pages over real HTTP: forms with errors next to fields, maker-checker, offer, payments."""
from __future__ import annotations

import re
from datetime import date

import pytest

from core import clock
from core.services import loans
from core.services.submissions import new_token
from core.tenancy import acting_for
from tests.clients_data import make_client
from tests.conftest import login, post
from tests.loans_data import application, make_loan


def test_application_form_keeps_input_and_shows_reasons(app, client, staff_a, as_user):
    person = make_client(staff_a)
    as_user(staff_a.officer)
    url = f"/loans/client/{person.id}/new"
    assert "Jump" in client.get(url).get_data(as_text=True)
    response = post(client, url, application(principal="99999", honour_loan="abc"), token_from=url)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="99999"' in body and 'value="abc"' in body
    assert "may not exceed 25000" in body and "Type only digits and separators, such as 1,234.56." in body
    response = post(client, url, application(), token_from=url)
    assert response.status_code == 303
    with acting_for(staff_a.institution_id):
        assert [l.status for l in loans.loans_of(person.id)] == ["draft"]


def test_maker_checker_over_http_and_offer_with_apr(app, staff_a):
    loan = make_loan(staff_a, status="submitted", principal="10000", term_months="24")
    drafter, checker = app.test_client(), app.test_client()
    login(drafter, staff_a.officer)
    login(checker, staff_a.admin)
    page = f"/loans/{loan.id}"
    assert "another person must decide" in drafter.get(page).get_data(as_text=True)
    refused = post(drafter, f"/loans/{loan.id}/decide", {"decision": "approve", "version": loan.version}, token_from=page)
    assert refused.status_code == 422 and "another person must decide" in refused.get_data(as_text=True)
    stale = loan.version
    assert post(checker, f"/loans/{loan.id}/decide", {"decision": "approve", "version": stale}, token_from=page).status_code == 303
    again = post(checker, f"/loans/{loan.id}/decide", {"decision": "reject", "note": "x", "version": stale}, token_from=page)
    assert again.status_code == 409 and "Someone else acted" in again.get_data(as_text=True)
    offer = checker.get(f"/loans/{loan.id}/offer").get_data(as_text=True)
    assert "Total cost of borrowing" in offer and 'id="apr"' in offer and "12.8%" in offer
    printed = checker.get(f"/loans/{loan.id}/offer/print").get_data(as_text=True)
    assert "Coût total du crédit" in printed  # the client (Amina) reads French
    pdf = checker.get(f"/loans/{loan.id}/offer/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_payments_over_http(app, client, staff_a, as_user):
    loan = make_loan(staff_a, principal="1200", term_months="12")
    as_user(staff_a.officer)
    page = f"/loans/{loan.id}"
    early = post(client, f"/loans/{loan.id}/payments", {"paid_on": "2025-01-01", "amount": "50", "submission": new_token()}, token_from=page)
    assert early.status_code == 422 and "before the disbursement" in early.get_data(as_text=True)
    bad = post(client, f"/loans/{loan.id}/payments", {"paid_on": "2025-02-15", "amount": "-3", "submission": new_token()}, token_from=page)
    assert bad.status_code == 422 and 'value="-3"' in bad.get_data(as_text=True)
    ok = post(client, f"/loans/{loan.id}/payments", {"paid_on": "2025-02-15", "amount": "106.69", "submission": new_token()}, token_from=page)
    assert ok.status_code == 303
    body = client.get(page + "?on=2025-02-16").get_data(as_text=True)
    assert "106.69" in body and 'id="days-past-due">0<' in body
    late = client.get("/loans/late?on=2025-04-20").get_data(as_text=True)
    assert f"#{loan.id}" in late
    assert "PAR30" in client.get("/loans/quality?on=2025-04-20").get_data(as_text=True)


def test_statement_upload_matches_and_books(app, client, staff_a, as_user):
    import io

    from core.services.payment_reference import reference_for_loan

    loan = make_loan(staff_a, principal="1200", term_months="12")
    as_user(staff_a.officer)
    csv = (f"date,amount,reference,counterparty\n2025-02-15,106.69,{reference_for_loan(loan.id)},Amina\n"
           "2025-02-16,20.00,,Unknown\n")
    response = post(client, "/loans/statement", {"statement": (io.BytesIO(csv.encode()), "s.csv")},
                    token_from="/loans/statement", content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert "Matched (1)" in body and "Unknown" in body
    booked = post(client, "/loans/statement", {"text": csv, "book": "yes"}, token_from="/loans/statement")
    assert "1 payment booked" in booked.get_data(as_text=True)
    with acting_for(staff_a.institution_id):
        assert [e.source for e in loans.get_loan(loan.id).ledger] == ["statement"]


def test_disburse_over_http_builds_the_schedule(app, client, staff_a, as_user):
    loan = make_loan(staff_a, status="approved")
    as_user(staff_a.officer)
    page = f"/loans/{loan.id}"
    with acting_for(staff_a.institution_id):
        version = loans.get_loan(loan.id).version
    future = post(client, f"/loans/{loan.id}/disburse", {"disbursed_on": "2999-01-01", "version": version, "submission": new_token()},
                  token_from=page)
    assert future.status_code == 422 and "future" in future.get_data(as_text=True)
    done = post(client, f"/loans/{loan.id}/disburse", {"disbursed_on": clock.today().isoformat(), "version": version,
                                                        "submission": new_token()},
                token_from=page)
    assert done.status_code == 303
    assert "+++" in client.get(page).get_data(as_text=True)


def test_the_late_list_comes_in_pages_longest_late_first(app, client, staff_a, as_user, monkeypatch):
    from core.web import loans as loan_pages

    monkeypatch.setattr(loan_pages, "LATE_PER_PAGE", 2)
    ids = [make_loan(staff_a, disbursed_on=date(2025, 1, day)).id for day in (20, 5, 12)]  # none paid
    as_user(staff_a.officer)
    first = client.get("/loans/late?on=2025-06-01").get_data(as_text=True)
    assert "Loans 1–2 of 3 late loans" in first and "Page 1 of 2" in first and 'rel="next"' in first
    assert first.index(f"#{ids[1]}<") < first.index(f"#{ids[2]}<") and f"#{ids[0]}<" not in first
    second = client.get("/loans/late?on=2025-06-01&page=2").get_data(as_text=True)
    assert "Loans 3–3 of 3 late loans" in second and f"#{ids[0]}<" in second and 'rel="prev"' in second
    assert client.get("/loans/late?on=2025-06-01&page=-4").status_code == 200


def _pdf_texts(monkeypatch) -> list[str]:
    """The texts the offer's PDF draws (its glyphs are a subset font, unreadable in the bytes)."""
    from fpdf import FPDF

    drawn: list[str] = []
    for name in ("cell", "multi_cell"):
        original = getattr(FPDF, name)

        def spy(self, w=None, h=None, text="", *args, _original=original, **kwargs):
            drawn.append(str(text))
            return _original(self, w, h, text, *args, **kwargs)
        monkeypatch.setattr(FPDF, name, spy)
    return drawn


def test_the_offer_names_the_lender_on_the_page_the_print_and_the_pdf(app, staff_a, monkeypatch):
    loan = make_loan(staff_a, status="approved", principal="10000", term_months="24")
    web = app.test_client()
    login(web, staff_a.officer)
    lender = ("microStart SC/CV", "Rue de Fiennes 77, 1070 Anderlecht", "0836.412.786")
    page = web.get(f"/loans/{loan.id}/offer").get_data(as_text=True)
    assert all(part in page for part in lender) and 'id="offer-lender"' in page
    assert "enterprise number 0836.412.786" in page
    printed = web.get(f"/loans/{loan.id}/offer/print").get_data(as_text=True)  # the client reads French
    assert all(part in printed for part in lender) and re.search(r"numéro d(&#39;|')entreprise 0836\.412\.786", printed)
    assert "Prêteur" in printed and "Emprunteur" in printed
    drawn = _pdf_texts(monkeypatch)
    pdf = web.get(f"/loans/{loan.id}/offer/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert ("Prêteur : microStart SC/CV, Rue de Fiennes 77, 1070 Anderlecht, numéro d'entreprise 0836.412.786"
            in drawn), drawn[:5]


@pytest.mark.parametrize("lang,heading", [("en", "Due date"), ("nl", "Vervaldatum"), ("fr", "Échéance")])
def test_the_schedule_column_reads_due_date(app, staff_a, monkeypatch, lang, heading):
    loan = make_loan(staff_a, status="approved", principal="10000", term_months="24")
    web = app.test_client()
    login(web, staff_a.officer)
    post(web, "/language", {"lang": lang})
    page = web.get(f"/loans/{loan.id}/offer").get_data(as_text=True)
    assert f"<th>{heading}</th>" in page
    assert "Te doen tegen" not in page and "À faire pour le" not in page and "To do by" not in page
    drawn = _pdf_texts(monkeypatch)
    web.get(f"/loans/{loan.id}/offer/pdf")
    assert "Échéance" in drawn  # the PDF is in the client's language (French)


def test_every_builtin_plugin_names_its_lender_with_a_valid_enterprise_number(app):
    from stdnum.be import vat

    from core.plugins import state

    for slug in ("microstart", "credal", "hefboom", "brusoc"):
        institution = state().institution(slug)
        assert institution.legal_name and institution.address
        assert vat.is_valid(institution.enterprise_number), slug
        assert institution.problems() == []


def test_a_profile_with_a_wrong_enterprise_number_is_refused():
    from core.plugins import state  # noqa: F401  (the app's plugins are not needed)
    from plugins.credal.institution import Credal

    class Broken(Credal):
        enterprise_number = "0458.913.335"

    assert any("enterprise_number" in problem for problem in Broken().problems())
