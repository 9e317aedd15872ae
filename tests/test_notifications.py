"""Notifications: fired by the services that make the change, mailed per preference, the bell."""
from __future__ import annotations

from core.extensions import db
from core.models import Notification
from core.services import notifications, outbox
from core.tenancy import acting_for, all_institutions
from tests.conftest import post
from tests.loans_data import make_loan
from tests.mail_helpers import text_of


def test_loan_decision_is_mailed_to_the_drafter_without_the_clients_name(mail_app, smtp_server, staff_a):
    make_loan(staff_a, status="approved")
    with all_institutions("test"):
        kinds = {(n.user_id, n.kind) for n in db.session.scalars(db.select(Notification))}
    assert (staff_a.officer.id, "loan_decided") in kinds
    assert (staff_a.admin.id, "loan_awaiting_decision") in kinds
    outbox.deliver_due()
    messages = smtp_server.wait_for(2)
    decided = [m for m in messages if m["To"] == staff_a.officer.email]
    assert decided and "approved" in decided[0]["Subject"]
    assert "Borrower" not in text_of(decided[0])


def test_bell_counts_unread_and_opening_marks_read(client, staff_a, as_user):
    make_loan(staff_a, status="submitted")
    client = as_user(staff_a.admin)
    page = client.get("/").get_data(as_text=True)
    assert 'id="bell-count"' in page
    with acting_for(staff_a.institution_id):
        [item] = notifications.for_user(staff_a.admin.id)
    assert client.get(f"/notifications/{item.id}").status_code == 303
    assert 'id="bell-count"' not in client.get("/").get_data(as_text=True)


def test_a_digest_with_nothing_is_not_sent(app, staff_a):
    assert notifications.send_digests() == 0


def test_preferences_off_tells_nothing(client, staff_a, as_user):
    client = as_user(staff_a.admin)
    form = {kind: "off" for kind in notifications.kinds_for("admin")}
    assert post(client, "/notifications/preferences", form, token_from="/notifications/preferences").status_code == 303
    bad = post(client, "/notifications/preferences", {**form, "loan_decided": "loud"},
               token_from="/notifications/preferences")
    assert bad.status_code == 422
    make_loan(staff_a, status="submitted")
    with acting_for(staff_a.institution_id):
        assert notifications.for_user(staff_a.admin.id) == []


def test_amounts_and_dates_read_in_the_readers_language(app):
    from flask_babel import force_locale

    from core.models.notifications import Notification
    from core.services import notifications

    offered = Notification(kind="referral_offered", params={"amount": "12000.00", "deadline": "2026-12-09",
                                                            "offer": "#4"})
    with app.test_request_context(), force_locale("nl"):
        dutch = notifications.text(offered)
    with app.test_request_context(), force_locale("fr"):
        french = notifications.text(offered)
    assert "€\u00a012.000,00" in dutch and "9 dec 2026" in dutch
    assert "12\u202f000,00" in french or "12\u00a0000,00" in french
    assert "2026-12-09" not in dutch + french
