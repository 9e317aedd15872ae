"""The clients journey in a real browser, in Dutch: create a client, add a coaching session,
see it on the timeline; add a note inline (htmx)."""
from tests.browser.conftest import sign_in
from tests.conftest import make_staff


def test_coach_creates_client_adds_session_and_sees_it_on_the_timeline_in_dutch(live_server, page):
    staff = make_staff("hefboom")
    sign_in(page, live_server, staff.coach, language="nl")
    page.get_by_role("link", name="Klanten").first.click()
    page.locator("a", has_text="Nieuwe klant").click()
    # The label, then the required mark and its text for screen readers, in Dutch. The text is
    # read from the DOM: innerText of a visually hidden span depends on layout (a line break in
    # one chromium run, a space in the next), the words do not.
    label = page.locator("label[for=first_name]")
    assert " ".join(label.text_content().split()) == "Voornaam* (verplicht)"
    assert label.locator(".visually-hidden").text_content().strip() == "(verplicht)"
    page.locator("#first_name").fill("Jan")
    page.locator("#last_name").fill("Peeters")
    page.locator("#birth_date").fill("1985-07-30")
    page.locator("#gender").select_option("male")
    page.locator("#national_number").fill("85.07.30-033.28")
    page.locator("#postal_code").fill("2000")
    page.locator("#city").fill("Antwerpen")
    page.locator("#enterprise_name").fill("Fietsen Jan")
    page.locator("#enterprise_number").fill("0403.170.701")
    page.locator("#sector").select_option("transport")
    page.locator("#stage").select_option("starter")
    page.locator("#iban").fill("BE71 0961 2345 6769")
    page.get_by_role("button", name="Opslaan").click()
    assert page.locator("h1").inner_text() == "Jan Peeters"
    assert "Vlaanderen" in page.locator("#person").inner_text()
    assert "85.07.30-033.28" not in page.content()

    page.locator("a", has_text="Coachingsessie toevoegen").click()
    page.locator("#duration_minutes").fill("75")
    page.locator("#topics").fill("Ondernemingsplan en kostprijs")
    page.locator("#actions-0-description").fill("Drie offertes voor fietsen opvragen")
    page.locator("#actions-0-due_on").fill("2030-01-15")
    page.get_by_role("button", name="Sessie opslaan").click()

    timeline = page.locator("#timeline")
    assert "Coachingsessie, 75 min, persoonlijk" in timeline.inner_text()
    assert "Ondernemingsplan en kostprijs" in timeline.inner_text()
    assert "Vóór de lening" in page.locator("#coaching").inner_text()

    page.get_by_label("Nieuwe notitie").fill("Belde over het huurcontract")
    page.get_by_role("button", name="Notitie toevoegen").click()
    page.locator("#timeline li.timeline-note").wait_for()
    assert "Belde over het huurcontract" in page.locator("#timeline").inner_text()
    assert page.get_by_label("Nieuwe notitie").input_value() == ""


def test_invalid_iban_is_shown_next_to_the_field_in_dutch_and_input_kept(live_server, page):
    staff = make_staff("hefboom")
    sign_in(page, live_server, staff.officer, language="nl")
    page.goto(f"{live_server.url}/clients/new")
    page.locator("#first_name").fill("Sofie")
    page.locator("#iban").fill("BE00 1234")
    page.get_by_role("button", name="Opslaan").click()
    assert "Dit is geen geldig IBAN" in page.locator("#iban-error").inner_text()
    assert page.locator("#iban").input_value() == "BE00 1234"
    assert page.locator("#first_name").input_value() == "Sofie"


def test_export_shows_progress_then_a_download_link(live_server, page):
    from tests.clients_data import make_client

    staff = make_staff("hefboom")
    for index in range(3):
        make_client(staff, first_name=f"Export{index}", national_number="", sector="care")
    make_client(staff, first_name="Other", national_number="", sector="transport")
    sign_in(page, live_server, staff.officer)
    page.goto(f"{live_server.url}/clients/")
    page.locator("select[name=sector]").select_option("care")
    page.locator("#client-rows").get_by_text("Other").wait_for(state="detached")
    page.locator("#export summary").click()
    page.get_by_role("button", name="Export as CSV").click()
    link = page.get_by_role("button", name="Download (CSV)")
    link.wait_for()
    assert "The export is ready: 3 clients." in page.locator("#export-progress").inner_text()


def test_officer_reveals_the_national_number_in_place(live_server, page):
    from tests.clients_data import make_client

    staff = make_staff("hefboom")
    created = make_client(staff)
    sign_in(page, live_server, staff.officer, language="nl")
    page.goto(f"{live_server.url}/clients/{created.id}")
    assert "••.••.••-•••.28" in page.locator("#national-number").inner_text()
    page.locator("#national-number").get_by_role("button", name="Tonen").click()
    page.locator("#national-number code", has_text="85.07.30-033.28").wait_for()
