"""Forgotten password, end to end over HTTP with a real SMTP server: the mail, the link, the new password."""
from __future__ import annotations

import re

from datetime import timedelta

from sqlalchemy import func, select

from core.extensions import db
from core.models import User
from core.models.mail import OutboxMail
from core.services import accounts, outbox, password_reset
from core.tenancy import acting_for
from tests.conftest import PASSWORD, login, post
from tests.mail_helpers import links_in, text_of

NEW_PASSWORD = "a brand new passphrase"


def _ask(client, email):
    return post(client, "/password/forgot", {"email": email}, token_from="/password/forgot")


def _without_csrf_tokens(page):
    page = re.sub(r'(name="csrf_token" value=")[^"]+', r"\1-", page)
    return re.sub(r'("X-CSRFToken": ")[^"]+', r"\1-", page)


def _mail_count():
    return db.session.scalar(select(func.count()).select_from(OutboxMail))


def test_the_whole_reset_through_the_real_smtp_server(mail_app, smtp_server, staff_a):
    client = mail_app.test_client()
    assert 'href="/password/forgot"' in client.get("/login").get_data(as_text=True)
    answer = _ask(client, "Officer@microstart.test ")
    assert answer.status_code == 200 and "Check your mail" in answer.get_data(as_text=True)
    assert outbox.deliver_due() == 1
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "officer@microstart.test"
    assert message["Subject"] == "Choose a new password for Microfin CRM"
    [link] = links_in(message)
    assert link.startswith("http://crm.microfin.test/password/reset/")
    path = link.removeprefix("http://crm.microfin.test")
    page = client.get(path)
    assert page.status_code == 200 and "officer@microstart.test" in page.get_data(as_text=True)
    done = post(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, token_from=path)
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert login(client, staff_a.officer, PASSWORD).status_code == 401  # the old one no longer works
    assert login(client, staff_a.officer, NEW_PASSWORD).status_code == 302
    # the user is told by mail, and the link is dead
    assert outbox.deliver_due() == 1
    changed = smtp_server.wait_for(2)[1]
    assert changed["Subject"] == "Your Microfin CRM password was changed"
    again = mail_app.test_client().get(path)
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)


def test_the_answer_is_the_same_whether_or_not_the_address_exists(app, staff_a):
    client = app.test_client()
    known = _ask(client, "officer@microstart.test").get_data(as_text=True)
    unknown = _ask(client, "nobody@microstart.test").get_data(as_text=True)
    # the CSRF token is signed with a timestamp in seconds: blank it, compare all the rest
    assert _without_csrf_tokens(known) == _without_csrf_tokens(unknown)
    db.session.expire_all()
    assert [m.to_address for m in db.session.scalars(select(OutboxMail))] == ["officer@microstart.test"]


def test_requests_are_throttled(app, staff_a):
    client = app.test_client()
    for _ in range(password_reset.MAX_PER_EMAIL + 2):
        assert _ask(client, "officer@microstart.test").status_code == 200
    assert _mail_count() == password_reset.MAX_PER_EMAIL


def test_a_bad_address_shows_the_field_error_and_sends_nothing(app, staff_a):
    answer = _ask(app.test_client(), "")
    assert answer.status_code == 422 and "Enter your email address." in answer.get_data(as_text=True)
    assert _mail_count() == 0


def test_an_expired_link_gives_a_clear_page_and_no_sign_in(app, staff_a):
    app.config["MICROFIN_PASSWORD_RESET_MINUTES"] = 0
    token = password_reset.make_token(staff_a.officer)
    import time
    time.sleep(1.1)
    page = app.test_client().get(f"/password/reset/{token}")
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)


def test_a_disabled_account_cannot_reset(app, staff_a):
    token = password_reset.make_token(staff_a.coach)
    with acting_for(staff_a.institution_id):
        accounts.set_active(user_id=staff_a.coach.id, active=False, by=staff_a.admin)
    client = app.test_client()
    page = client.get(f"/password/reset/{token}")
    assert page.status_code == 403 and "disabled" in page.get_data(as_text=True)
    with acting_for(staff_a.institution_id):
        before = db.session.get(User, staff_a.coach.id).password_hash
    refused = post(client, f"/password/reset/{token}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                   token_from="/login")
    assert refused.status_code == 403 and "disabled" in refused.get_data(as_text=True)
    db.session.expire_all()
    with acting_for(staff_a.institution_id):
        assert db.session.get(User, staff_a.coach.id).password_hash == before
    assert _mail_count() == 0  # a disabled account asks in vain too
    _ask(client, "coach@microstart.test")
    assert _mail_count() == 0


def test_a_short_password_is_refused_next_to_the_field_and_nothing_changes(app, staff_a):
    token = password_reset.make_token(staff_a.officer)
    client = app.test_client()
    path = f"/password/reset/{token}"
    answer = post(client, path, {"password": "short", "confirm": "short"}, token_from=path)
    assert answer.status_code == 422 and "at least 12 characters" in answer.get_data(as_text=True)
    assert login(client, staff_a.officer, PASSWORD).status_code == 302
    assert _mail_count() == 0


def test_a_garbled_link_is_404(app):
    assert app.test_client().get("/password/reset/not-a-token").status_code == 404
