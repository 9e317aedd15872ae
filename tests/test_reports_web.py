"""Report pages, charts and exports through real HTTP; the federation's suppressed sector view."""
from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from openpyxl import load_workbook

from tests.reports_data import make_loan, pay, person

SVG_RE = re.compile(r"<svg .*?</svg>", re.S)


@pytest.fixture
def loans(app, staff_a, staff_b):
    a = person(staff_a, last_name="Webone")
    built = make_loan(staff_a, a, "4321.00", date(2025, 2, 1), honour="1000")
    pay(staff_a, built, date(2025, 3, 1), str(built.schedule.instalments[0].total))
    b = person(staff_b, last_name="Webtwo")
    make_loan(staff_b, b, "8765.00", date(2025, 2, 1))


def test_institution_admin_sees_own_impact_with_charts(as_user, staff_a, loans):
    client = as_user(staff_a.admin)
    response = client.get("/reports/impact?from=2025-01-01&to=2025-12-31&institution=hefboom")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "5,321.00" in page  # microloan + honour loan, own institution, unsuppressed
    assert "8,765.00" not in page  # another institution's figure, even when asked for
    charts = SVG_RE.findall(page)
    assert len(charts) == 4  # target groups, sectors, regions, outcomes
    for chart in charts:
        ET.fromstring(chart)  # well-formed XML
    assert "Definitions" in page


def test_exports_open(as_user, staff_a, loans):
    client = as_user(staff_a.officer)
    response = client.get("/reports/impact?format=csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["Table", "Table (code)", "Breakdown", "Breakdown (code)", "Item", "Item (code)", "Persons",
                       "Amount (EUR)"]
    assert ["Impact", "impact", "Persons financed", "financed", "All", "all", "1", "5321.00"] in rows
    assert ["Impact", "impact", "Sectors", "sectors", "Local retail", "retail", "0", "0.00"] in rows
    response = client.get("/reports/impact?format=xlsx")
    book = load_workbook(io.BytesIO(response.data))
    sheet = book["Impact"]
    assert [c.value for c in sheet[1]] == ["Breakdown", "Breakdown (code)", "Item", "Item (code)", "Persons",
                                           "Amount (EUR)"]
    assert [c.value for c in sheet[2]] == ["Persons financed", "financed", "All", "all", 1, 5321]
    response = client.get("/reports/portfolio?at=2025-06-30&format=xlsx")
    book = load_workbook(io.BytesIO(response.data))
    assert set(book.sheetnames) == {"Key figures", "Trend by month"}
    response = client.get("/reports/portfolio?at=2025-06-30&format=csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert ["Key figures", "figures", "Active borrowers", "active_borrowers", "1"] in rows
    assert client.get("/reports/referrals?format=csv").status_code == 200
    assert client.get("/reports/impact?format=pdf").status_code == 404


def test_portfolio_page_has_trend_charts(as_user, staff_a, loans):
    client = as_user(staff_a.admin)
    response = client.get("/reports/portfolio?at=2025-06-30&from=2025-01-01&to=2025-06-30")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    charts = SVG_RE.findall(page)
    assert len(charts) == 2
    for chart in charts:
        ET.fromstring(chart)
    assert "2025-06" in page


@pytest.mark.parametrize("query, field, message", [
    ("from=2025-12-31&to=2025-01-01", "to", "The end of the period must not be before its start."),
    ("from=31/12/2025", "from", "Enter a date as YYYY-MM-DD"),
])
def test_bad_filters_are_named_and_kept(as_user, staff_a, query, field, message):
    client = as_user(staff_a.admin)
    response = client.get(f"/reports/impact?{query}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="filter-{field}-error"' in page and message in page
    typed = dict(part.split("=") for part in query.split("&"))
    assert f'value="{typed["from"]}"' in page
    assert "impact-financed" not in page


def test_portfolio_bad_date(as_user, staff_a):
    response = as_user(staff_a.admin).get("/reports/portfolio?at=yesterday")
    assert response.status_code == 422
    assert 'id="filter-at-error"' in response.get_data(as_text=True)


def test_federation_sees_sector_suppressed(as_user, auditor, loans):
    client = as_user(auditor)
    page = client.get("/reports/impact").get_data(as_text=True)
    assert "&lt; 5" in page and "8,765.00" not in page and "4,321.00" not in page
    assert "fewer than 5 persons" in page
    rows = list(csv.reader(io.StringIO(client.get("/reports/impact?format=csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert ["Impact", "impact", "Persons financed", "financed", "All", "all", "<5", "<5"] in rows
    assert ["Impact", "impact", "People financed by more than one institution", "financed_by_several_institutions",
            "All", "all", "<5", ""] in rows
    assert 'id="impact-several"' in page  # the sector's count of people financed twice
    page = client.get("/reports/impact?institution=microstart").get_data(as_text=True)
    assert "&lt; 5" in page and "5,321.00" not in page
    assert client.get("/reports/impact?institution=nowhere").status_code == 422
    data = client.get("/reports/portfolio?at=2025-06-30&format=csv").get_data(as_text=True)
    assert "Key figures,figures,Gross outstanding portfolio (EUR),gross_outstanding,<5" in data


def test_menu_offers_reports(as_user, staff_a):
    page = as_user(staff_a.coach).get("/").get_data(as_text=True)
    assert "/reports/impact" in page and "/reports/portfolio" in page
