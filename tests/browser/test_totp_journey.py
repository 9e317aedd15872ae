"""The second factor in a real browser: an admin sets it up at sign-in, signs out, signs in with a
code their (pyotp) authenticator app computes."""
import re

import pyotp

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, make_staff


def test_an_admin_enrols_then_signs_in_with_a_code(live_server, page):
    live_server.app.config["MICROFIN_REQUIRE_SECOND_FACTOR"] = True
    staff = make_staff("credal")
    page.goto(f"{live_server.url}/login")
    page.locator('input[name="email"]').fill(staff.admin.email)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('#login button[type="submit"]').click()
    page.wait_for_url(f"{live_server.url}/login/enrol")
    assert page.locator("#enrol-qr svg").count() == 1
    # Nothing else opens before the second factor is set up.
    page.goto(f"{live_server.url}/clients/")
    assert page.url == f"{live_server.url}/login/enrol"
    secret = page.locator("#enrol-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    page.locator('input[name="code"]').fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    page.get_by_role("button", name="Confirm").click()
    assert "That code is not right" in page.locator("main").inner_text()
    page.locator('input[name="code"]').fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    assert page.locator(".recovery-code").count() == 10
    page.locator("#recovery-codes-done").click()
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/account/")
    assert "Recovery codes left: 10" in page.locator("#account-second-factor").inner_text()
    with page.expect_navigation():
        page.locator('form[action="/logout"] button').first.click()
    assert page.url.startswith(f"{live_server.url}/login")

    sign_in(page, live_server, staff.admin)  # types the next code the app shows
    assert page.url == f"{live_server.url}/"
    page.goto(f"{live_server.url}/admin/users")
    assert page.locator(f"#user-{staff.admin.id} .second-factor").inner_text() == "Set up"
