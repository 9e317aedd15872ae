"""A forgotten password in a real browser, with the mail going through a real SMTP server."""
from core.services import outbox
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, make_staff
from tests.mail_helpers import links_in

NEW_PASSWORD = "another long passphrase"


def test_forgotten_password_reset_by_mail(live_server, page, smtp_server):
    live_server.app.config.update({**smtp_server.settings(), "MICROFIN_BASE_URL": live_server.url})
    staff = make_staff("credal")
    page.goto(f"{live_server.url}/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(staff.officer.email)
    page.get_by_role("button", name="Send the link").click()
    assert "Check your mail" in page.locator("main").inner_text()
    assert outbox.deliver_due() == 1
    [message] = smtp_server.wait_for(1)
    [link] = links_in(message)
    page.goto(link)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set my password").click()
    assert "Your new password is set." in page.locator("main").inner_text()
    # the old password no longer works, the new one does
    page.locator('input[name="email"]').fill(staff.officer.email)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('#login button[type="submit"]').click()
    assert "do not match an active account" in page.locator("#login").inner_text()
    sign_in(page, live_server, staff.officer, password=NEW_PASSWORD)
    assert page.url == f"{live_server.url}/"
    # the link is now used
    page.goto(link)
    assert "already used" in page.locator("main").inner_text()
