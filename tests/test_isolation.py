"""Tenant isolation on every route: another institution's ids answer 404 and change nothing.

Covered by data, not by new tests: see tests/isolation_data.py.
"""
import pytest

from core.extensions import db
from core.models import FEDERATION_ROLES, INSTITUTION_ROLES
from core.services import accounts
from core.testing.isolation import MARKERS, PROVIDERS, tenant_fingerprint
from core.access import view_access
from tests import isolation_data  # noqa: F401  (registers the providers)
from tests.conftest import csrf_token, login

SKIP_METHODS = {"HEAD", "OPTIONS"}


def _routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or rule.rule.startswith("/api/"):
            continue
        yield rule


def _url(app, rule, values):
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def _signed_in(app, user):
    client = app.test_client()
    assert login(client, user).status_code == 302
    return client


def _request(client, method, url):
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data={"csrf_token": csrf_token(client, "/")})


def test_every_route_parameter_has_an_isolation_provider(app):
    missing = {f"{rule.rule} needs a provider for <{arg}>"
               for rule in _routes(app) for arg in rule.arguments if arg not in PROVIDERS}
    assert not missing, "add providers to tests/isolation_data.py: " + "; ".join(sorted(missing))


def test_other_institutions_ids_answer_404_and_change_nothing(app, staff_a, staff_b):
    values = {name: provide(staff_b) for name, provide in PROVIDERS.items()}  # B's data exists first
    before = tenant_fingerprint(staff_b.institution_id)
    clients = {role: _signed_in(app, getattr(staff_a, role)) for role in INSTITUTION_ROLES}
    checked = 0
    for rule in _routes(app):
        if not rule.arguments:
            continue
        is_public, roles = view_access(rule.endpoint)
        allowed = [r for r in INSTITUTION_ROLES if is_public or (roles and r in roles)]
        url = _url(app, rule, {arg: values[arg] for arg in rule.arguments})
        for method in sorted(rule.methods - SKIP_METHODS):
            for role in allowed:
                response = _request(clients[role], method, url)
                assert response.status_code == 404, f"{role} {method} {url}: {response.status_code}"
                checked += 1
    db.session.expire_all()
    assert tenant_fingerprint(staff_b.institution_id) == before
    assert checked > 0


def test_pages_without_ids_never_show_another_institutions_data(app, staff_a, staff_b):
    markers = [text for make in MARKERS for text in make(staff_b)]
    clients = {role: _signed_in(app, getattr(staff_a, role)) for role in INSTITUTION_ROLES}
    for rule in _routes(app):
        if rule.arguments or "GET" not in rule.methods:
            continue
        url = _url(app, rule, {})
        for role, client in clients.items():
            body = client.get(url).get_data(as_text=True)
            leaked = [m for m in markers if m in body]
            assert not leaked, f"{role} GET {url} shows {leaked}"


@pytest.mark.parametrize("role", FEDERATION_ROLES)
def test_federation_staff_never_open_institution_records(app, staff_b, role):
    user = accounts.create_user(email=f"{role}@fed.test", name=role, role=role, institution_id=None,
                                password="correct horse battery")
    client = _signed_in(app, user)
    markers = [text for make in MARKERS for text in make(staff_b)]
    for rule in _routes(app):
        if "GET" not in rule.methods:
            continue
        url = _url(app, rule, {arg: PROVIDERS[arg](staff_b) for arg in rule.arguments})
        response = client.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code in (200, 302, 403, 404), f"{role} GET {url}"
        shown = [m for m in markers if m in body]
        if rule.endpoint == "operator_mail.mail":
            # The operator reads every mail kept or sent (issue 12, point 1): the addresses of its
            # recipients show there, and nothing else of the institution may.
            shown = [m for m in shown if m not in isolation_data.staff_identity(staff_b)]
        assert not shown, f"{role} GET {url} shows institution data"
