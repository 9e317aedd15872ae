"""Brusoc's admin raises the OPEN UP ceiling in Dutch, after a typo is caught next to the field."""
from tests.browser.conftest import sign_in
from tests.conftest import make_staff


def test_admin_edits_the_institution_settings_in_dutch(live_server, page):
    staff = make_staff("brusoc")
    sign_in(page, live_server, staff.admin, language="nl")
    page.locator("nav").get_by_role("link", name="Instellingen van de instelling").click()
    assert page.locator("h1").inner_text() == "Instellingen van de instelling"
    ceiling = page.get_by_label("OPEN UP: grootste lening (EUR)")
    assert ceiling.input_value() == "25000"
    ceiling.fill("30.000,5x")
    page.get_by_role("button", name="De instellingen opslaan").click()
    assert "Vul een getal in, zoals 12,5." in page.locator("#max_amount-error").inner_text()
    assert page.get_by_label("OPEN UP: grootste lening (EUR)").input_value() == "30.000,5x"
    page.get_by_label("OPEN UP: grootste lening (EUR)").fill("30000")
    page.get_by_role("button", name="De instellingen opslaan").click()
    assert "Instellingen opgeslagen." in page.locator("body").inner_text()
    assert "1,00 – 30.000,00" in page.locator("#product-open_up").inner_text()
