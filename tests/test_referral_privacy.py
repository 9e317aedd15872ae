"""Privacy in the referral inbox (issue 13, points 2 and 7): an institution that declined, or let
the deadline pass, keeps only the coded need; the identity shown is recorded in the audit trail;
codes read as translated labels; contact details only with consent to be contacted; the note typed
when taking a referral is shown again."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from core import clock
from core.extensions import db
from core.models.audit import AuditEntry
from core.services import referrals
from core.tenancy import all_institutions
from tests.conftest import post
from tests.referral_helpers import body, make_referrer, send
from tests.test_referral_registry import _offer_of


@pytest.fixture
def bank(app):
    return make_referrer()


def _reveals(offer_id):
    with all_institutions("test"):
        return db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "reveal", AuditEntry.record_type == "referral_offers",
            AuditEntry.record_id == offer_id)).all()


def test_seeing_the_applicant_is_recorded_in_the_audit_trail(app, client, bank, as_user, staff_b):
    _, token = bank
    created = send(client, token, body()).get_json()  # offered to Hefboom (staff_b)
    offer = _offer_of(created["id"])[0]
    page = as_user(staff_b.officer).get(f"/referrals/{offer.id}").get_data(as_text=True)
    assert "Sofie" in page and "sofie@example.be" in page
    [seen] = _reveals(offer.id)
    assert seen.user_id == staff_b.officer.id and "applicant_contact" in seen.changes["fields"]


def test_after_a_decline_only_the_coded_need_remains(app, client, bank, as_user, staff_b):
    _, token = bank
    created = send(client, token, body()).get_json()
    offer = _offer_of(created["id"])[0]
    officer = as_user(staff_b.officer)
    post(officer, f"/referrals/{offer.id}/decline", {"reason": "capacity"})
    page = officer.get(f"/referrals/{offer.id}").get_data(as_text=True)
    for personal in ("Sofie", "Peeters", "sofie@example.be", "470 12 34 56", "Kitchen equipment"):
        assert personal not in page, personal
    assert 'id="identity-hidden"' in page and "12,000.00" in page  # the need stays
    assert "no capacity now" in page  # our decline reason, as a label
    listing = officer.get("/referrals/?closed=1").get_data(as_text=True)
    assert "Sofie" not in listing and "(no longer ours)" in listing
    assert _reveals(offer.id) == []  # the declined page revealed nothing


def test_after_the_deadline_passed_only_the_coded_need_remains(app, client, bank, as_user, staff_b):
    _, token = bank
    created = send(client, token, body()).get_json()
    offer = _offer_of(created["id"])[0]
    assert referrals.expire_overdue(clock.today() + timedelta(days=30)) == 1
    page = as_user(staff_b.officer).get(f"/referrals/{offer.id}").get_data(as_text=True)
    assert "Sofie" not in page and "sofie@example.be" not in page and 'id="identity-hidden"' in page


def test_without_consent_to_be_contacted_the_contact_details_stay_hidden(app, client, bank, as_user, staff_b):
    _, token = bank
    created = send(client, token, body(**{"consent.scope": ["share_with_mfi"]})).get_json()
    offer = _offer_of(created["id"])[0]
    page = as_user(staff_b.officer).get(f"/referrals/{offer.id}").get_data(as_text=True)
    assert "Sofie" in page and "sofie@example.be" not in page and "470 12 34 56" not in page
    assert "no consent to be contacted" in page
    [seen] = _reveals(offer.id)
    assert seen.changes["fields"] == "applicant_identity"


def test_codes_read_as_labels_in_dutch_and_the_note_is_shown(app, client, bank, as_user, staff_b):
    _, token = bank
    created = send(client, token, body(**{"refusal.reasons": ["insufficient_collateral", "bank_own_code"]})).get_json()
    offer = _offer_of(created["id"])[0]
    officer = as_user(staff_b.officer)
    post(officer, "/language", {"lang": "nl"})
    post(officer, f"/referrals/{offer.id}/accept", {"notes": "Belt maandag terug"})
    page = officer.get(f"/referrals/{offer.id}").get_data(as_text=True)
    for code in ("insufficient_collateral", "share_with_mfi", "bank_own_code"):
        assert code not in page, code
    assert "onvoldoende zekerheden" in page and "bank own code" in page
    assert "delen met een microfinancieringsinstelling" in page
    assert "Belt maandag terug" in page
