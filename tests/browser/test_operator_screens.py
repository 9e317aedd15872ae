"""The operator's screens in a real browser: an institution disabled and enabled again, a token made."""
from sqlalchemy import select

from core.extensions import db
from core.models.referrals import ApiToken
from core.services import accounts, referrers
from core.services.institutions import by_slug
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD


def _operator():
    return accounts.create_user(email="operator@microfin.test", name="Otto Operator", role="operator",
                                institution_id=None, password=PASSWORD)


def test_operator_disables_and_enables_an_institution(live_server, page):
    sign_in(page, live_server, _operator())
    page.get_by_role("link", name="Manage institutions").first.click()
    row = page.locator("#institution-hefboom")
    assert row.get_attribute("data-enabled") == "yes"
    row.get_by_role("button", name="Disable…").click()
    assert "Nothing is deleted" in page.locator("#confirm-disable").inner_text()
    page.locator("#confirm").click()
    assert "is disabled" in page.locator(".flash").inner_text()
    assert page.locator("#institution-hefboom").get_attribute("data-enabled") == "no"
    db.session.expire_all()
    assert not by_slug("hefboom").enabled

    page.locator("#institution-hefboom").get_by_role("button", name="Enable…").click()
    page.locator("#confirm").click()
    assert "enabled again" in page.locator(".flash").inner_text()
    assert page.locator("#institution-hefboom").get_attribute("data-enabled") == "yes"
    db.session.expire_all()
    assert by_slug("hefboom").enabled


def test_operator_creates_a_token_shown_once(live_server, page):
    referrer = referrers.add_referrer(name="Bank Browser", kind="bank").referrer
    sign_in(page, live_server, _operator())
    page.goto(f"{live_server.url}/operator/referrers")
    page.get_by_role("link", name="Bank Browser").click()
    page.get_by_role("button", name="Create a new token").click()
    secret = page.locator("#new-secret").inner_text()
    assert secret.startswith("mfr_")
    db.session.expire_all()
    token = db.session.scalar(select(ApiToken).where(ApiToken.hint == secret[:10]))
    assert token is not None and token.referrer_id == referrer.id
    assert referrers.authenticate(secret).id == referrer.id
    page.get_by_role("link", name="I have copied it").click()
    assert page.locator(f"#token-{token.id}").is_visible()
    assert secret not in page.content()
