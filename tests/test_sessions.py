"""Server-side sessions (issue 14, point 3), over real HTTP with the Flask test client.

Each sign-in has a record in ``user_sessions``; a request whose record is missing, revoked, idle
or too old is signed out. Lifetimes are tested by moving the record's timestamps in the database.
"""
from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from sqlalchemy import func, select

from core.extensions import db
from core.models import UserSession
from core.models.types import utcnow
from core.services import chores, password_reset
from tests.conftest import PASSWORD, login, post

NEW_PASSWORD = "tangerine quarrel bicycle 4071"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.0.0 Safari/537.36")
EXPIRED = "Your session has expired. Please sign in again."


def _sign_in(app, user, user_agent: str = FIREFOX):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    assert login(client, user).status_code == 302
    assert client.get("/clients/").status_code == 200
    return client


def _records(user) -> list[UserSession]:
    db.session.expire_all()
    return list(db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)
                                   .order_by(UserSession.id)))


def _signed_out(client) -> bool:
    answer = client.get("/clients/")
    if answer.status_code == 200:
        return False
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login"), answer.status_code
    return True


def test_a_cookie_saved_before_sign_out_no_longer_opens_anything(app, staff_a):
    """The finding: a copy of the session cookie kept working after POST /logout."""
    client = _sign_in(app, staff_a.officer)
    saved = client.get_cookie("session").value
    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert replay.get("/clients/").status_code == 200  # the copy works while the session lives

    assert post(client, "/logout").status_code == 302
    replay.set_cookie("session", saved)
    answer = replay.get("/clients/")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    assert [(r.revoked_reason, r.revoked_at is not None) for r in _records(staff_a.officer)] == [("sign-out", True)]


def test_the_session_id_is_stored_only_as_its_hash(app, staff_a):
    client = _sign_in(app, staff_a.officer)
    with client.session_transaction() as session:
        token = session["sid"]
    [record] = _records(staff_a.officer)
    assert token not in record.token_hash and len(record.token_hash) == 64
    assert record.token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_an_idle_session_expires_and_activity_is_written_at_most_once_a_minute(app, staff_a):
    client = _sign_in(app, staff_a.officer)
    [record] = _records(staff_a.officer)
    seen = utcnow() - timedelta(seconds=30)
    record.last_seen_at = seen
    db.session.commit()
    assert not _signed_out(client)
    assert _records(staff_a.officer)[0].last_seen_at == seen  # under a minute ago: no write

    record = _records(staff_a.officer)[0]
    record.last_seen_at = utcnow() - timedelta(minutes=2)
    db.session.commit()
    assert not _signed_out(client)
    assert utcnow() - _records(staff_a.officer)[0].last_seen_at < timedelta(seconds=10)

    record = _records(staff_a.officer)[0]
    record.last_seen_at = utcnow() - timedelta(minutes=app.config["MICROFIN_IDLE_MINUTES"], seconds=1)
    db.session.commit()
    page = client.get("/clients/", follow_redirects=True)
    assert EXPIRED in page.get_data(as_text=True)
    assert _signed_out(client)
    assert _records(staff_a.officer)[0].revoked_reason == "idle"


def test_the_absolute_lifetime_holds_even_for_a_busy_session(app, staff_a):
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=10)  # the documented default
    client = _sign_in(app, staff_a.officer)
    saved = client.get_cookie("session").value
    [record] = _records(staff_a.officer)
    record.created_at = utcnow() - timedelta(hours=9, minutes=59)
    db.session.commit()
    assert not _signed_out(client)  # just under ten hours: still fine

    record = _records(staff_a.officer)[0]
    record.created_at = utcnow() - timedelta(hours=10, seconds=1)
    record.last_seen_at = utcnow()  # used a second ago
    db.session.commit()
    page = client.get("/clients/", follow_redirects=True)
    assert EXPIRED in page.get_data(as_text=True)
    replay = app.test_client()
    replay.set_cookie("session", saved)  # the re-signed cookie does not revive it
    assert _signed_out(replay)
    assert _records(staff_a.officer)[0].revoked_reason == "expired"


def test_short_lifetimes_from_the_configuration_are_enforced(make_app, staff_a):
    short = make_app(PERMANENT_SESSION_LIFETIME=timedelta(minutes=30), MICROFIN_IDLE_MINUTES=5)
    with short.app_context():
        client = _sign_in(short, staff_a.officer)
        [record] = _records(staff_a.officer)
        record.last_seen_at = utcnow() - timedelta(minutes=4)
        db.session.commit()
        assert not _signed_out(client)
        record = _records(staff_a.officer)[0]
        record.created_at = utcnow() - timedelta(minutes=31)
        db.session.commit()
        assert _signed_out(client)


def test_a_password_change_signs_out_the_other_sessions_not_this_one(app, staff_a):
    here = _sign_in(app, staff_a.coach)
    elsewhere = _sign_in(app, staff_a.coach, CHROME_WINDOWS)
    other_user = _sign_in(app, staff_a.officer)
    done = post(here, "/account/password", {"current_password": PASSWORD, "password": NEW_PASSWORD,
                                            "confirm": NEW_PASSWORD}, token_from="/account/")
    assert done.status_code == 303
    assert not _signed_out(here)
    assert _signed_out(elsewhere)
    assert not _signed_out(other_user)
    assert [r.revoked_reason for r in _records(staff_a.coach)] == [None, "password"]


def test_a_password_reset_by_link_signs_out_every_session(app, staff_a):
    signed_in = _sign_in(app, staff_a.officer)
    token = password_reset.make_token(staff_a.officer)
    browser = app.test_client()
    path = f"/password/reset/{token}"
    answer = post(browser, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, token_from=path)
    assert answer.status_code in (302, 303)
    assert _signed_out(signed_in)
    assert [r.revoked_reason for r in _records(staff_a.officer)] == ["password-reset"]


def test_sign_out_everywhere_ends_every_session_this_one_included(app, staff_a):
    here = _sign_in(app, staff_a.coach)
    elsewhere = _sign_in(app, staff_a.coach, CHROME_WINDOWS)
    other_user = _sign_in(app, staff_a.officer)
    answer = post(here, "/account/sessions/revoke-all", token_from="/account/")
    assert answer.status_code == 303 and answer.headers["Location"] == "/login"
    assert "You are signed out on every device." in here.get("/login").get_data(as_text=True)
    assert _signed_out(here) and _signed_out(elsewhere)
    assert not _signed_out(other_user)
    assert [r.revoked_reason for r in _records(staff_a.coach)] == ["everywhere", "everywhere"]


def test_an_admin_disabling_a_user_ends_their_sessions_for_good(app, staff_a):
    officer = _sign_in(app, staff_a.officer)
    admin = _sign_in(app, staff_a.admin)
    path = f"/admin/users/{staff_a.officer.id}/active"
    assert post(admin, path, {"active": "0"}, token_from="/admin/users").status_code == 302
    assert _signed_out(officer)
    assert post(admin, path, {"active": "1"}, token_from="/admin/users").status_code == 302
    assert _signed_out(officer)  # enabled again: the old session stays revoked, sign in anew
    assert [r.revoked_reason for r in _records(staff_a.officer)] == ["disabled"]
    assert login(officer, staff_a.officer).status_code == 302 and not _signed_out(officer)


def test_an_admin_signs_a_colleague_out_everywhere(app, staff_a, staff_b):
    officer = _sign_in(app, staff_a.officer)
    officer_phone = _sign_in(app, staff_a.officer, CHROME_WINDOWS)
    admin = _sign_in(app, staff_a.admin)
    assert "Sign out everywhere" in admin.get("/admin/users").get_data(as_text=True)
    answer = post(admin, f"/admin/users/{staff_a.officer.id}/sessions/revoke", token_from="/admin/users")
    assert answer.status_code == 302
    assert _signed_out(officer) and _signed_out(officer_phone) and not _signed_out(admin)
    trail = admin.get(f"/admin/audit?user={staff_a.admin.id}").get_data(as_text=True)
    assert "signed out everywhere" in trail
    assert login(officer, staff_a.officer).status_code == 302 and not _signed_out(officer)  # still active
    # another institution's user: 404, and their session lives on
    other = _sign_in(app, staff_b.officer)
    assert post(admin, f"/admin/users/{staff_b.officer.id}/sessions/revoke",
                token_from="/admin/users").status_code == 404
    assert not _signed_out(other)


def test_my_sessions_lists_only_mine_with_the_current_one_marked(app, staff_a):
    here = _sign_in(app, staff_a.coach)
    _sign_in(app, staff_a.coach, CHROME_WINDOWS)
    _sign_in(app, staff_a.officer, CHROME_WINDOWS)
    ended = _sign_in(app, staff_a.coach)
    post(ended, "/logout")
    mine = _records(staff_a.coach)
    officers = _records(staff_a.officer)
    page = here.get("/account/").get_data(as_text=True)
    listed = [int(n) for n in re.findall(r'<tr id="session-(\d+)"', page)]
    assert sorted(listed) == [mine[0].id, mine[1].id]  # not the signed-out one, not the officer's
    assert officers[0].id not in listed
    assert re.search(rf'<tr id="session-{mine[0].id}" class="current-session">', page)
    assert "This session" in page and page.count("This session") == 1
    assert "Firefox, Linux" in page and "Chrome, Windows" in page
    assert "127.0.0.1" in page


def test_revoking_one_of_my_sessions_and_never_someone_elses(app, staff_a, staff_b):
    here = _sign_in(app, staff_a.coach)
    elsewhere = _sign_in(app, staff_a.coach, CHROME_WINDOWS)
    colleague = _sign_in(app, staff_a.officer)
    stranger = _sign_in(app, staff_b.coach)
    for victim in (_records(staff_a.officer)[0], _records(staff_b.coach)[0]):
        answer = post(here, f"/account/sessions/{victim.id}/revoke", token_from="/account/")
        assert answer.status_code == 404
    assert post(here, "/account/sessions/999999/revoke", token_from="/account/").status_code == 404
    assert not _signed_out(colleague) and not _signed_out(stranger)

    other = _records(staff_a.coach)[1]
    answer = post(here, f"/account/sessions/{other.id}/revoke", token_from="/account/")
    assert answer.status_code == 303
    assert _signed_out(elsewhere) and not _signed_out(here)
    current = _records(staff_a.coach)[0]
    answer = post(here, f"/account/sessions/{current.id}/revoke", token_from="/account/")
    assert answer.status_code == 303 and answer.headers["Location"] == "/login"
    assert _signed_out(here)


def test_a_remember_me_cookie_or_a_session_without_record_does_not_sign_in(app, staff_a):
    from flask_login.utils import encode_cookie

    with app.test_request_context():
        remember = encode_cookie(str(staff_a.officer.id))
    client = app.test_client()
    client.set_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"), remember)
    assert _signed_out(client)

    forged = app.test_client()  # a validly signed session naming the user, as saved before this change
    with forged.session_transaction() as session:
        session["_user_id"], session["_fresh"] = str(staff_a.officer.id), True
    assert _signed_out(forged)
    with forged.session_transaction() as session:  # or with a made-up session id
        session["_user_id"], session["sid"] = str(staff_a.officer.id), "made-up"
    assert _signed_out(forged)


def test_someone_elses_session_id_in_my_cookie_does_not_make_me_them(app, staff_a):
    coach = _sign_in(app, staff_a.coach)
    with coach.session_transaction() as session:
        coach_sid = session["sid"]
    forged = app.test_client()
    with forged.session_transaction() as session:
        session["_user_id"], session["sid"] = str(staff_a.admin.id), coach_sid
    assert _signed_out(forged)


def test_signing_in_again_in_the_same_browser_replaces_the_session(app, staff_a):
    client = _sign_in(app, staff_a.officer)
    saved = client.get_cookie("session").value
    login(client, staff_a.officer)
    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert _signed_out(replay) and not _signed_out(client)
    assert [r.revoked_reason for r in _records(staff_a.officer)] == ["replaced", None]


def test_old_records_are_purged_by_a_daily_chore(app, staff_a):
    chore = next(c for c in chores.CHORES if c.name == "purge-user-sessions")
    assert chore.period == "daily"
    live = _sign_in(app, staff_a.officer)
    now = utcnow()
    db.session.add_all([
        UserSession(token_hash="a" * 64, user_id=staff_a.coach.id, created_at=now - timedelta(days=40),
                    last_seen_at=now - timedelta(days=40), revoked_at=now - timedelta(days=31),
                    revoked_reason="sign-out"),
        UserSession(token_hash="b" * 64, user_id=staff_a.coach.id, created_at=now - timedelta(days=31),
                    last_seen_at=now - timedelta(days=31)),  # never revoked, long dead
        UserSession(token_hash="c" * 64, user_id=staff_a.coach.id, created_at=now - timedelta(days=3),
                    last_seen_at=now - timedelta(days=3), revoked_at=now - timedelta(days=3),
                    revoked_reason="sign-out"),  # kept a while, to look back at
    ])
    db.session.commit()
    assert chore.function()() == 2
    left = db.session.scalars(select(UserSession.token_hash)).all()
    assert sorted(h[0] for h in left if len(set(h)) == 1) == ["c"]
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 2
    assert not _signed_out(live)

