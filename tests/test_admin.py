"""An institution admin invites and disables users of their own institution."""
import re

from sqlalchemy import func, select

from core.extensions import db
from core.models import User
from core.tenancy import all_institutions
from tests.conftest import login, post


def _count_users():
    with all_institutions("test"):
        return db.session.scalar(select(func.count()).select_from(User))


def test_invite_then_accept_then_sign_in(app, as_user, staff_a):
    client = as_user(staff_a.admin)
    response = post(client, "/admin/users/invite", {"email": "New@Microstart.test", "name": "Nadia New",
                                                   "role": "coach", "preferred_language": "nl"},
                    token_from="/admin/users")
    assert response.status_code == 201
    link = re.search(r"http://localhost(/invitation/[\w-]+)", response.get_data(as_text=True)).group(1)
    newcomer = app.test_client()
    assert newcomer.get(link).status_code == 200
    post(newcomer, link, {"password": "a long password", "confirm": "a long password"}, token_from=link)
    assert login(newcomer, "new@microstart.test", "a long password").status_code == 302
    assert newcomer.get(link).status_code == 404  # the link works once


def test_invite_errors_keep_what_was_typed_and_write_nothing(app, as_user, staff_a):
    client = as_user(staff_a.admin)
    before = _count_users()
    response = post(client, "/admin/users/invite", {"email": staff_a.coach.email, "name": "Typed Name",
                                                   "role": "coach", "preferred_language": "fr"},
                    token_from="/admin/users")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "A user with this email address already exists." in body
    assert 'value="Typed Name"' in body
    bad = post(client, "/admin/users/invite", {"email": "not-an-email", "name": "", "role": "auditor",
                                              "preferred_language": "xx"}, token_from="/admin/users")
    assert bad.status_code == 422
    assert _count_users() == before


def test_short_password_on_invitation_is_refused(app, as_user, staff_a):
    client = as_user(staff_a.admin)
    response = post(client, "/admin/users/invite", {"email": "short@microstart.test", "name": "S",
                                                   "role": "officer", "preferred_language": "en"},
                    token_from="/admin/users")
    link = re.search(r"http://localhost(/invitation/[\w-]+)", response.get_data(as_text=True)).group(1)
    other = app.test_client()
    answer = post(other, link, {"password": "short", "confirm": "short"}, token_from=link)
    assert answer.status_code == 422 and "Use at least 12 characters." in answer.get_data(as_text=True)


def test_disable_and_enable(app, as_user, staff_a):
    client = as_user(staff_a.admin)
    post(client, f"/admin/users/{staff_a.officer.id}/active", {"active": "0"}, token_from="/admin/users")
    assert login(app.test_client(), staff_a.officer).status_code == 401
    post(client, f"/admin/users/{staff_a.officer.id}/active", {"active": "1"}, token_from="/admin/users")
    assert login(app.test_client(), staff_a.officer).status_code == 302


def test_admin_cannot_disable_themself(app, as_user, staff_a):
    client = as_user(staff_a.admin)
    response = post(client, f"/admin/users/{staff_a.admin.id}/active", {"active": "0"},
                    token_from="/admin/users", follow_redirects=True)
    assert "You cannot disable your own account." in response.get_data(as_text=True)


def test_only_admins_manage_the_team(app, as_user, staff_a):
    client = as_user(staff_a.officer)
    assert client.get("/admin/users").status_code == 403
    assert post(client, f"/admin/users/{staff_a.coach.id}/active", {"active": "0"}).status_code == 403
