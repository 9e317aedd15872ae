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
