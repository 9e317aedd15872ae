"""Signing in and out: argon2, throttling, disabled users, expired and tampered sessions, CSRF."""
import re
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from sqlalchemy import func, select

from core.extensions import db
from core.models import LoginAttempt, LoginThrottle, User
from core.tenancy import acting_for, all_institutions
from tests.conftest import PASSWORD, csrf_token, login, post

NO_MATCH = "That email and password do not match an active account."


def test_sign_in_and_home_shows_institution(client, staff_a):
    response = login(client, staff_a.officer)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "You work at microStart as loan officer." in page


def test_password_is_hashed_with_argon2(app, staff_a):
    assert staff_a.officer.password_hash.startswith("$argon2id$")
    assert PASSWORD not in staff_a.officer.password_hash


def test_wrong_password_unknown_email_and_disabled_user_answer_alike(client, staff_a):
    with acting_for(staff_a.institution_id):  # the institution's admin would (row-level security)
        staff_a.coach.active = False
        db.session.commit()
    answers = [
        login(client, staff_a.officer.email, "wrong password!"),
        login(client, "nobody@nowhere.test", "wrong password!"),
        login(client, staff_a.coach.email, PASSWORD),
    ]
    assert {r.status_code for r in answers} == {401}
    texts = [re.sub(r'[\w-]+\.[\w-]+\.[\w-]+(?=")', "TOKEN", r.get_data(as_text=True)) for r in answers]
    assert all(NO_MATCH in t for t in texts)
    # Same page but for the typed email, which is kept in the form.
    assert texts[0].replace(staff_a.officer.email, "X") == texts[1].replace("nobody@nowhere.test", "X")


def test_typed_email_is_kept_after_a_failed_sign_in(client, staff_a):
    page = login(client, staff_a.officer.email, "nope").get_data(as_text=True)
    assert f'value="{staff_a.officer.email}"' in page


def test_throttled_after_repeated_failures_without_revealing_the_account(app, client, staff_a):
    limit = app.config["MICROFIN_LOGIN_MAX_FAILURES"]
    for email in (staff_a.officer.email, "ghost@nowhere.test"):
        for _ in range(limit):
            assert login(client, email, "bad password").status_code == 401
        blocked = login(client, email, PASSWORD if "ghost" not in email else "x")
        assert blocked.status_code == 429
        assert "Too many failed attempts. Try again in 15 minutes." in blocked.get_data(as_text=True)
    # Even the right password is refused while throttled; nothing else was written.
    assert login(client, staff_a.officer.email, PASSWORD).status_code == 429


def test_throttling_window_passes(app, client, staff_a):
    for _ in range(app.config["MICROFIN_LOGIN_MAX_FAILURES"]):
        assert login(client, staff_a.officer.email, "bad password").status_code == 401
    assert login(client, staff_a.officer).status_code == 429
    passed = datetime.now(timezone.utc) - timedelta(minutes=app.config["MICROFIN_LOGIN_WINDOW_MINUTES"] + 1)
    throttle = db.session.get(LoginThrottle, staff_a.officer.email)
    throttle.window_started_at, throttle.locked_until = passed, passed  # the window and the lockout passed
    db.session.commit()
    assert login(client, staff_a.officer).status_code == 302


def test_rehash_on_login_when_parameters_change(make_app, staff_a):
    stronger = make_app(ARGON2_TIME_COST=2)
    with stronger.app_context():
        client = stronger.test_client()
        assert login(client, staff_a.officer).status_code == 302
        with all_institutions("test"):
            new_hash = db.session.scalar(select(User.password_hash).where(User.id == staff_a.officer.id))
    assert new_hash != staff_a.officer.password_hash
    assert "t=2" in new_hash and PasswordHasher().verify(new_hash, PASSWORD)


def test_logout_needs_csrf_and_ends_the_session(client, staff_a):
    login(client, staff_a.officer)
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200
    assert post(client, "/logout").status_code == 302
    assert client.get("/").headers["Location"] == "/login"


def test_missing_csrf_token_gets_a_clear_answer_and_no_sign_in(client, staff_a):
    response = client.post("/login", data={"email": staff_a.officer.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "This form has expired or did not come from this site." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 0


def test_tampered_session_cookie_is_treated_as_signed_out(client, staff_a):
    login(client, staff_a.officer)
    cookie = client.get_cookie("session")
    client.set_cookie("session", cookie.value[:-3] + "AAA")
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_idle_session_expires_with_a_message(app, client, staff_a):
    from datetime import timedelta

    from core.models import UserSession

    login(client, staff_a.officer)
    record = db.session.scalar(select(UserSession).where(UserSession.user_id == staff_a.officer.id))
    record.last_seen_at -= timedelta(minutes=app.config["MICROFIN_IDLE_MINUTES"], seconds=1)
    db.session.commit()
    response = client.get("/", follow_redirects=True)
    assert "Your session has expired. Please sign in again." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_disabled_user_is_signed_out_on_next_request(client, staff_a):
    login(client, staff_a.officer)
    with acting_for(staff_a.institution_id):  # the institution's admin would (row-level security)
        staff_a.officer.active = False
        db.session.commit()
    assert client.get("/").status_code == 302


def test_open_redirect_is_refused(client, staff_a):
    token = csrf_token(client)
    response = client.post("/login", data={"email": staff_a.officer.email, "password": PASSWORD,
                                           "next": "https://evil.example/", "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_sign_in_is_recorded_in_the_audit_trail(app, client, staff_a):
    from core.models import AuditEntry

    login(client, staff_a.officer)
    with all_institutions("test"):
        actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.user_id == staff_a.officer.id)).all()
    assert "sign-in" in actions
