"""Passwords (issue 14, point 4): at least 12 characters and not guessable (zxcvbn: common
passwords, patterns, the user's own name); throttling counted exactly under parallel attempts;
lockout by account with back-off, never a whole office behind one address."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from core.extensions import db
from core.models import LoginAttempt, LoginThrottle, User
from core.models.types import utcnow
from core.services import accounts
from core.services.errors import ValidationFailed
from core.tenancy import all_institutions
from tests.conftest import PASSWORD, login, post
from tests.live_server import live_server  # noqa: F401

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.mark.parametrize("weak", ["aaaaaaaaaaaa", "123456789012", "password1234", "azertyuiop12",
                                  "qwertyuiop123", "iloveyou2026", "Officer Anna 1990"])
def test_guessable_passwords_are_refused(app, weak):
    with pytest.raises(ValidationFailed) as refused:
        accounts.check_password_strength(weak, user_inputs=("anna.officer@microstart.test", "Officer Anna"))
    assert "too easy to guess" in str(refused.value.errors["password"])


def test_a_short_password_is_refused_first_and_a_passphrase_accepted(app):
    with pytest.raises(ValidationFailed) as refused:
        accounts.check_password_strength("Xk9#mQ2!")
    assert "Use at least 12 characters." in str(refused.value.errors["password"])
    accounts.check_password_strength("kitchen truck brussels")  # no error


def test_the_users_own_name_is_refused_when_changing_the_password(client, staff_a, as_user):
    as_user(staff_a.officer)
    name = staff_a.officer.name.lower().replace(" ", "") + "2026"
    answer = post(client, "/account/password", {"current_password": PASSWORD, "password": name, "confirm": name},
                  token_from="/account/")
    assert answer.status_code == 422 and "too easy to guess" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert login(client.application.test_client(), staff_a.officer, PASSWORD).status_code == 302


def _sign_in_answer(url: str, email: str, password: str) -> int:
    session = requests.Session()
    token = CSRF.search(session.get(f"{url}/login").text).group(1)
    return session.post(f"{url}/login", data={"email": email, "password": password, "csrf_token": token},
                        allow_redirects=False).status_code


def test_thirty_parallel_wrong_passwords_are_checked_exactly_up_to_the_limit(live_server, staff_a):
    limit, email, url = live_server.app.config["MICROFIN_LOGIN_MAX_FAILURES"], staff_a.officer.email, live_server.url
    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(lambda n: _sign_in_answer(url, email, f"wrong {n}"), range(30)))
    assert answers.count(401) == limit and answers.count(429) == 30 - limit, answers
    db.session.expire_all()
    assert db.session.get(LoginThrottle, email).failures == limit


def test_a_locked_account_does_not_lock_its_colleagues_behind_the_same_address(app, client, staff_a):
    for _ in range(app.config["MICROFIN_LOGIN_MAX_FAILURES"] * 4):  # 20 failures from one address
        login(client, staff_a.officer.email, "bad password")
    assert login(client, staff_a.officer).status_code == 429
    assert login(app.test_client(), staff_a.coach).status_code == 302  # same address, another account


def test_each_lockout_in_a_row_lasts_twice_as_long_and_a_good_password_resets(app, client, staff_a):
    limit, window = app.config["MICROFIN_LOGIN_MAX_FAILURES"], app.config["MICROFIN_LOGIN_WINDOW_MINUTES"]

    def fail_until_locked():
        for _ in range(limit):
            assert login(client, staff_a.officer.email, "bad password").status_code == 401
        return login(client, staff_a.officer).get_data(as_text=True)

    def let_it_pass():
        row = db.session.get(LoginThrottle, staff_a.officer.email)
        row.locked_until = row.window_started_at = utcnow() - timedelta(minutes=window * 8)
        db.session.commit()

    assert f"Try again in {window} minutes." in fail_until_locked()
    let_it_pass()
    assert f"Try again in {window * 2} minutes." in fail_until_locked()
    let_it_pass()
    assert login(client, staff_a.officer).status_code == 302
    db.session.expire_all()
    row = db.session.get(LoginThrottle, staff_a.officer.email)
    assert (row.failures, row.lockouts, row.locked_until) == (0, 0, None)


def test_an_address_spraying_many_accounts_is_stopped(make_app, staff_a):
    sprayed = make_app(MICROFIN_LOGIN_MAX_FAILURES_PER_ADDRESS=6)
    client = sprayed.test_client()
    for n in range(6):
        assert login(client, f"person{n}@example.test", "bad password").status_code == 401
    assert login(client, staff_a.officer).status_code == 429
    with all_institutions("test"):
        assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 7
        assert db.session.scalar(select(User.last_login_at).where(User.id == staff_a.officer.id)) is None
