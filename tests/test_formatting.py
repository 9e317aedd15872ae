"""One formatting layer (issue 15, point 3): amounts, percentages and numbers in the reader's
locale, and a walk over the money pages in Dutch and French that refuses a decimal point in a
percentage, an amount written the programmer's way or the currency twice."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal as D

import pytest
from flask_babel import force_locale

from core import formatting
from tests.conftest import login, post
from tests.loans_data import make_loan, pay

NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize(("language", "money", "rate", "share", "count"), [
    ("nl", f"€{NBSP}8.000,50", "7,2%", "11,13%", "12.345"),
    ("fr", f"8{NNBSP}000,50{NBSP}€", f"7,2{NBSP}%", f"11,13{NBSP}%", f"12{NNBSP}345"),
    ("en", "€8,000.50", "7.2%", "11.13%", "12,345"),
])
def test_each_figure_in_the_readers_locale(app, language, money, rate, share, count):
    with app.test_request_context(), force_locale(language):
        assert formatting.money(D("8000.5")) == money
        assert formatting.percent(D("7.20")) == rate
        assert formatting.ratio(D("0.111349")) == share
        assert formatting.number(12345) == count
        assert formatting.amount(D("8000.5")) == money.replace("€", "").strip(NBSP)
        assert formatting.ratio(D("0.5"), 0) == rate.replace("7,2", "50").replace("7.2", "50")
        assert formatting.money(None) == formatting.percent(None) == ""


DECIMAL_POINT_PERCENT = re.compile(r"\d\.\d+\s?%")
CURRENCY_TWICE = re.compile(r"€[^<>€]{0,25}EUR|EUR[^<>€]{0,3}€")
PROGRAMMERS_AMOUNT = re.compile(r"(?<![\d.,/])\d{4,}\.\d{2}(?![\d.])")  # 6000.00: no grouping, a point


def _text(page: str) -> str:
    """What a reader sees: the page without its tags, scripts and attribute values."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


def test_the_money_pages_in_dutch_and_french(app, staff_a):
    honour = make_loan(staff_a, status="approved", principal="9000", term_months="48", honour_loan="3000",
                       honour_deferral_months="24", own_contribution="500")
    active = make_loan(staff_a, principal="6000", disbursed_on=date(2025, 1, 15))
    pay(staff_a, active, date(2025, 2, 15), "150")
    pages = [f"/loans/{honour.id}", f"/loans/{honour.id}/offer", f"/loans/{active.id}",
             f"/loans/{active.id}/account-statement", f"/loans/{active.id}/payoff-quote?quote_on=2025-06-01",
             "/loans/quality?on=2025-06-01", "/loans/late?on=2025-06-01", f"/loans/client/{active.client_id}/new",
             f"/loans/client/{active.client_id}", "/admin/settings", "/financing", "/reports/portfolio", "/reports/impact", "/compliance/"]
    client = app.test_client()
    login(client, staff_a.admin)
    for language, percent_sign in (("nl", "%"), ("fr", f"{NBSP}%")):
        post(client, "/language", {"lang": language})
        seen_percent = False
        for path in pages:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            text = _text(response.get_data(as_text=True))
            assert not DECIMAL_POINT_PERCENT.search(text), (language, path, DECIMAL_POINT_PERCENT.findall(text))
            assert not CURRENCY_TWICE.search(text), (language, path, CURRENCY_TWICE.findall(text))
            assert not PROGRAMMERS_AMOUNT.search(text), (language, path, PROGRAMMERS_AMOUNT.findall(text))
            seen_percent = seen_percent or f"12,8{percent_sign}" in text
        assert seen_percent, f"the microloan's APR (12,8) never showed in {language}"
