"""The mail outbox: queued in the caller's transaction, sent over real SMTP (aiosmtpd) by workers."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models.mail import MailDelivery, OutboxMail
from core.models.types import utcnow
from core.services import outbox
from core.services.institutions import by_slug
from tests.mail_helpers import free_port, html_of, links_in, text_of

CONTEXT = {"user_name": "Anna", "reset_url": "http://crm.microfin.test/password/reset/abc", "hours": 1}


def queue(to="anna@example.test", locale="en", institution_id=None):
    return outbox.enqueue(to=to, template="password_reset", context=CONTEXT, locale=locale,
                          institution_id=institution_id, kind="password_reset")


def test_enqueue_is_part_of_the_callers_transaction(app):
    queue()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == 0
    queue()
    db.session.commit()
    mail = db.session.scalars(select(OutboxMail)).one()
    assert mail.status == "queued" and mail.subject == "Choose a new password for Microfin CRM"
    assert "Hello Anna," in mail.body_text and "http://crm.microfin.test/password/reset/abc" in mail.body_text


@pytest.mark.parametrize(("locale", "subject"), [
    ("nl", "Kies een nieuw wachtwoord voor Microfin CRM"),
    ("fr", "Choisissez un nouveau mot de passe pour Microfin CRM"),
    ("de", "Choose a new password for Microfin CRM"),
])
def test_mail_is_written_in_the_recipients_language(app, locale, subject):
    mail = queue(locale=locale)
    assert mail.subject == subject
    assert mail.locale == ("en" if locale == "de" else locale)


def test_a_missing_template_is_refused_and_nothing_is_queued(app):
    with pytest.raises(outbox.MailTemplateError):
        outbox.enqueue(to="a@example.test", template="no_such_mail", context={}, locale="en", kind="x")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == 0


def test_worker_sends_text_and_html_with_the_institution_name(mail_app, smtp_server):
    institution = by_slug("microstart")
    queue(to="anna@example.test", locale="fr", institution_id=institution.id)
    db.session.commit()
    assert outbox.deliver_due() == 1
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "anna@example.test"
    assert message["Subject"] == "Choisissez un nouveau mot de passe pour Microfin CRM"
    assert institution.name("fr") in str(message["From"]) and "crm@microfin.test" in str(message["From"])
    assert institution.name("fr") in text_of(message) and institution.name("fr") in html_of(message)
    assert links_in(message) == ["http://crm.microfin.test/password/reset/abc"]
    assert '<a href="http://crm.microfin.test/password/reset/abc">' in html_of(message)
    mail = db.session.scalars(select(OutboxMail)).one()
    assert mail.status == "sent" and mail.sent_at is not None and mail.attempts == 1
    assert [d.ok for d in outbox.deliveries(mail.id)] == [True]
    assert outbox.deliver_due() == 0  # never twice
    assert len(smtp_server.messages) == 1


def test_without_smtp_host_mails_stay_in_the_database(app):
    queue()
    db.session.commit()
    assert outbox.deliver_due() == 0
    assert outbox.counts() == {"queued": 1, "sent": 0, "failed": 0}


def nobody_listening(app):
    """Point the app at a port of 127.0.0.1 where no SMTP server listens."""
    app.config.update(MICROFIN_SMTP_HOST="127.0.0.1", MICROFIN_SMTP_PORT=free_port(), MICROFIN_SMTP_TIMEOUT=2)


def test_unreachable_server_keeps_the_mail_queued_with_the_reason(app):
    nobody_listening(app)
    queue()
    db.session.commit()
    assert outbox.deliver_due() == 1
    mail = db.session.scalars(select(OutboxMail)).one()
    assert mail.status == "queued" and mail.attempts == 1
    assert "Connection refused" in mail.last_error or "ConnectionRefused" in mail.last_error
    assert mail.next_attempt_at > utcnow() + timedelta(seconds=50)  # backed off
    assert outbox.deliver_due() == 0  # not due yet
    assert outbox.deliver_due(now=utcnow() + timedelta(minutes=2)) == 1
    db.session.refresh(mail)
    assert mail.attempts == 2 and mail.next_attempt_at > utcnow() + timedelta(minutes=1, seconds=50)
    log = outbox.deliveries(mail.id)
    assert [d.ok for d in log] == [False, False] and all(d.error for d in log)


def test_after_max_attempts_a_mail_fails_for_good(app):
    nobody_listening(app)
    mail = queue()
    db.session.commit()
    for attempt in range(outbox.MAX_ATTEMPTS):
        assert outbox.deliver_due(now=utcnow() + timedelta(days=attempt + 1)) == 1
    db.session.refresh(mail)
    assert mail.status == "failed" and mail.failed_at is not None and mail.attempts == outbox.MAX_ATTEMPTS
    assert outbox.deliver_due(now=utcnow() + timedelta(days=60)) == 0  # never retried forever


def test_a_refused_address_is_a_permanent_failure(mail_app, smtp_server):
    smtp_server.refuse("gone@example.test")
    bounced = queue(to="gone@example.test")
    fine = queue(to="fine@example.test")
    db.session.commit()
    assert outbox.deliver_due() == 2
    db.session.refresh(bounced)
    db.session.refresh(fine)
    assert bounced.status == "failed" and bounced.attempts == 1 and bounced.last_error.startswith("550")
    assert fine.status == "sent"
    assert [m["To"] for m in smtp_server.wait_for(1)] == ["fine@example.test"]
    assert outbox.deliver_due(now=utcnow() + timedelta(days=1)) == 0


def test_two_workers_deliver_200_mails_exactly_once(mail_app, smtp_server):
    for number in range(200):
        outbox.enqueue(to=f"person{number}@example.test", template="password_reset", context=CONTEXT,
                       locale="nl", kind="password_reset")
    db.session.commit()
    attempted = {}
    errors = []

    def work(name):
        try:
            with mail_app.app_context():
                total = 0
                while True:
                    sent = outbox.deliver_due(worker=name, limit=20)
                    total += sent
                    if not sent and outbox.counts()["queued"] == 0:
                        break
                attempted[name] = total
                db.session.remove()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"worker-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    messages = smtp_server.wait_for(200)
    assert len(messages) == 200
    assert sorted(m["To"] for m in messages) == sorted(f"person{n}@example.test" for n in range(200))
    assert sum(attempted.values()) == 200 and all(attempted.values()), attempted
    db.session.expire_all()
    assert outbox.counts() == {"queued": 0, "sent": 200, "failed": 0}
    assert db.session.scalar(select(func.count()).select_from(MailDelivery)) == 200
