"""My account (issue 12, point 2): a new e-mail address is confirmed from that address (the old
one gets a notice), and a password change is mailed to the user. Real SMTP (tests/mail_helpers.py)."""
from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import func, select

from core.extensions import db
from core.models import EmailChange, OutboxMail, User
from core.services import outbox
from core.tenancy import all_institutions
from tests.conftest import PASSWORD, login, post
from tests.mail_helpers import links_in, text_of


def _user(user_id: int) -> User:
    db.session.expire_all()
    with all_institutions("test reads the account"):
        return db.session.get(User, user_id)


def _written() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(EmailChange)),
            db.session.scalar(select(func.count()).select_from(OutboxMail)))


def _ask(client, new_email: str, password: str = PASSWORD):
    return post(client, "/account/email", {"new_email": new_email, "current_password": password},
                token_from="/account/")


def test_new_address_is_confirmed_from_the_new_address(mail_app, smtp_server, staff_a, as_user):
    client = as_user(staff_a.officer)
    assert client.get("/account/").status_code == 200
    response = _ask(client, "  New.Officer@Example.test ")
    assert response.status_code == 303
    assert _user(staff_a.officer.id).email == "officer@microstart.test"  # nothing changes yet
    assert "new.officer@example.test" in client.get("/account/").get_data(as_text=True)
    outbox.deliver_due()
    messages = smtp_server.wait_for(2)
    confirm = next(m for m in messages if m["To"] == "new.officer@example.test")
    notice = next(m for m in messages if m["To"] == "officer@microstart.test")
    assert "new.officer@example.test" in text_of(notice) and "/account/email/confirm/" not in text_of(notice)
    [link] = [url for url in links_in(confirm) if "/account/email/confirm/" in url]
    path = urlsplit(link).path
    assert client.get(path).status_code == 302
    assert _user(staff_a.officer.id).email == "new.officer@example.test"
    again = client.get(path)
    assert again.status_code == 410 and 'data-reason="used"' in again.get_data(as_text=True)
    client.post("/logout")
    assert login(client, "new.officer@example.test").status_code == 302


def test_the_link_expires(make_app, staff_a):
    app = make_app(MICROFIN_EMAIL_CHANGE_HOURS=0)
    with app.app_context():
        client = app.test_client()
        assert login(client, staff_a.officer).status_code == 302
        assert _ask(client, "late@example.test").status_code == 303
        with all_institutions("test"):
            body = db.session.scalar(select(OutboxMail.body_text).where(OutboxMail.to_address == "late@example.test"))
        path = urlsplit(next(u for u in links_in_text(body) if "/confirm/" in u)).path
        response = client.get(path)
        assert response.status_code == 410 and 'data-reason="expired"' in response.get_data(as_text=True)
        assert _user(staff_a.officer.id).email == "officer@microstart.test"


def links_in_text(text: str) -> list[str]:
    from tests.mail_helpers import URL_RE

    return URL_RE.findall(text)


def test_a_guessed_link_is_404(client):
    assert client.get("/account/email/confirm/not-a-token").status_code == 404


def test_bad_new_address_shows_the_error_keeps_the_input_and_writes_nothing(app, staff_a, staff_b, as_user):
    client = as_user(staff_a.officer)
    before = _written()
    for typed, message in (("not-an-address", "Enter a valid email address."),
                           (staff_b.admin.email, "A user with this email address already exists."),
                           (staff_a.officer.email, "This is already your address.")):
        response = _ask(client, typed)
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and message in page and f'value="{typed}"' in page
    wrong = _ask(client, "fine@example.test", password="not my password")
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "This is not your current password." in page
    assert 'value="fine@example.test"' in page
    assert _written() == before
    assert _user(staff_a.officer.id).email == "officer@microstart.test"


def test_password_change_is_mailed(mail_app, smtp_server, staff_a, as_user):
    client = as_user(staff_a.coach)
    new = "a brand new passphrase"
    wrong = post(client, "/account/password", {"current_password": "wrong one", "password": new, "confirm": new},
                 token_from="/account/")
    assert wrong.status_code == 422 and "This is not your current password." in wrong.get_data(as_text=True)
    short = post(client, "/account/password", {"current_password": PASSWORD, "password": "short", "confirm": "short"},
                 token_from="/account/")
    assert short.status_code == 422 and "Use at least 12 characters." in short.get_data(as_text=True)
    assert _written()[1] == 0
    done = post(client, "/account/password", {"current_password": PASSWORD, "password": new, "confirm": new},
                token_from="/account/")
    assert done.status_code == 303
    outbox.deliver_due()
    [message] = smtp_server.wait_for(1)
    assert message["To"] == staff_a.coach.email and "password was changed" in message["Subject"]
    client.post("/logout")
    assert login(client, staff_a.coach, password=new).status_code == 302


def test_federation_staff_have_an_account_page_too(auditor, as_user):
    assert as_user(auditor).get("/account/").status_code == 200


def test_the_account_page_shows_the_second_factor_once_and_a_plain_title(client, staff_a, as_user):
    page = as_user(staff_a.officer).get("/account/").get_data(as_text=True)
    title = page[page.index("<title>"):page.index("</title>")]
    assert "<article" not in title and "My account" in title
    assert page.count('id="account-second-factor"') == 1
