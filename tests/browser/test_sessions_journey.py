"""Sessions in a real browser (issue 14.3): signed in in two browsers, "Sign out everywhere" in
one sends the other to the sign-in page on its next click."""
from tests.browser.conftest import sign_in
from tests.conftest import make_staff


def test_sign_out_everywhere_reaches_the_other_browser(live_server, browser, page):
    staff = make_staff("credal")
    other_context = browser.new_context(locale="en-GB")
    other_context.set_default_timeout(10_000)
    other = other_context.new_page()
    try:
        sign_in(page, live_server, staff.coach)
        sign_in(other, live_server, staff.coach)
        other.goto(f"{live_server.url}/clients/")
        assert other.url == f"{live_server.url}/clients/"

        page.goto(f"{live_server.url}/account/")
        sessions = page.locator("#sessions tbody tr")
        assert sessions.count() == 2
        assert page.locator("#sessions tr.current-session").count() == 1
        assert "This session" in page.locator("#sessions tr.current-session").inner_text()
        page.get_by_role("button", name="Sign out everywhere").click()
        page.wait_for_url(f"{live_server.url}/login")
        assert "You are signed out on every device." in page.locator("main").inner_text()

        other.goto(f"{live_server.url}/clients/")
        assert other.url.startswith(f"{live_server.url}/login")
        assert "Your session has expired. Please sign in again." in other.locator("main").inner_text()
        page.goto(f"{live_server.url}/clients/")  # the first browser is signed out too
        assert page.url.startswith(f"{live_server.url}/login")
    finally:
        other_context.close()
