"""Issue 16, point 3 in a real browser: the admin enters the year's budget (in French, after a
refused negative one) and reads the cost per person on the impact page, assumptions beside it."""
from datetime import date

from tests.browser.conftest import sign_in
from tests.conftest import make_staff
from tests.reports_data import make_loan, person


def test_admin_enters_a_budget_and_sees_the_cost_per_person(live_server, page):
    staff = make_staff("credal")
    for n in range(4):
        make_loan(staff, person(staff, last_name=f"Budget{n}"), "5000", date(2025, 3, 1 + n))
    sign_in(page, live_server, staff.admin, language="fr")
    page.get_by_role("link", name="Budget et rendement social").first.click()
    page.locator("#year").fill("2025")
    page.locator("#budget").fill("-25 000")
    page.get_by_role("button", name="Enregistrer le budget").click()
    assert page.locator("#budget-error").inner_text() == "Saisissez un montant de zéro ou plus."
    assert page.locator("#budget").input_value() == "-25 000"
    assert page.locator("#budgets").count() == 0  # nothing written
    page.locator("#budget").fill("25 000,00")
    page.get_by_role("button", name="Enregistrer le budget").click()
    assert "Budget de 2025 enregistré." in page.locator("main").inner_text()
    page.get_by_role("link", name="Rapport d'impact").first.click()
    page.locator("#filter-from").fill("2025-01-01")
    page.locator("#filter-to").fill("2025-12-31")
    page.locator(".report-filters button").click()
    row = page.locator("#impact-cost-per-person").inner_text().replace("\u202f", " ").replace("\u00a0", " ")
    assert "6 250,00" in row
    section = page.locator("#impact-cost").inner_text()
    assert "pas une étude auditée" in section
    assert "Coût public d'un demandeur d'emploi" in page.locator("#impact-assumptions").inner_text()
