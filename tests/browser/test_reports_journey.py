"""Reports in a real browser: an institution admin opens the impact report; an auditor the sector view."""
from datetime import date

from tests.browser.conftest import sign_in
from tests.conftest import make_staff
from tests.reports_data import make_loan, person


def test_admin_opens_the_impact_report_and_filters_it(live_server, page):
    staff = make_staff("credal")
    make_loan(staff, person(staff), "6000", date(2025, 3, 1), honour="1500")
    sign_in(page, live_server, staff.admin, language="fr")
    page.get_by_role("link", name="Rapport d'impact").first.click()
    main = page.locator("main")
    assert "Personnes financées" in main.inner_text()
    assert "7\u202f500,00" in page.locator("#impact-financed").inner_text() or \
        "7 500,00" in page.locator("#impact-financed").inner_text()
    assert page.locator("svg.chart").count() == 4  # target groups, sectors, regions, outcomes
    page.locator("#filter-from").fill("2025-12-31")
    page.locator("#filter-to").fill("2025-01-01")
    page.locator(".report-filters button").click()
    assert "La fin de la période ne peut pas précéder son début." in main.inner_text()
    assert page.locator("#filter-from").input_value() == "2025-12-31"
    # on a phone the filters are folded, but not when one of them has an error to show
    page.set_viewport_size({"width": 375, "height": 740})
    page.reload()
    assert page.get_by_text("La fin de la période ne peut pas précéder son début.").is_visible()
    page.goto(f"{live_server.url}/reports/impact")
    assert not page.locator("#filter-from").is_visible()


def test_auditor_opens_the_sector_view_with_small_cells_hidden(live_server, page):
    from core.services import accounts

    staff = make_staff("hefboom")
    make_loan(staff, person(staff), "6000", date(2025, 3, 1))
    auditor = accounts.create_user(email="auditor@fed.test", name="Audrey", role="auditor",
                                   institution_id=None, password="correct horse battery")
    sign_in(page, live_server, auditor, language="nl")
    page.get_by_role("link", name="Impactrapport").first.click()
    table = page.locator("#impact-financed").inner_text()
    assert "< 5" in table and "6.000,00" not in table
    assert "minder dan 5 personen" in page.locator("main").inner_text()
    page.locator("#filter-institution").select_option("hefboom")
    page.locator(".report-filters button").click()
    assert "< 5" in page.locator("#impact-financed").inner_text()
