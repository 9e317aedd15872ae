"""The header search: what each kind of query finds, for whom, and never another institution's."""
from __future__ import annotations

from datetime import date

import pytest

from core.extensions import db
from core.models import Loan
from core.services.payment_reference import reference_for_loan
from core.tenancy import acting_for
from tests.conftest import post
from tests.clients_data import VALID_ENTERPRISE, VALID_IBAN, make_client, national_number
from tests.isolation_data import _referral_offer
from tests.loans_data import make_loan

NN = national_number(date(1985, 7, 30))


@pytest.fixture
def records(app, staff_a):
    """A client with every identifier, a loan with a file number, a referral offered to microStart."""
    client = make_client(staff_a, first_name="Zoë", last_name="Vandersteen", enterprise_name="Bakkerij Zoë")
    loan = make_loan(staff_a, client)
    with acting_for(staff_a.institution_id):  # file numbers come in with a portfolio import
        db.session.get(Loan, loan.id).loan_ref = "MS-2025-0042"
        db.session.commit()
    return {"client": client, "loan": loan, "offer_id": _referral_offer(staff_a)}


def _found(http, query):
    response = http.get("/search/", query_string={"q": query})
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize(("query", "section"), [
    ("vander", "search-clients"),             # beginning of the last name
    ("zoe", "search-clients"),                # first name, accents ignored
    ("bakkerij", "search-clients"),           # enterprise name
    (VALID_ENTERPRISE, "search-clients"),     # enterprise number
    ("0403.170.701", "search-clients"),       # as printed
    (NN, "search-clients"),                   # whole national number (officer)
    ("BE71 0961 2345 6769", "search-clients"),  # IBAN as printed
    ("MS-2025-0042", "search-loans"),         # the institution's file number
    ("ISO-microstart", "search-referrals"),   # the referrer's reference
])
def test_each_kind_of_query_finds_its_record(records, staff_a, as_user, query, section):
    page = _found(as_user(staff_a.officer), query)
    assert f'id="{section}"' in page, query
    assert "Nothing of your institution matches" not in page


def test_a_structured_payment_reference_finds_the_loan(records, staff_a, as_user):
    structured = reference_for_loan(records["loan"].id)
    for typed in (structured, structured.strip("+").replace("/", ""), structured.replace("+", "*")):
        page = _found(as_user(staff_a.officer), typed)
        assert f'href="/loans/{records["loan"].id}"' in page, typed


def test_a_coach_cannot_probe_a_national_number(records, staff_a, as_user):
    page = _found(as_user(staff_a.coach), NN)
    assert 'id="search-clients"' not in page and "Nothing of your institution matches" in page
    assert 'id="search-clients"' in _found(as_user(staff_a.coach), "vander")  # names still work


def test_another_institution_finds_nothing(records, staff_a, staff_b, as_user):
    other = as_user(staff_b.officer)
    queries = ["vander", "zoe", VALID_ENTERPRISE, NN, VALID_IBAN, "MS-2025-0042", "ISO-microstart",
               reference_for_loan(records["loan"].id)]
    for query in queries:
        page = _found(other, query)
        assert "Nothing of your institution matches" in page, query
        assert "Vandersteen" not in page and f'/loans/{records["loan"].id}"' not in page


def test_too_short_or_odd_queries_answer_calmly(records, staff_a, as_user):
    http = as_user(staff_a.officer)
    assert 'id="search-too-short"' in _found(http, "")
    assert 'id="search-too-short"' in _found(http, "z")
    for odd in ("%", "_", "'; drop table clients; --", "+++123/4567/89012+++", "x" * 500, "BE00 0000"):
        assert 'id="search-too-short"' in _found(http, odd) or "Nothing of your institution" in _found(http, odd)


def test_the_search_box_is_in_every_staff_page_header_and_for_staff_only(app, staff_a, auditor, operator,
                                                                        as_user):
    for user in (staff_a.officer, staff_a.coach, staff_a.admin):
        header = as_user(user).get("/").get_data(as_text=True)
        if "<header" not in header:  # home redirects to the role's start page
            header = as_user(user).get("/clients/").get_data(as_text=True)
        header = header.split("</header>")[0]
        assert 'role="search"' in header and 'id="header-search-q"' in header, user.role
    for user in (auditor, operator):
        http = as_user(user)
        assert http.get("/search/?q=vander").status_code == 403
        assert 'id="header-search-q"' not in http.get("/account/").get_data(as_text=True)


def test_the_search_page_in_dutch_and_french(records, staff_a, as_user):
    http = as_user(staff_a.officer)
    for lang, word in (("nl", "Zoeken"), ("fr", "Rechercher")):
        post(http, "/language", {"lang": lang})
        page = http.get("/search/?q=vander").get_data(as_text=True)
        assert f"<title>{word}" in page and f'placeholder="{word}"' in page, lang


def test_the_client_list_search_follows_the_same_rules(records, staff_a, as_user):
    """The header search is the client list's search: IBAN works there too, and a coach cannot
    probe a national number there either."""
    officer = as_user(staff_a.officer).get("/clients/", query_string={"q": NN}).get_data(as_text=True)
    assert "Vandersteen" in officer
    coach = as_user(staff_a.coach).get("/clients/", query_string={"q": NN}).get_data(as_text=True)
    assert "Vandersteen" not in coach and "No client matches." in coach
    by_iban = as_user(staff_a.coach).get("/clients/", query_string={"q": "BE71 0961 2345 6769"})
    assert "Vandersteen" in by_iban.get_data(as_text=True)
