"""The admin's budget and assumptions page and the impact page's cost section, through real HTTP."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.extensions import db
from core.models.impact_costs import InstitutionBudget, SocialReturnAssumption
from core.tenancy import all_institutions
from tests.conftest import post
from tests.reports_data import make_loan, person

ASSUMPTIONS = {"public_cost_per_job_seeker": "40,000.00", "share_left_unemployment": "50",
               "years_counted": "1", "other_benefit_per_person": "5,812.50"}


@pytest.fixture
def financed_2025(app, staff_a):
    for n in range(4):  # two job seekers, two employed at intake
        client = person(staff_a, last_name=f"Web{n}", employment_status="job_seeker" if n < 2 else "employed")
        make_loan(staff_a, client, "5000", date(2025, 4, 1 + n))


def _rows(model):
    with all_institutions("test"):
        return db.session.scalar(select(func.count()).select_from(model))


def test_admin_enters_a_budget_and_the_impact_page_shows_the_cost_per_person(as_user, staff_a, financed_2025):
    client = as_user(staff_a.admin)
    assert client.get("/reports/cost").status_code == 200
    response = post(client, "/reports/cost/budget", {"year": "2025", "budget": "25,000.00"}, token_from="/reports/cost")
    assert response.status_code == 200 and "Budget for 2025 saved." in response.get_data(as_text=True)
    response = post(client, "/reports/cost/assumptions", ASSUMPTIONS, token_from="/reports/cost")
    assert response.status_code == 200
    page = client.get("/reports/impact?from=2025-01-01&to=2025-12-31").get_data(as_text=True)
    assert "Cost and social return in 2025" in page
    assert "6,250.00" in page and "2.53" in page and "5,812.50" in page
    assert "not an audited study" in page
    rows = list(csv.reader(io.StringIO(client.get("/reports/impact?from=2025-01-01&to=2025-12-31&format=csv")
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    assert ["Cost", "cost", "Cost per person financed and coached (EUR)", "cost_per_person", "6250.00"] in rows
    assert ["Cost", "cost", "Estimated social return per euro spent (EUR)", "social_return", "2.53"] in rows
    assert ["Cost", "cost", "Other benefit per person financed (EUR)", "assumption.other_benefit_per_person",
            "5812.50"] in rows
    book = load_workbook(io.BytesIO(client.get("/reports/impact?to=2025-12-31&format=xlsx").data))
    assert ["Budget of the year (EUR)", "budget", 25000] in [[c.value for c in row] for row in book["Cost"].iter_rows()]


@pytest.mark.parametrize("typed, message", [
    ("-100", "Enter an amount of zero or more."),
    ("a lot", "Type only digits and separators"),
])
def test_a_bad_budget_keeps_what_was_typed_and_writes_nothing(as_user, staff_a, typed, message):
    client = as_user(staff_a.admin)
    response = post(client, "/reports/cost/budget", {"year": "2025", "budget": typed}, token_from="/reports/cost")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="budget-error"' in page and message in page
    assert f'value="{typed}"' in page and 'value="2025"' in page
    assert _rows(InstitutionBudget) == 0


def test_a_bad_year_or_assumption_is_the_fields_error(as_user, staff_a):
    client = as_user(staff_a.admin)
    response = post(client, "/reports/cost/budget", {"year": "twenty", "budget": "100"}, token_from="/reports/cost")
    assert response.status_code == 422 and 'id="year-error"' in response.get_data(as_text=True)
    response = post(client, "/reports/cost/budget", {"year": "1850", "budget": "100"}, token_from="/reports/cost")
    assert response.status_code == 422 and 'id="year-error"' in response.get_data(as_text=True)
    response = post(client, "/reports/cost/assumptions", {**ASSUMPTIONS, "share_left_unemployment": "120"},
                    token_from="/reports/cost")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="share_left_unemployment-error"' in page
    assert 'value="120"' in page and 'value="5,812.50"' in page
    assert _rows(InstitutionBudget) == _rows(SocialReturnAssumption) == 0


def test_only_the_admin_edits_the_budget(as_user, staff_a, auditor):
    client = as_user(staff_a.officer)
    assert client.get("/reports/cost").status_code == 403
    assert post(client, "/reports/cost/budget", {"year": "2025", "budget": "1"}).status_code == 403
    assert "Cost and social return" in client.get("/reports/impact").get_data(as_text=True)
    assert _rows(InstitutionBudget) == 0
