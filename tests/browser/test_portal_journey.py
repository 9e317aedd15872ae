"""A bank adviser without an IT integration signs in to the portal, prints the consent form,
refers an applicant (forgetting the attestation first), sees it in the organisation's list, and
follows it to "financed" (issue 13, point 3)."""
from datetime import timedelta

from sqlalchemy import select

from core import clock
from core.extensions import db
from core.models.referrals import ReferralOffer
from core.services import accounts, referrals
from core.tenancy import acting_for, all_institutions
from tests.conftest import PASSWORD
from tests.referral_helpers import make_referrer


def test_an_adviser_refers_an_applicant_and_follows_it_to_financed(live_server, page):
    bank, _token = make_referrer("Bank Example")
    accounts.create_user(email="ada@bank-example.test", name="Ada Adviser", role="referrer", institution_id=None,
                         referrer_id=bank.id, password=PASSWORD, preferred_language="en")

    page.goto(f"{live_server.url}/login")
    page.locator('input[name="email"]').fill("ada@bank-example.test")
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('#login button[type="submit"]').click()
    page.wait_for_url(f"{live_server.url}/portal/")
    assert "No referrals yet." in page.locator("main").inner_text()
    nav = page.locator("header nav").inner_text()
    assert "Refer an applicant" in nav and "Institutions" not in nav

    page.get_by_role("link", name="Consent form to print").first.click()
    assert "Consent to a referral to microfinance" in page.locator("h1").inner_text()
    page.get_by_role("link", name="Français").click()
    assert page.locator("html").get_attribute("lang") == "fr"
    assert "Bank Example" in page.locator("#clause-share_with_mfi").inner_text()
    page.get_by_role("link", name="Retour au portail").click()

    page.get_by_role("link", name="Refer an applicant").first.click()
    page.get_by_label("Your reference for this file").fill("EX-2026-0007")
    page.get_by_label("First name").fill("Sofie")
    page.get_by_label("Last name").fill("Peeters")
    page.get_by_label("Date of birth").fill("1990-04-12")
    page.get_by_label("Phone (or an e-mail address)").fill("+32 470 12 34 56")
    page.get_by_label("Postal code").fill("9000")
    page.locator("select#language").select_option("nl")
    page.get_by_label("Amount needed (EUR)").fill("12,000")
    page.locator("select#sector").select_option("horeca")
    page.locator("select#stage").select_option("starter")
    page.get_by_label("What the money is for").fill("Kitchen equipment for a small restaurant")
    page.get_by_label("Date of your refusal").fill((clock.today() - timedelta(days=2)).isoformat())
    page.get_by_label("insufficient collateral").check()
    page.get_by_label("Date the applicant gave consent").fill((clock.today() - timedelta(days=1)).isoformat())
    page.locator("select#consent_method").select_option("written")
    # Forgot the attestation: the form says so and keeps what was typed.
    page.get_by_role("button", name="Send the referral").click()
    assert "Tick this box" in page.locator("#portal-consent").inner_text()
    assert page.get_by_label("Last name").input_value() == "Peeters"
    assert page.get_by_label("insufficient collateral").is_checked()
    page.get_by_label("I attest that the applicant agreed").check()
    page.get_by_role("button", name="Send the referral").click()
    assert "Referral EX-2026-0007 sent" in page.locator("main").inner_text()
    assert page.locator("#referral-status").inner_text() == "offered to an institution"

    page.get_by_role("link", name="Our referrals").first.click()
    row = page.locator("#portal-referrals tbody tr")
    assert row.count() == 1 and "EX-2026-0007" in row.inner_text()
    assert "offered to an institution" in row.inner_text()

    with all_institutions("the institution's side of the test"):
        offer = db.session.scalar(select(ReferralOffer).where(ReferralOffer.state == "open"))
    with acting_for(offer.institution_id):
        referrals.accept(offer.id, notes="Call her on Tuesday")
        referrals.record_contact(offer.id, contacted_on=clock.today())
        referrals.record_outcome(offer.id, outcome="financed", disbursed_on=clock.today())
    db.session.remove()

    page.reload()
    assert "financed" in page.locator("#portal-referrals tbody tr").inner_text()
    page.get_by_role("link", name="EX-2026-0007").click()
    assert page.locator("#referral-status").inner_text() == "financed"
    stages = page.locator("#referral-stages").inner_text()
    assert f"Loan disbursed: {clock.today().isoformat()}" in stages
    assert "Call her on Tuesday" not in page.content() and "Sofie" not in page.content()
