"""An admin erases a client in French: the reason forgotten is caught next to its field and
nothing changes; then the erasure, and the audit trail says the values were erased."""
from tests.browser import axe
from tests.browser.conftest import sign_in
from tests.browser.test_layout import NARROW, WIDE, _check
from tests.clients_data import make_client
from tests.conftest import make_staff


def test_admin_erases_a_client_in_french(live_server, page):
    staff = make_staff("credal")
    made = make_client(staff, first_name="Nadia", last_name="Benali", national_number="")
    sign_in(page, live_server, staff.admin, language="fr")
    page.goto(f"{live_server.url}/clients/{made.id}")
    page.locator("#erase-link").click()
    assert page.locator("h1").inner_text() == "Effacer les données de ce client"
    assert "Aucun dossier de crédit de ce client ne doit être conservé" in page.locator("#erasure-retention").inner_text()
    assert page.get_by_label("Effacer : plus rien n'identifie la personne", exact=False).is_checked()
    assert axe.violations(page) == []
    for size in (NARROW, WIDE):  # no sideways scroll, every control labelled, nothing left in English
        page.set_viewport_size(size)
        _check(page, f"{live_server.url}/clients/{made.id}/erase", size["width"], "fr")
    page.get_by_label("Je confirme : c'est irréversible").check()
    page.get_by_role("button", name="Effacer ou pseudonymiser maintenant").click()
    assert page.locator("#reason-error").inner_text() == "Choisissez le motif."
    assert page.locator("#reason").get_attribute("aria-invalid") == "true"
    page.goto(f"{live_server.url}/clients/{made.id}")
    assert page.locator("h1").inner_text() == "Nadia Benali"  # nothing was written

    page.locator("#erase-link").click()
    page.get_by_label("Motif").select_option("subject_request")
    page.get_by_label("Je confirme : c'est irréversible").check()
    page.get_by_role("button", name="Effacer ou pseudonymiser maintenant").click()
    assert "Les données du client ont été effacées." in page.locator("body").inner_text()
    assert page.locator("h1").inner_text() == f"— #{made.id}"
    assert "ont été effacées le" in page.locator("#erased-note").inner_text()

    page.goto(f"{live_server.url}/admin/audit?record_type=clients&record_id={made.id}")
    trail = page.locator("main").text_content()  # the folded fields too
    assert "(données personnelles effacées)" in trail and "Nadia" not in trail and "Benali" not in trail
    for url in (f"{live_server.url}/clients/{made.id}", f"{live_server.url}/admin/audit?record_type=clients"):
        _check(page, url, WIDE["width"], "fr")
