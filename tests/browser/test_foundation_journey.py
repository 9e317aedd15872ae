"""The foundation's journey in a real browser: an officer signs in in French."""
from tests.browser.conftest import choose_language, sign_in
from tests.conftest import make_staff


def test_officer_signs_in_in_french_and_sees_the_french_home_page(live_server, page):
    staff = make_staff("credal")
    sign_in(page, live_server, staff.officer, language="fr")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == "Bienvenue, Officer Credal"
    assert "Vous travaillez chez Crédal comme chargé de crédit." in page.locator("#home").inner_text()
    assert page.locator("nav").get_by_role("link", name="Accueil").is_visible()


def test_wrong_password_shows_a_translated_message_and_keeps_the_email(live_server, page):
    staff = make_staff("hefboom")
    page.goto(f"{live_server.url}/login")
    choose_language(page, "nl")
    page.locator('input[name="email"]').fill(staff.officer.email)
    page.locator('input[name="password"]').fill("not the password")
    page.locator('#login button[type="submit"]').click()
    assert "Dit e-mailadres en wachtwoord horen niet bij een actief account." in page.locator("#login").inner_text()
    assert page.locator('input[name="email"]').input_value() == staff.officer.email


def test_admin_invites_a_colleague_who_sets_a_password(live_server, page, browser):
    staff = make_staff("brusoc")
    sign_in(page, live_server, staff.admin)
    page.goto(f"{live_server.url}/admin/users")
    page.get_by_label("Name").fill("Nina Nieuw")
    page.get_by_label("Email").fill("nina@brusoc.test")
    page.get_by_label("Role").select_option("coach")
    page.get_by_role("button", name="Create the invitation").click()
    link = page.locator(".invitation-link").inner_text()
    newcomer = browser.new_context().new_page()
    newcomer.goto(link)
    newcomer.get_by_label("New password").fill("a very long password")
    newcomer.get_by_label("Repeat the password").fill("a very long password")
    newcomer.get_by_role("button", name="Set my password").click()
    assert "Your password is set." in newcomer.locator("main").inner_text()
    newcomer.context.close()
