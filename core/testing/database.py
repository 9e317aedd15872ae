"""Test databases built by migrating, on SQLite or on the PostgreSQL named by an env variable.

``MICROFIN_TEST_DATABASE_URL`` selects PostgreSQL (``postgresql+psycopg://user@host:port/name``);
the database is dropped and created afresh for the session. Without it, a SQLite file is used.

On PostgreSQL the tests migrate as that URL's user (the owner) and run the application as a role
that owns no table (``MICROFIN_TEST_APP_ROLE``, default ``microfin_app``; ``none`` keeps the
owner), so row-level security applies to every test as it does in production.
"""
from __future__ import annotations

import os

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

ENV_URL = "MICROFIN_TEST_DATABASE_URL"
ENV_APP_ROLE = "MICROFIN_TEST_APP_ROLE"
DEFAULT_APP_ROLE = "microfin_app"


def test_app_role() -> str | None:
    """The role the application connects as in PostgreSQL tests, or None (the owner)."""
    role = os.environ.get(ENV_APP_ROLE, DEFAULT_APP_ROLE).strip()
    return None if role.lower() in ("", "none") else role


def app_role_url(owner_url: str, role: str | None) -> str:
    """``owner_url`` signed in as ``role`` (PostgreSQL, trust or peer authentication as in CI);
    the URL itself for SQLite or no role."""
    parsed = make_url(owner_url)
    if role is None or parsed.get_backend_name() != "postgresql":
        return owner_url
    return parsed.set(username=role, password=None).render_as_string(hide_password=False)


def create_app_role(owner_url: str, role: str) -> None:
    """Create the login role ``role`` unless it exists: no superuser, no BYPASSRLS, owns nothing.
    Roles are the server's, not a database's: xdist workers may race to create it."""
    from sqlalchemy.exc import DBAPIError

    admin = create_engine(make_url(owner_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    quoted = admin.dialect.identifier_preparer.quote(role)
    try:
        with admin.connect() as connection:
            if connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
                return
            try:
                connection.execute(text(f"CREATE ROLE {quoted} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"))
            except DBAPIError:  # another worker created it meanwhile
                pass
    finally:
        admin.dispose()


def test_database_url(tmp_dir) -> str:
    """A fresh, empty database for this test session."""
    url = os.environ.get(ENV_URL)
    if not url:
        return f"sqlite:///{tmp_dir / 'test.sqlite3'}"
    url = postgres_database_for_worker(url)
    recreate_postgres_database(url)
    return url


def postgres_database_for_worker(url: str, suffix: str = "") -> str:
    """``url`` with its database name made this test process's own.

    Under pytest-xdist (``pytest -n 2``) each worker runs its share of the tests in a database of
    its own (``microfin_ci_gw0``, ``microfin_ci_gw1``…); ``suffix`` names a further one.
    """
    parsed = make_url(url)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    name = "_".join(part for part in (parsed.database, worker, suffix) if part)
    return parsed.set(database=name).render_as_string(hide_password=False)


def recreate_postgres_database(url: str) -> None:
    """Drop and create the database named in ``url`` (connecting to the ``postgres`` database)."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        name = parsed.database
        connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


KEEP_TABLES = {"alembic_version", "institutions"}


def empty_tables(engine) -> None:
    """Delete every row a test wrote (children first); institutions stay, all re-enabled."""
    from core.extensions import db

    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in KEEP_TABLES]
    existing = set(inspect(engine).get_table_names())
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":  # an owner is subject to forced row-level security
            connection.exec_driver_sql("SELECT set_config('microfin.scope', 'system', true)")
        for table in tables:
            if table.name in existing:
                connection.execute(table.delete())
        connection.execute(text("UPDATE institutions SET enabled = :on"), {"on": True})
