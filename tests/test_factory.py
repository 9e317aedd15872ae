"""The app factory, settings and secure session defaults."""
import os
import stat

import core
from core import create_app


def test_core_is_this_repository():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    assert os.path.abspath(core.__file__).startswith(here)


def test_secret_key_generated_once_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.setenv("MICROFIN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("MICROFIN_SECRET_KEY", raising=False)
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    second = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    key_file = tmp_path / "secret_key"
    assert first.secret_key == second.secret_key == key_file.read_text().strip()
    assert len(first.secret_key) >= 40
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_secret_key_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MICROFIN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("MICROFIN_SECRET_KEY", "from-the-environment")
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).secret_key == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_database_defaults_to_sqlite_in_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MICROFIN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("MICROFIN_DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'microfin.sqlite3'}"


def test_database_url_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MICROFIN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("MICROFIN_DATABASE_URL", "postgresql+psycopg://x@127.0.0.1/y")
    assert create_app().config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://x@127.0.0.1/y"


def test_session_cookie_is_httponly_lax_and_expires(client, staff_a):
    from tests.conftest import login

    response = login(client, staff_a.officer)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert "Secure" not in cookie  # plain http in tests


def test_session_cookie_secure_over_https(app, staff_a):
    from tests.conftest import PASSWORD

    client = app.test_client()
    page = client.get("/login", base_url="https://crm.example").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", base_url="https://crm.example",
                           data={"email": staff_a.officer.email, "password": PASSWORD, "csrf_token": token},
                           headers={"Referer": "https://crm.example/login"})
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def test_security_headers(client):
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_icon_is_a_static_file_that_never_rewrites_the_session(client):
    """A browser fetches the icon beside the page; if that answer rewrote the session cookie it
    could overwrite, with the old session, a language just chosen on the page (a real race: a
    /favicon.ico 404 page answered with a session cookie, and the switch to Dutch was lost)."""
    import re

    page = client.get("/login").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page).group(1)
    response = client.get(icon)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert "Set-Cookie" not in response.headers
