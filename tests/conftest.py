"""Fixtures: a migrated database per session, a fresh app per test, users of two institutions."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from core import create_app
from sqlalchemy import create_engine

from core.testing.database import (app_role_url, create_app_role, empty_tables, test_app_role,
                                   test_database_url)

PASSWORD = "correct horse battery"


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own app context, as in production.

    Tests keep an app context open to call services; without this, requests would share its
    ``g`` (signed-in user, CSRF token) and its database session.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def base_config(database_url: str, **extra) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": database_url,
        # Real argon2, cheaper parameters so the suite stays quick.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "ARGON2_PARALLELISM": 1,
        # The second factor is required of admins, auditors and the operator in production; tests
        # not about it sign in with the password only (tests/test_totp.py switches it on). Users
        # who set one up anyway are signed in by login() below with a real code.
        "MICROFIN_REQUIRE_SECOND_FACTOR": False,
        **extra,
    }


@pytest.fixture(scope="session")
def owner_database_url(tmp_path_factory):
    """A database migrated to every head, once per session, as the tables' owner. On PostgreSQL
    the application role (``database_url``) is created and granted its rows here."""
    from core.cli import upgrade_database
    from core.database_setup import grant_app_role

    url = test_database_url(tmp_path_factory.mktemp("db"))
    role = test_app_role()
    app = create_app(base_config(url))
    with app.app_context():
        upgrade_database()
        from core.extensions import db

        if db.engine.dialect.name == "postgresql" and role:
            create_app_role(url, role)
            with db.engine.begin() as connection:
                grant_app_role(connection, role)
        db.engine.dispose()
    return url


@pytest.fixture(scope="session")
def database_url(owner_database_url):
    """The URL the application uses: on PostgreSQL the application role, which owns no table, so
    that row-level security applies to every test (the owner's URL on SQLite)."""
    return app_role_url(owner_database_url, test_app_role())


def app_config(database_url: str, owner_database_url: str, **extra) -> dict:
    """``base_config`` for the test database, migrating as its owner."""
    if owner_database_url != database_url:
        extra.setdefault("MICROFIN_MIGRATE_DATABASE_URL", owner_database_url)
    return base_config(database_url, **extra)


@pytest.fixture
def make_app(database_url, owner_database_url, tmp_path, monkeypatch):
    """Build an app on the test database with extra settings; rows written are removed after."""
    monkeypatch.setenv("MICROFIN_INSTANCE_PATH", str(tmp_path / "instance"))
    apps = []

    def build(**extra):
        application = create_app(app_config(database_url, owner_database_url, **extra))
        application.test_client_class = IsolatedClient
        apps.append(application)
        return application

    yield build
    from core.extensions import db

    for application in apps:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
    with apps[0].app_context() if apps else create_app(base_config(database_url)).app_context():
        _verify_stored_positions()
        db.engine.dispose()
    owner = create_engine(owner_database_url)  # as the owner: row-level security hides nothing
    empty_tables(owner)
    owner.dispose()


def _verify_stored_positions() -> None:
    """After every test: each loan's stored position equals the replay of its ledger (issue 11)."""
    from core.extensions import db
    from core.services import positions
    from core.tenancy import all_institutions

    with all_institutions("test teardown: verify stored loan positions"):
        found = positions.verify()
    db.session.remove()
    assert not found, f"stored loan positions differ from the ledger replay: {found[:5]}"


@pytest.fixture
def app(make_app):
    application = make_app()
    with application.app_context():
        yield application


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class Staff:
    """The users of one institution created for a test."""

    institution_id: int
    slug: str
    admin: object
    officer: object
    coach: object


def _institution_id(slug: str) -> int:
    from core.services.institutions import by_slug

    return by_slug(slug).id


def make_staff(slug: str) -> Staff:
    from core.services import accounts

    institution_id = _institution_id(slug)
    users = {
        role: accounts.create_user(email=f"{role}@{slug}.test", name=f"{role.title()} {slug.title()}",
                                   role=role, institution_id=institution_id, password=PASSWORD,
                                   preferred_language="en")
        for role in ("admin", "officer", "coach")
    }
    return Staff(institution_id=institution_id, slug=slug, **users)


@pytest.fixture
def staff_a(app):
    """Staff of microStart: the institution tests act as."""
    return make_staff("microstart")


@pytest.fixture
def staff_b(app):
    """Staff of Hefboom: the other institution, whose data must never show."""
    return make_staff("hefboom")


@pytest.fixture
def auditor(app):
    from core.services import accounts

    return accounts.create_user(email="auditor@federation.test", name="Audrey Auditor",
                                role="auditor", institution_id=None, password=PASSWORD)


@pytest.fixture
def operator(app):
    from core.services import accounts

    return accounts.create_user(email="operator@microfin.test", name="Otto Operator",
                                role="operator", institution_id=None, password=PASSWORD)


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page as a browser would."""
    page = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def totp_code(user_or_email, *, fresh: bool = True) -> str:
    """The code the user's authenticator app shows now (pyotp on their stored secret); with
    ``fresh``, the code of a time step not yet used (waiting for the next one if need be)."""
    import time

    import pyotp

    from core.extensions import db
    from core.models import User
    from core.services import second_factor
    from core.tenancy import all_institutions

    email = getattr(user_or_email, "email", user_or_email)
    with all_institutions("test helper reads a user's second factor"):
        user = db.session.scalar(db.select(User).where(User.email == email))
        db.session.refresh(user)
        secret, last = second_factor.unseal(user.totp_secret), user.totp_last_step
    step = int(time.time() // 30)
    if fresh and last is not None and last >= step:
        step = last + 1
        if step > int(time.time() // 30) + 1:  # the next step is accepted; later ones not yet
            time.sleep((step - 1) * 30 - time.time() + 0.1)
    return pyotp.TOTP(secret).at(step * 30)


def login(client, user_or_email, password: str = PASSWORD):
    """Sign in through /login; when the account asks for its second factor, type the current
    code as its app would (the answer is then the code page's)."""
    email = getattr(user_or_email, "email", user_or_email)
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": csrf_token(client)})
    if response.status_code == 302 and response.headers["Location"] == "/login/code":
        response = client.post("/login/code", data={"code": totp_code(email),
                                                    "csrf_token": csrf_token(client, "/login/code")})
    return response


def post(client, path: str, data: dict | None = None, token_from: str = "/", **kwargs):
    """POST a form with the session's CSRF token, as the page's form would."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, token_from)},
                       **kwargs)


@pytest.fixture
def as_user(client):
    """Sign ``client`` in as a user; returns the client."""

    def sign_in(user):
        response = login(client, user)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return sign_in


from tests.mail_helpers import mail_app, smtp_server  # noqa: E402,F401  (fixtures)
