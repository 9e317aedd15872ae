"""The operator reads kept, sent and failed mails on /operator/mail; nobody else may."""
from __future__ import annotations

from core.extensions import db
from core.services import outbox
from tests.mail_helpers import free_port

CONTEXT = {"user_name": "Anna", "reset_url": "http://crm.microfin.test/password/reset/abc", "hours": 1}


def test_without_smtp_the_operator_reads_the_kept_mails(app, operator, as_user):
    outbox.enqueue(to="anna@example.test", template="password_reset", context=CONTEXT, locale="en",
                   kind="password_reset")
    db.session.commit()
    page = as_user(operator).get("/operator/mail").get_data(as_text=True)
    assert "No SMTP server is configured" in page
    assert "anna@example.test" in page and "Choose a new password for Microfin CRM" in page
    assert "http://crm.microfin.test/password/reset/abc" in page
    assert '<span id="count-queued">1</span>' in page


def test_unreachable_smtp_the_operator_sees_why(app, operator, as_user):
    app.config.update(MICROFIN_SMTP_HOST="127.0.0.1", MICROFIN_SMTP_PORT=free_port(), MICROFIN_SMTP_TIMEOUT=2)
    outbox.enqueue(to="anna@example.test", template="password_reset", context=CONTEXT, locale="en",
                   kind="password_reset")
    db.session.commit()
    assert outbox.deliver_due(worker="w1") == 1
    page = as_user(operator).get("/operator/mail?status=queued").get_data(as_text=True)
    assert "No SMTP server is configured" not in page
    assert "anna@example.test" in page and "Connection refused" in page and "w1" in page


def test_failed_mails_are_listed_as_failed(mail_app, smtp_server, operator, as_user):
    smtp_server.refuse("gone@example.test")
    outbox.enqueue(to="gone@example.test", template="password_reset", context=CONTEXT, locale="en",
                   kind="password_reset")
    db.session.commit()
    outbox.deliver_due()
    page = as_user(operator).get("/operator/mail?status=failed").get_data(as_text=True)
    assert "gone@example.test" in page and "550" in page and '<span id="count-failed">1</span>' in page


def test_institution_staff_cannot_read_the_outbox(app, staff_a, auditor, as_user):
    for user in (staff_a.admin, auditor):
        client = as_user(user)
        assert client.get("/operator/mail").status_code == 403
        client.post("/logout")
