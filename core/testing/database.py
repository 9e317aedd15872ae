"""Test databases built by migrating, on SQLite or on the PostgreSQL named by an env variable.

``MICROFIN_TEST_DATABASE_URL`` selects PostgreSQL (``postgresql+psycopg://user@host:port/name``);
the database is dropped and created afresh for the session. Without it, a SQLite file is used.
"""
from __future__ import annotations

import os

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

ENV_URL = "MICROFIN_TEST_DATABASE_URL"


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
        for table in tables:
            if table.name in existing:
                connection.execute(table.delete())
        connection.execute(text("UPDATE institutions SET enabled = :on"), {"on": True})
