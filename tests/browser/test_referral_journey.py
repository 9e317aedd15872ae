"""A bank refers an entrepreneur over HTTP; Hefboom's officer takes it to an outcome in the browser."""
import json
import urllib.request

from tests.browser.conftest import sign_in
from tests.conftest import make_staff
from tests.referral_helpers import body, make_referrer
from core import clock


def _api(live_server, token, path, data=None):
    request = urllib.request.Request(
        f"{live_server.url}/api/v1{path}", data=json.dumps(data).encode() if data else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                 "Idempotency-Key": "journey-1"}, method="POST" if data else "GET")
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())


def test_referral_from_bank_to_financed(live_server, page):
    staff = make_staff("hefboom")
    _, token = make_referrer()
    created = _api(live_server, token, "/referrals", body())
    assert created["institution"]["slug"] == "hefboom"

    sign_in(page, live_server, staff.officer, language="nl")
    page.get_by_role("link", name="Doorverwijzingen").first.click()
    page.get_by_role("link", name="Sofie Peeters").click()
    page.get_by_role("button", name="Deze doorverwijzing opnemen").click()
    page.get_by_role("button", name="Eerste contact registreren").click()
    page.get_by_role("radio", name="Gefinancierd", exact=True).check()
    page.get_by_role("button", name="Uitkomst registreren").click()
    # Forgot the disbursement date: the form says so, in Dutch, and keeps the choice.
    assert "Geef de uitbetalingsdatum" in page.locator("#outcome-form").inner_text()
    assert page.get_by_role("radio", name="Gefinancierd", exact=True).is_checked()
    page.locator('input[name="disbursed_on"]').fill(clock.today().isoformat())
    page.get_by_role("button", name="Uitkomst registreren").click()
    assert "Uitkomst geregistreerd" in page.locator("main").inner_text()

    seen = _api(live_server, token, f"/referrals/{created['id']}")
    assert seen["status"] == "financed" and seen["stages"]["first_contact_at"]
