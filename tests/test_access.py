"""Every page declares who may open it; undeclared pages refuse; errors never leak a stack trace."""
from flask import Blueprint

from core.plugin_api import hookimpl, roles_required
from core.access import PUBLIC_ATTR, ROLES_ATTR
from tests.conftest import login


def test_every_view_declares_its_access(app):
    undeclared = [rule.rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"
                  and not getattr(app.view_functions[rule.endpoint], PUBLIC_ATTR, False)
                  and getattr(app.view_functions[rule.endpoint], ROLES_ATTR, None) is None]
    assert undeclared == []


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/admin/users")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_unexpected_error_shows_a_friendly_page_without_a_trace(make_app, staff_a):
    bp = Blueprint("boom", __name__)

    @bp.route("/explode")
    @roles_required("officer")
    def explode():
        raise RuntimeError("secret internal detail")

    class Boom:
        @hookimpl
        def register_blueprints(self):
            return [bp]

    app = make_app(MICROFIN_EXTRA_PLUGINS=[("boom", Boom())], TESTING=False)
    with app.app_context():
        client = app.test_client()
        login(client, staff_a.officer)
        response = client.get("/i/boom/explode")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in body and "secret internal detail" not in body and "Traceback" not in body


def test_operator_pages_refuse_every_other_role(app, staff_a, auditor):
    """Every /operator/ page and action answers 403 to institution staff and the auditor."""
    from core.services import referrers
    from tests import isolation_data
    from tests.conftest import csrf_token
    from core.testing.isolation import PROVIDERS  # noqa: F401  (isolation_data registers them)

    referrers.add_referrer(name="Access bank", kind="bank")
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/operator/")]
    assert len(rules) >= 8
    values = {arg: PROVIDERS[arg](staff_a) for rule in rules for arg in rule.arguments}
    assert isolation_data  # providers registered
    for user in (staff_a.admin, staff_a.officer, staff_a.coach, auditor):
        client = app.test_client()
        assert login(client, user).status_code == 302
        token = csrf_token(client, "/")
        for rule in rules:
            with app.test_request_context():
                from flask import url_for

                url = url_for(rule.endpoint, **{arg: values[arg] for arg in rule.arguments})
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(url, method=method, data={"csrf_token": token})
                assert response.status_code == 403, f"{user.role} {method} {url}: {response.status_code}"
