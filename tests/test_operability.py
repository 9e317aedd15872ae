"""When a part is down, and the headers and limits of every answer (issue 14, points 8 and 9):
health checks for load balancers, a 503 (never a 500) when the database does not answer, SQLite in
WAL mode with a busy timeout and an owner-only file, HSTS over HTTPS, no caching of pages, one
request-size limit (chunked bodies too) with nothing written."""
from __future__ import annotations

import io
import os
import stat

import pytest
from sqlalchemy import func, select, text

from core import create_app
from core.extensions import db
from core.models import Client
from core.tenancy import all_institutions
from tests.conftest import IsolatedClient, base_config, csrf_token, login, post

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/microfin_down?connect_timeout=2"


@pytest.fixture
def down_app(tmp_path, monkeypatch):
    """The app pointed at a PostgreSQL that does not answer."""
    monkeypatch.setenv("MICROFIN_INSTANCE_PATH", str(tmp_path / "instance"))
    application = create_app(base_config(UNREACHABLE))
    application.test_client_class = IsolatedClient
    return application


def test_healthz_and_readyz_answer_without_signing_in(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"database": "ok"}


def test_a_database_that_does_not_answer_gives_503_pages_never_500(down_app):
    client = down_app.test_client()
    assert client.get("/healthz").status_code == 200  # the process itself is fine
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json() == {"status": "unavailable", "failing": ["database"]}
    with client.session_transaction() as session:  # a signed-in user: loading them needs the database
        session["_user_id"], session["_fresh"] = "1", True
    page = client.get("/clients/", headers={"Accept-Language": "fr"})
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    body = page.get_data(as_text=True)
    assert "Temporairement indisponible" in body and 'lang="fr"' in body and "Traceback" not in body
    login_page = client.get("/login")
    assert login_page.status_code == 503 and "Temporarily unavailable" in login_page.get_data(as_text=True)
    api = client.get("/api/v1/referrals", headers={"Authorization": "Bearer nope"})
    assert api.status_code == 503 and api.mimetype == "application/problem+json"
    assert api.get_json()["status"] == 503 and int(api.headers["Retry-After"]) > 0  # the limiter may set it


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout_and_an_owner_only_file(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only: PostgreSQL has neither")
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 15_000
    path = db.engine.url.database
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_pages_are_never_cached_and_hsts_only_over_https(client, staff_a):
    login(client, staff_a.officer)
    page = client.get("/clients/")
    assert page.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in page.headers
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert secure.headers["Cache-Control"] == "no-store"
    static = client.get("/static/app.css")
    assert static.headers.get("Cache-Control") != "no-store"


def _clients() -> int:
    db.session.expire_all()
    with all_institutions("test count"):
        return db.session.scalar(select(func.count()).select_from(Client))


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_is_refused_with_413_and_nothing_is_written(make_app, staff_a, chunked):
    application = make_app(MAX_CONTENT_LENGTH=64 * 1024)
    client = application.test_client()
    login(client, staff_a.officer)
    post(client, "/language", {"lang": "nl"})
    before = _clients()
    form = (f"csrf_token={csrf_token(client, '/clients/new')}&first_name=Big&last_name="
            + "x" * 100_000).encode()
    kwargs = {"content_type": "application/x-www-form-urlencoded", "headers": {}}
    if chunked:  # no Content-Length: the server reads up to the limit and stops
        kwargs.update(input_stream=io.BytesIO(form), environ_overrides={"wsgi.input_terminated": True})
        kwargs["headers"]["Transfer-Encoding"] = "chunked"
    else:
        kwargs["data"] = form
    answer = client.post("/clients/new", **kwargs)
    assert answer.status_code == 413 and "Te groot" in answer.get_data(as_text=True)  # translated
    assert _clients() == before
