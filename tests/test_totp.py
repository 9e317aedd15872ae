"""The second factor (issue 14, point 2) over real HTTP, with pyotp computing real codes and the
mails arriving at a real SMTP server."""
from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from core.cli import main
from core.extensions import db
from core.models import AuditEntry, RecoveryCode, User
from core.services import accounts, outbox, second_factor
from core.tenancy import all_institutions
from tests.conftest import PASSWORD, csrf_token, login, post, totp_code

SECRET_RE = re.compile(r'<code id="enrol-secret">([A-Z2-7]+)</code>')
CODE_RE = re.compile(r'<code class="recovery-code">([a-z0-9-]+)</code>')


@pytest.fixture
def app(make_app, smtp_server):
    """The app as in production: the second factor required of admins, auditors, the operator."""
    application = make_app(MICROFIN_REQUIRE_SECOND_FACTOR=True, **smtp_server.settings())
    with application.app_context():
        yield application


def fresh(user: User) -> User:
    with all_institutions("test reads a user"):
        found = db.session.scalar(select(User).where(User.id == user.id))
        db.session.refresh(found)
        return found


def entries(action: str, user: User) -> list[AuditEntry]:
    with all_institutions("test reads the audit trail"):
        return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action,
                                                                AuditEntry.record_id == user.id)))


def enrol_over_http(client, user) -> tuple[str, list[str]]:
    """Sign in with the password, set the app up on the enrolment page; (secret, recovery codes)."""
    response = login(client, user)
    assert response.status_code == 302 and response.headers["Location"] == "/login/enrol"
    page = client.get("/login/enrol").get_data(as_text=True)
    secret = SECRET_RE.search(page).group(1)
    done = post(client, "/login/enrol", {"code": pyotp.TOTP(secret).now()}, token_from="/login/enrol")
    assert done.status_code == 200, done.get_data(as_text=True)
    codes = CODE_RE.findall(done.get_data(as_text=True))
    assert len(codes) == second_factor.RECOVERY_CODE_COUNT
    return secret, codes


def sign_out(client):
    assert post(client, "/logout", token_from="/account/").status_code == 302


def password_step(client, user):
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/login/code"
    return response


def type_code(client, code: str):
    return client.post("/login/code", data={"code": code, "csrf_token": csrf_token(client, "/login/code")})


def test_the_production_default_requires_it(tmp_path, monkeypatch):
    from core.config import settings_from_env

    monkeypatch.delenv("MICROFIN_REQUIRE_SECOND_FACTOR", raising=False)
    assert settings_from_env(tmp_path, {})["MICROFIN_REQUIRE_SECOND_FACTOR"] is True
    monkeypatch.setenv("MICROFIN_REQUIRE_SECOND_FACTOR", "0")
    assert settings_from_env(tmp_path, {})["MICROFIN_REQUIRE_SECOND_FACTOR"] is False


def test_an_admin_must_enrol_before_any_other_page(app, client, staff_a, smtp_server):
    response = login(client, staff_a.admin)
    assert response.status_code == 302 and response.headers["Location"] == "/login/enrol"
    # Half signed in: every other page leads to the enrolment, none opens.
    for path in ("/", "/clients/", "/admin/users", "/account/", "/login", "/loans/", "/notifications/"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer.headers["Location"] == "/login/enrol", path
    assert post(client, "/account/password", {"current_password": PASSWORD}, token_from="/login/enrol"
                ).headers["Location"] == "/login/enrol"
    assert entries("sign-in", staff_a.admin) == []

    page = client.get("/login/enrol")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html
    secret = SECRET_RE.search(html).group(1)
    assert fresh(staff_a.admin).totp_secret is None  # nothing stored before a code confirms it

    wrong = post(client, "/login/enrol", {"code": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"},
                 token_from="/login/enrol")
    assert wrong.status_code == 422 and "That code is not right" in wrong.get_data(as_text=True)
    assert fresh(staff_a.admin).totp_secret is None
    assert client.get("/").headers["Location"] == "/login/enrol"

    done = post(client, "/login/enrol", {"code": pyotp.TOTP(secret).now()}, token_from="/login/enrol")
    codes = CODE_RE.findall(done.get_data(as_text=True))
    assert done.status_code == 200 and len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/").status_code == 200
    stored = fresh(staff_a.admin)
    assert stored.totp_enabled_at is not None and secret not in stored.totp_secret  # encrypted
    assert second_factor.unseal(stored.totp_secret) == secret
    with all_institutions("test"):
        hashes = set(db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == stored.id)))
    assert len(hashes) == 10 and not hashes & set(codes)
    [enrolled] = entries("2fa-enrol", staff_a.admin)
    assert enrolled.actor == staff_a.admin.email
    assert [e.changes for e in entries("sign-in", staff_a.admin)] == [{"second_factor": "enrolled"}]

    assert outbox.deliver_due() == 1
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == staff_a.admin.email
    assert mail["Subject"] == "The second factor of your Microfin CRM account changed"
    assert "was just set up" in mail.get_body(("plain",)).get_content()


def test_sign_in_with_a_code_wrong_and_replayed_codes_refused(client, staff_a):
    secret, _codes = enrol_over_http(client, staff_a.admin)
    sign_out(client)

    password_step(client, staff_a.admin)
    assert client.get("/").headers["Location"] == "/login/code"
    before = fresh(staff_a.admin).totp_last_step
    good = totp_code(staff_a.admin)
    wrong = type_code(client, "123456" if good != "123456" else "654321")
    assert wrong.status_code == 401
    assert "That code is not right" in wrong.get_data(as_text=True)
    assert fresh(staff_a.admin).totp_last_step == before
    assert client.get("/").headers["Location"] == "/login/code"  # still not signed in

    accepted = type_code(client, good)
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert {"second_factor": "totp"} in [e.changes for e in entries("sign-in", staff_a.admin)]
    sign_out(client)

    password_step(client, staff_a.admin)
    replayed = type_code(client, good)
    assert replayed.status_code == 401
    assert "That code was already used" in replayed.get_data(as_text=True)
    assert client.get("/").headers["Location"] == "/login/code"


def test_a_recovery_code_works_once(client, staff_a):
    _secret, codes = enrol_over_http(client, staff_a.admin)
    sign_out(client)
    password_step(client, staff_a.admin)
    used = type_code(client, codes[3].upper())  # as typed from paper, in capitals
    assert used.status_code == 302 and used.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "9 are left" in home
    assert [e.changes for e in entries("2fa-recovery", staff_a.admin)] == [{"left": 9}]
    sign_out(client)
    password_step(client, staff_a.admin)
    again = type_code(client, codes[3])
    assert again.status_code == 401 and client.get("/").headers["Location"] == "/login/code"
    assert type_code(client, codes[4]).status_code == 302


def test_wrong_codes_are_throttled(client, staff_a):
    enrol_over_http(client, staff_a.admin)
    sign_out(client)
    password_step(client, staff_a.admin)
    good = totp_code(staff_a.admin)
    bad = "000000" if good != "000000" else "111111"
    for _ in range(app_limit(client)):
        assert type_code(client, bad).status_code == 401
    locked = type_code(client, good)
    assert locked.status_code == 429 and "Too many wrong codes" in locked.get_data(as_text=True)
    assert client.get("/").headers["Location"] == "/login/code"
    # A correct password again (a new browser) does not clear the count of wrong codes.
    again = client.application.test_client()
    password_step(again, staff_a.admin)
    assert type_code(again, good).status_code == 429


def app_limit(client) -> int:
    return client.application.config["MICROFIN_LOGIN_MAX_FAILURES"]


def test_optional_for_an_officer_set_up_and_switched_off_on_my_account(client, staff_a, smtp_server):
    assert login(client, staff_a.officer).headers["Location"] == "/"  # not asked: optional
    account = client.get("/account/").get_data(as_text=True)
    assert 'id="enable-second-factor"' in account
    page = client.get("/account/second-factor").get_data(as_text=True)
    secret = SECRET_RE.search(page).group(1)
    done = post(client, "/account/second-factor", {"code": pyotp.TOTP(secret).now()},
                token_from="/account/second-factor")
    assert done.status_code == 200 and len(CODE_RE.findall(done.get_data(as_text=True))) == 10
    assert 'id="disable-second-factor"' in client.get("/account/").get_data(as_text=True)
    sign_out(client)

    response = login(client, staff_a.officer)  # login() types the code the app shows
    assert response.status_code == 302 and response.headers["Location"] == "/"

    refused = post(client, "/account/second-factor/disable", {"code": "not-a-code"}, token_from="/account/")
    assert refused.status_code == 422 and second_factor.enrolled(fresh(staff_a.officer))
    off = post(client, "/account/second-factor/disable", {"code": totp_code(staff_a.officer)},
               token_from="/account/")
    assert off.status_code == 303 and not second_factor.enrolled(fresh(staff_a.officer))
    assert len(entries("2fa-disable", staff_a.officer)) == 1
    assert outbox.deliver_due() == 2
    subjects = {(m["To"], "switched off" in m.get_body(("plain",)).get_content())
                for m in smtp_server.wait_for(2)}
    assert subjects == {(staff_a.officer.email, False), (staff_a.officer.email, True)}


def test_an_admin_cannot_switch_it_off_but_makes_new_recovery_codes(client, staff_a):
    _secret, old_codes = enrol_over_http(client, staff_a.admin)
    assert 'id="disable-second-factor"' not in client.get("/account/").get_data(as_text=True)
    assert post(client, "/account/second-factor/disable", {"code": totp_code(staff_a.admin)},
                token_from="/account/").status_code == 403
    assert second_factor.enrolled(fresh(staff_a.admin))
    new = post(client, "/account/second-factor/recovery-codes", {"code": totp_code(staff_a.admin)},
               token_from="/account/")
    new_codes = CODE_RE.findall(new.get_data(as_text=True))
    assert new.status_code == 200 and len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    sign_out(client)
    password_step(client, staff_a.admin)
    assert type_code(client, old_codes[0]).status_code == 401
    assert type_code(client, new_codes[0]).status_code == 302


def test_an_admin_resets_a_colleague_audited_and_mailed(app, client, staff_a, smtp_server):
    other_admin = accounts.create_user(email="second-admin@microstart.test", name="Second Admin",
                                       role="admin", institution_id=staff_a.institution_id,
                                       password=PASSWORD)
    colleague = app.test_client()
    enrol_over_http(colleague, other_admin)
    enrol_over_http(client, staff_a.admin)
    assert outbox.deliver_due() == 2
    smtp_server.wait_for(2)
    smtp_server.clear()

    team = client.get("/admin/users").get_data(as_text=True)
    assert f"/admin/users/{other_admin.id}/second-factor/reset" in team
    response = post(client, f"/admin/users/{other_admin.id}/second-factor/reset", token_from="/admin/users")
    assert response.status_code == 302
    target = fresh(other_admin)
    assert target.totp_secret is None and target.totp_must_enrol
    with all_institutions("test"):
        assert db.session.scalar(select(RecoveryCode).where(RecoveryCode.user_id == target.id)) is None
    [entry] = entries("2fa-reset", other_admin)
    assert entry.actor == staff_a.admin.email and entry.changes == {"by": staff_a.admin.email}
    assert entry.institution_id == staff_a.institution_id
    trail = client.get("/admin/audit").get_data(as_text=True)
    assert "second factor reset" in trail and "set up the second factor" in trail
    assert outbox.deliver_due() == 1
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == other_admin.email and "reset the second factor" in mail.get_body(("plain",)).get_content()

    # The colleague, still signed in, is sent to enrolment at once; so at the next sign-in.
    assert colleague.get("/").headers["Location"] == "/login/enrol"
    assert login(app.test_client(), other_admin).headers["Location"] == "/login/enrol"
    # Oneself: refused (another admin does it), nothing changes.
    post(client, f"/admin/users/{staff_a.admin.id}/second-factor/reset", token_from="/admin/users")
    assert second_factor.enrolled(fresh(staff_a.admin))


def test_another_institutions_admin_cannot_reset(client, staff_a, staff_b):
    with all_institutions("test setup"):
        secret = pyotp.random_base32()
        second_factor.confirm_enrolment(staff_a.officer, secret, pyotp.TOTP(secret).now())
    enrol_over_http(client, staff_b.admin)
    response = post(client, f"/admin/users/{staff_a.officer.id}/second-factor/reset", token_from="/admin/users")
    assert response.status_code == 404
    assert second_factor.enrolled(fresh(staff_a.officer)) and entries("2fa-reset", staff_a.officer) == []


def test_the_operator_resets_federation_users_only(client, operator, auditor, staff_a):
    with all_institutions("test setup"):
        for user in (auditor, staff_a.officer):
            secret = pyotp.random_base32()
            second_factor.confirm_enrolment(user, secret, pyotp.TOTP(secret).now())
    enrol_over_http(client, operator)
    page = client.get("/operator/users").get_data(as_text=True)
    assert auditor.email in page and staff_a.officer.email not in page
    assert post(client, f"/operator/users/{staff_a.officer.id}/second-factor/reset",
                token_from="/operator/users").status_code == 404
    assert second_factor.enrolled(fresh(staff_a.officer))
    assert post(client, f"/operator/users/{auditor.id}/second-factor/reset",
                token_from="/operator/users").status_code == 302
    assert not second_factor.enrolled(fresh(auditor)) and fresh(auditor).totp_must_enrol
    assert [e.actor for e in entries("2fa-reset", auditor)] == [operator.email]


def test_a_locked_out_operator_is_reset_from_the_command_line(app, operator):
    with all_institutions("test setup"):
        secret = pyotp.random_base32()
        second_factor.confirm_enrolment(operator, secret, pyotp.TOTP(secret).now())
    result = app.test_cli_runner().invoke(main, ["users", "reset-2fa", operator.email.upper()])
    assert result.exit_code == 0, result.output
    assert "reset" in result.output and not second_factor.enrolled(fresh(operator))
    assert [e.actor for e in entries("2fa-reset", operator)] == ["cli"]
    missing = app.test_cli_runner().invoke(main, ["users", "reset-2fa", "nobody@example.test"])
    assert missing.exit_code != 0 and "no user" in missing.output


def test_a_code_of_long_ago_is_refused(client, staff_a):
    secret, _codes = enrol_over_http(client, staff_a.admin)
    sign_out(client)
    password_step(client, staff_a.admin)
    old = pyotp.TOTP(secret).at(time.time() - 120)
    if old in {pyotp.TOTP(secret).at(time.time() + d) for d in (-30, 0, 30, 60)}:
        pytest.skip("the old code happens to equal a current one")
    assert type_code(client, old).status_code == 401


def test_the_code_page_speaks_french(client, staff_a):
    enrol_over_http(client, staff_a.admin)
    sign_out(client)
    client.post("/language", data={"lang": "fr", "next": "/login", "csrf_token": csrf_token(client)})
    password_step(client, staff_a.admin)
    page = client.get("/login/code").get_data(as_text=True)
    assert "Second facteur" in page and "codes de récupération" in page
    good = totp_code(staff_a.admin)
    wrong = type_code(client, "000000" if good != "000000" else "111111").get_data(as_text=True)
    assert "Ce code n&#39;est pas correct" in wrong or "Ce code n'est pas correct" in wrong
